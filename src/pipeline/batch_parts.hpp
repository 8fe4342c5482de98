// What src/pipeline/batch.cpp's runner shares with the manifest reader
// (manifest.cpp) and the report writer (batch_report.cpp): one idea per
// file, the run loop in batch.cpp.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medimg/pipeline/batch.hpp"

namespace medimg::batch_detail {

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
