// The cohort batch runner behind `medimg batch` (docs/BATCH.md).
//
// - Manifest: CSV with a header row. Column `input` (a file, a DICOM folder
//   or FILE.h5[:/DATASET]) is required; `output` (a name relative to the
//   output folder) and `modality` (CT, MRI, PET, ... stored in the output's
//   metadata) are optional; other columns are kept in the report. Two rows
//   writing the same output are refused before anything runs.
// - Work sharing: under MPI every rank claims the next item from a shared
//   counter (MPI_Fetch_and_op on a window held by rank 0); items are whole
//   images, one per rank at a time on the rank's own device. Each rank reads
//   ahead: `jobs_per_rank` items are read by background threads while the
//   current one computes, and up to `jobs_per_rank` writes run behind it, so
//   memory is bounded whatever the cohort size.
// - Before the first item, every item's header is read (ranks share the
//   reading) and the pipeline's peak memory for it is planned; the batch
//   refuses to start when one item would not fit (the device's free memory,
//   host MemAvailable shared by the node's ranks, or `memory_limit`).
// - Errors are per item: an unreadable or corrupt input, a step that fails,
//   a failed write is recorded (status, step, message) and the batch goes
//   on. Outputs are written atomically. With `resume`, an item whose output
//   exists, reads back completely and has the grid and pixel type the
//   pipeline gives is skipped.
// - Rank 0 prints progress (a live bar on a terminal, plain lines
//   otherwise), the summary and the per-step times, and writes
//   DIR/report.json, DIR/report.csv and DIR/report.html (with before/after
//   pictures when `previews`). Each item's row records what its augmentation
//   steps drew ("drawn"), enough to make that output again with
//   `medimg pipeline --seed S --item I`.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

namespace medimg {

struct ManifestRow {
  std::size_t row = 0;  // 1-based, the header not counted
  std::string input;
  std::string output;                         // relative to the output folder
  std::map<std::string, std::string> fields;  // every column
  // With BatchOptions::repeat K: copy c (0..K-1) of the row, and the item
  // index augmentation steps draw with: (row - 1) * K + c.
  std::size_t copy = 0;
  std::uint64_t item = 0;
};

// Reads and checks a manifest; `extension` (".nii.gz", ".nii", ".nrrd",
// ".mha", ".h5") names outputs the manifest does not name.
std::vector<ManifestRow> read_manifest(const std::string& path, const std::string& extension);

struct BatchOptions {
  std::string manifest, steps, out_dir;
  bool resume = false;
  int jobs_per_rank = 2;
  bool previews = false;
  std::string extension = ".nii.gz";
  std::uint64_t memory_limit = 0;   // bytes per rank; 0: what the device has
  double progress_interval = 10.0;  // seconds between plain progress lines
  bool quiet = false;
  // Augmentation (docs/AUGMENTATION.md): the steps draw from `seed` and the
  // item's index (ManifestRow::item), whatever the ranks and read-ahead;
  // `repeat` K > 1 makes K copies of every row, written as NAME_augC.EXT.
  std::uint64_t seed = 0;
  int repeat = 1;
};

struct BatchResult {
  std::int64_t total = 0, done = 0, failed = 0, skipped = 0;
  double seconds = 0.0;
  std::string report;  // DIR/report.json
};

// Runs the batch (collective over MPI_COMM_WORLD when medimg has MPI). Bad
// options, manifest or pipeline, or an item too large, throw medimg::Error
// before any item runs; item failures are counted, not thrown.
BatchResult run_batch(const BatchOptions& options, std::ostream& out, std::ostream& progress);

}  // namespace medimg
