// Checks ITK's MetaImage and NRRD readers do not make. ITK 5.2 reads a
// truncated MetaImage file without complaint (the missing voxels are
// garbage), and the missing files of a LIST or "%d" pattern alike: patterns
// are refused and the payload bytes counted (inflating a zlib payload).
// teem allocates what a NRRD header describes before it reads
// (check_nrrd). NIfTI needs none of this: medimg's own reader
// (nifti_io.cpp) detects a short payload as it streams it.
#include "medimg/io/detail/payload_check.hpp"

#include <zlib.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/io/atomic_output.hpp"

namespace medimg::detail {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw Error("cannot read '" + path + "': " + why);
}

void check_payload_size(const std::string& path, std::uint64_t available, std::uint64_t needed) {
  if (available < needed) {
    fail(path, "file is truncated: the header describes " + std::to_string(needed) +
                   " bytes of voxel data, the file holds " + std::to_string(available));
  }
}

// MetaImage: "Key = value" lines up to ElementDataFile, then (LOCAL) the data.
void check_metaimage(const std::string& path, std::uint64_t data_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open the file");
  std::string line;
  bool compressed = false;
  std::string data_file;
  while (std::getline(in, line)) {
    const auto equals = line.find('=');
    if (equals == std::string::npos) continue;
    std::string key = line.substr(0, equals);
    std::string value = line.substr(equals + 1);
    auto trim = [](std::string& s) {
      s.erase(0, s.find_first_not_of(" \t\r"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
    };
    trim(key);
    trim(value);
    if (key == "CompressedData") compressed = value == "True" || value == "true";
    if (key == "ElementDataFile") {
      data_file = value;
      break;
    }
  }
  if (data_file.empty()) fail(path, "MetaImage header has no ElementDataFile");
  if (data_file == "LIST" || data_file.rfind("LIST ", 0) == 0 ||
      data_file.find('%') != std::string::npos) {
    // MetaIO hands a pattern to sprintf as the format ("%n" aborts, "%s"
    // reads the stack) and fills the slices of missing files with garbage.
    const std::string shown = data_file.size() > 80 ? data_file.substr(0, 80) + "..." : data_file;
    fail(path, "its ElementDataFile '" + shown +
                   "' names one file per slice (LIST or a % pattern), which medimg does not "
                   "read; write the voxels to one file (ElementDataFile = LOCAL or one .raw)");
  }
  std::uint64_t offset = 0;
  fs::path data_path = path;
  if (data_file != "LOCAL") {
    data_path = fs::path(path).parent_path() / data_file;
    if (!fs::is_regular_file(data_path)) {
      fail(path, "its voxel file '" + data_path.string() + "' is missing");
    }
    in.close();
    in.open(data_path, std::ios::binary);
    if (!in) fail(path, "cannot open its voxel file '" + data_path.string() + "'");
  } else {
    offset = static_cast<std::uint64_t>(in.tellg());
  }
  const std::uint64_t file_size = fs::file_size(data_path);
  const std::uint64_t stored = file_size > offset ? file_size - offset : 0;
  if (!compressed) {
    check_payload_size(path, stored, data_bytes);
    return;
  }
  // A zlib stream (after the header, or the whole voxel file): inflate it
  // and count.
  std::vector<unsigned char> input(static_cast<std::size_t>(stored));
  in.read(reinterpret_cast<char*>(input.data()), static_cast<std::streamsize>(stored));
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) fail(path, "zlib initialisation failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, inflateEnd);
  stream.next_in = input.data();
  stream.avail_in = static_cast<uInt>(input.size());
  std::vector<unsigned char> chunk(1 << 20);
  std::uint64_t total = 0;
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = chunk.data();
    stream.avail_out = static_cast<uInt>(chunk.size());
    status = inflate(&stream, Z_NO_FLUSH);
    total += chunk.size() - stream.avail_out;
    if (status == Z_BUF_ERROR && stream.avail_in == 0) break;
  }
  if (status != Z_STREAM_END) {
    fail(path, "compressed voxel data is corrupt or truncated (" + std::to_string(total) + " of " +
                   std::to_string(data_bytes) + " bytes)");
  }
  check_payload_size(path, total, data_bytes);
}

// NRRD with the data in the same file: "field: value" lines up to the
// first empty line, then the data (teem sizes its buffer from the header and
// reads; a 1.8 KB file describing 14.7 GB cost 24 s and 14 GiB). The bound
// is what the encoding can hold at most, so a sound file is never refused:
// raw its bytes, gzip 1032 times them, hex half, text at least one
// character per value of at most 8 bytes. Skips (byte skip, line skip)
// only lower what is there, so they are ignored; detached data and bzip2
// are not checked.
void check_nrrd(const std::string& path, std::uint64_t data_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open the file");
  std::string line, encoding;
  std::uint64_t header_bytes = 0;
  bool ended = false;
  for (int lines = 0; lines < 10000 && std::getline(in, line); ++lines) {
    header_bytes += line.size() + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      ended = true;
      break;
    }
    if (line[0] == '#') continue;
    // "field: value"; "key:=value" lines are free key/value pairs, not fields.
    const auto colon = line.find(": ");
    if (colon == std::string::npos || line.find(":=") != std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 2);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key == "data file" || key == "datafile") return;
    if (key == "encoding") encoding = value;
  }
  if (!ended) return;  // teem decides
  std::error_code ec;
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec || size < header_bytes) return;
  const std::uint64_t stored = size - header_bytes;
  std::uint64_t at_most = 0;
  if (encoding == "raw") {
    at_most = stored;
  } else if (encoding == "gzip" || encoding == "gz") {
    at_most = stored > UINT64_MAX / 1032 ? UINT64_MAX : stored * 1032;
  } else if (encoding == "hex") {
    at_most = stored / 2;
  } else if (encoding == "ascii" || encoding == "text" || encoding == "txt") {
    at_most = stored > UINT64_MAX / 8 ? UINT64_MAX : stored * 8;
  } else {
    return;
  }
  check_payload_size(path, at_most, data_bytes);
}

}  // namespace

void check_before_header(const std::string& path, const std::string& io_class) {
  if (io_class != "MetaImageIO") return;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  // The header is text before the voxels; NDims comes before ElementDataFile.
  for (int lines = 0; lines < 1000 && std::getline(in, line); ++lines) {
    const auto equals = line.find('=');
    if (equals == std::string::npos) continue;
    std::string key = line.substr(0, equals);
    key.erase(0, key.find_first_not_of(" \t\r"));
    key.erase(key.find_last_not_of(" \t\r") + 1);
    if (key == "ElementDataFile") return;
    if (key != "NDims") continue;
    std::string value = line.substr(equals + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    char* end = nullptr;
    const long dims = std::strtol(value.c_str(), &end, 10);
    if (end == value.c_str() || dims < 1 || dims > 4) {
      const std::string shown = value.size() > 40 ? value.substr(0, 40) + "..." : value;
      fail(path, "MetaImage NDims is '" + shown + "'; medimg reads images of 2 or 3 dimensions");
    }
  }
}

void check_after_header(const std::string& path, const std::string& io_class,
                        std::uint64_t data_bytes) {
  if (io_class == "MetaImageIO") check_metaimage(path, data_bytes);
  if (io_class == "NrrdImageIO") check_nrrd(path, data_bytes);
}

}  // namespace medimg::detail
