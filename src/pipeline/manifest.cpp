// The batch manifest (include/medimg/pipeline/batch.hpp, read_manifest):
// a CSV file of one item per row, and the rows a --repeat makes of it.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "batch_parts.hpp"
#include "medimg/core/error.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/hdf5_io.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/pipeline/batch.hpp"

namespace medimg {

namespace fs = std::filesystem;

namespace {

// One CSV record (RFC 4180: quoted fields may hold commas, quotes doubled).
std::vector<std::string> csv_fields(const std::string& line, const std::string& where) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  if (quoted) throw Error(where + ": unterminated quoted field");
  for (std::string& f : fields) {
    const auto first = f.find_first_not_of(" \t");
    const auto last = f.find_last_not_of(" \t");
    f = first == std::string::npos ? "" : f.substr(first, last - first + 1);
  }
  return fields;
}

}  // namespace

std::string batch_detail::stem_of(const std::string& input) {
  std::string path = is_hdf5_path(input) ? parse_hdf5_location(input).file : input;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  std::string name = fs::path(path).filename().string();
  for (const char* ext :
       {".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".h5", ".hdf5", ".dcm", ".png"}) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) {
      return name.substr(0, name.size() - e.size());
    }
  }
  return name;
}

// Every row `repeat` times (copy c written as NAME_augC.EXT), each with its
// item index for the augmentation draws.
std::vector<ManifestRow> batch_detail::with_repeats(std::vector<ManifestRow> rows, int repeat) {
  const auto k = static_cast<std::uint64_t>(repeat);
  if (repeat == 1) {
    for (ManifestRow& r : rows) r.item = r.row - 1;
    return rows;
  }
  std::vector<ManifestRow> out;
  for (const ManifestRow& r : rows) {
    const std::string ext = format_extension(r.output);
    const std::string stem = r.output.substr(0, r.output.size() - ext.size());
    for (std::uint64_t c = 0; c < k; ++c) {
      ManifestRow copy = r;
      copy.copy = static_cast<std::size_t>(c);
      copy.item = (r.row - 1) * k + c;
      copy.output = stem + "_aug" + std::to_string(c) + ext;
      out.push_back(std::move(copy));
    }
  }
  return out;
}

std::vector<ManifestRow> read_manifest(const std::string& path, const std::string& extension) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read manifest '" + path + "': no such file or not readable");
  std::string line;
  std::vector<std::string> header;
  std::vector<ManifestRow> rows;
  std::map<std::string, std::size_t> outputs;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    const std::string where = "manifest '" + path + "' line " + std::to_string(line_number);
    std::vector<std::string> fields = csv_fields(line, where);
    if (header.empty()) {
      header = fields;
      if (std::find(header.begin(), header.end(), "input") == header.end()) {
        throw Error(where +
                    ": the header has no 'input' column (columns: input[,output]"
                    "[,modality][,...])");
      }
      continue;
    }
    if (fields.size() != header.size()) {
      throw Error(where + ": " + std::to_string(fields.size()) + " fields, the header has " +
                  std::to_string(header.size()));
    }
    ManifestRow row;
    row.row = rows.size() + 1;
    for (std::size_t f = 0; f < header.size(); ++f) row.fields[header[f]] = fields[f];
    row.input = row.fields["input"];
    if (row.input.empty()) throw Error(where + ": empty 'input'");
    row.output = row.fields.count("output") ? row.fields["output"] : "";
    if (row.output.empty()) row.output = batch_detail::stem_of(row.input) + extension;
    const fs::path out(row.output);
    if (out.is_absolute() ||
        std::any_of(out.begin(), out.end(), [](const fs::path& p) { return p == ".."; })) {
      throw Error(where + ": output '" + row.output +
                  "' must be a name inside the output folder (no absolute path, no '..')");
    }
    if (!is_writable_format(row.output)) {
      throw Error(where + ": output '" + row.output +
                  "' has no writable format (.nii, .nii.gz, .nrrd, .mha, .h5)");
    }
    const auto [previous, inserted] = outputs.emplace(row.output, row.row);
    if (!inserted) {
      throw Error(where + ": rows " + std::to_string(previous->second) + " and " +
                  std::to_string(row.row) + " both write '" + row.output +
                  "'; give an 'output' column with distinct names");
    }
    rows.push_back(std::move(row));
  }
  if (header.empty()) throw Error("manifest '" + path + "' is empty");
  if (rows.empty()) throw Error("manifest '" + path + "' lists no items");
  return rows;
}

}  // namespace medimg
