// Checks that ITK's readers do not make: ITK 5.2 reads a truncated NIfTI or
// MetaImage file without complaint (the missing voxels are garbage), and its
// NIfTI library silently replaces a zero or NaN pixdim by 1. These functions
// read the raw header and count the payload bytes (zlib for gzip streams).
#include "medimg/io/detail/payload_check.hpp"

#include <zlib.h>

#include <cmath>
#include <cstdint>
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

struct GzFile {
  gzFile handle = nullptr;
  explicit GzFile(const std::string& path) : handle(gzopen(path.c_str(), "rb")) {}
  ~GzFile() {
    if (handle) gzclose(handle);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
};

// Reads up to `count` bytes; fewer only at the end of the stream. Throws when
// the stream is corrupt or ends early (zlib's Z_BUF_ERROR).
std::size_t read_bytes(GzFile& file, const std::string& path, void* buffer, std::size_t count) {
  const int got = gzread(file.handle, buffer, static_cast<unsigned>(count));
  int error = Z_OK;
  const char* message = gzerror(file.handle, &error);
  if (got < 0 || (error != Z_OK && error != Z_STREAM_END)) {
    fail(path, std::string("compressed data is corrupt or truncated (zlib: ") + message + ")");
  }
  return static_cast<std::size_t>(got);
}

// Bytes left in the stream after the current position (reads to its end).
std::uint64_t remaining_bytes(GzFile& file, const std::string& path) {
  std::vector<char> chunk(1 << 20);
  std::uint64_t total = 0;
  for (;;) {
    const std::size_t got = read_bytes(file, path, chunk.data(), chunk.size());
    if (got == 0) return total;
    total += got;
  }
}

template <class T>
T field(const unsigned char* header, std::size_t offset, bool swap) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, header + offset, sizeof(T));
  if (swap) {
    for (std::size_t b = 0; b < sizeof(T) / 2; ++b) std::swap(bytes[b], bytes[sizeof(T) - 1 - b]);
  }
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

bool is_compressed(const std::string& path) {
  const std::string extension = format_extension(path);
  return extension.size() > 3 && extension.compare(extension.size() - 3, 3, ".gz") == 0;
}

void check_payload_size(const std::string& path, std::uint64_t available, std::uint64_t needed) {
  if (available < needed) {
    fail(path, "file is truncated: the header describes " + std::to_string(needed) +
                   " bytes of voxel data, the file holds " + std::to_string(available));
  }
}

void check_nifti(const std::string& path) {
  GzFile file(path);
  if (!file.handle) fail(path, "cannot open the file");
  unsigned char header[540];
  const std::size_t got = read_bytes(file, path, header, sizeof(header));
  if (got < 348) fail(path, "NIfTI header is truncated");

  std::int32_t sizeof_hdr = field<std::int32_t>(header, 0, false);
  bool swap = false;
  if (sizeof_hdr != 348 && sizeof_hdr != 540) {
    swap = true;
    sizeof_hdr = field<std::int32_t>(header, 0, true);
  }
  const bool nifti2 = sizeof_hdr == 540;
  if (sizeof_hdr != 348 && !(nifti2 && got >= 540)) fail(path, "not a NIfTI header");

  std::int64_t dim[8];
  double pixdim[8];
  double vox_offset;
  std::int16_t bitpix;
  for (int d = 0; d < 8; ++d) {
    const auto ud = static_cast<std::size_t>(d);
    dim[d] = nifti2 ? field<std::int64_t>(header, 16 + 8 * ud, swap)
                    : field<std::int16_t>(header, 40 + 2 * ud, swap);
    pixdim[d] = nifti2 ? field<double>(header, 104 + 8 * ud, swap)
                       : field<float>(header, 76 + 4 * ud, swap);
  }
  bitpix = field<std::int16_t>(header, nifti2 ? 14 : 72, swap);
  vox_offset = nifti2 ? static_cast<double>(field<std::int64_t>(header, 168, swap))
                      : field<float>(header, 108, swap);

  const std::int64_t ndim = dim[0];
  if (ndim < 1 || ndim > 7) fail(path, "NIfTI header has dim[0] = " + std::to_string(ndim));
  for (std::int64_t d = 1; d <= std::min<std::int64_t>(ndim, 3); ++d) {
    if (!std::isfinite(pixdim[d]) || pixdim[d] <= 0.0) {
      std::ostringstream value;
      value << pixdim[d];
      fail(path, "invalid spacing in the NIfTI header: pixdim[" + std::to_string(d) +
                     "] = " + value.str() + ", must be finite and > 0");
    }
  }

  std::uint64_t voxels = 1;
  for (std::int64_t d = 1; d <= ndim; ++d)
    voxels *= static_cast<std::uint64_t>(std::max<std::int64_t>(dim[d], 1));
  const std::uint64_t data_bytes = voxels * static_cast<std::uint64_t>(bitpix / 8);

  const std::string extension = format_extension(path);
  if (extension == ".hdr" || extension == ".hdr.gz") {
    // Two-file NIfTI: the voxels are in the .img (or .img.gz) beside the header.
    const std::string stem = path.substr(0, path.size() - extension.size());
    for (const std::string& image_path : {stem + ".img", stem + ".img.gz"}) {
      if (!fs::exists(image_path)) continue;
      GzFile image_file(image_path);
      check_payload_size(path, remaining_bytes(image_file, image_path), data_bytes);
      return;
    }
    fail(path, "its voxel file '" + stem + ".img' is missing");
  }
  const auto offset = static_cast<std::uint64_t>(vox_offset);
  const std::uint64_t available =
      is_compressed(path) ? got + remaining_bytes(file, path) : fs::file_size(path);
  check_payload_size(path, available > offset ? available - offset : 0, data_bytes);
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
  if (data_file != "LOCAL") {
    if (data_file == "LIST" || data_file.find('%') != std::string::npos) return;
    const fs::path external = fs::path(path).parent_path() / data_file;
    if (!fs::exists(external)) fail(path, "its voxel file '" + external.string() + "' is missing");
    if (!compressed) check_payload_size(path, fs::file_size(external), data_bytes);
    return;
  }
  const auto offset = static_cast<std::uint64_t>(in.tellg());
  const std::uint64_t file_size = fs::file_size(path);
  const std::uint64_t stored = file_size > offset ? file_size - offset : 0;
  if (!compressed) {
    check_payload_size(path, stored, data_bytes);
    return;
  }
  // zlib stream after the header: inflate it and count.
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

}  // namespace

bool is_nifti2(const std::string& path) {
  GzFile file(path);
  if (!file.handle) return false;
  unsigned char header[4];
  if (gzread(file.handle, header, 4) != 4) return false;
  return field<std::int32_t>(header, 0, false) == 540 ||
         field<std::int32_t>(header, 0, true) == 540;
}

void check_before_read(const std::string& path, const std::string& io_class) {
  if (io_class == "NiftiImageIO") check_nifti(path);
}

void check_after_header(const std::string& path, const std::string& io_class,
                        std::uint64_t data_bytes) {
  if (io_class == "MetaImageIO") check_metaimage(path, data_bytes);
}

}  // namespace medimg::detail
