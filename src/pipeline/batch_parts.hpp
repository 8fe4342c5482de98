// What src/pipeline/batch.cpp's runner shares with the manifest reader
// (manifest.cpp), the start checks (batch_plan.cpp) and the report writer
// (batch_report.cpp): one idea per file, the run loop in batch.cpp; the
// ranks' shared counter and collectives are batch_team.hpp.
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "medimg/pipeline/batch.hpp"
#include "medimg/pipeline/pipeline.hpp"

namespace medimg::batch_detail {

struct Team;

// What every step of a run reads.
struct Context {
  const BatchOptions& options;
  const Pipeline& pipeline;
  const std::vector<ManifestRow>& rows;
  std::filesystem::path out_dir;
  int rank = 0;
};

inline std::filesystem::path output_path(const Context& c, std::size_t index) {
  return c.out_dir / c.rows[index].output;
}

// Reads every item's header (ranks take turns) and refuses to start (an
// Error on every rank) when an item's peak at the pipeline's widest step,
// with the read-ahead and write-behind buffers, is more than a rank may use,
// or the outputs cannot fit in the output folder's free space; rank 0 then
// prints the memory plan to `out` (unless quiet).
void check_plan(const Team& team, const Context& c, std::ostream& out);

// An input's name without its folder and image extension ("scan.nii.gz" ->
// "scan"; a DICOM folder's own name; an HDF5 location's file).
std::string stem_of(const std::string& input);

// Every row `repeat` times (copy c written as NAME_augC.EXT), each with its
// item index for the augmentation draws.
std::vector<ManifestRow> with_repeats(std::vector<ManifestRow> rows, int repeat);

// report.json, report.csv and report.html in `dir` (each written atomically).
void write_reports(const std::filesystem::path& dir, const nlohmann::json& report,
                   const std::vector<std::string>& ops);

}  // namespace medimg::batch_detail
