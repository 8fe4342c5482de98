// io/detail/hdf5_heap_check.hpp. Compiled into the library (its tests) and
// into the HDF5 module (the header read calls it before H5Fopen).
#include "medimg/io/detail/hdf5_heap_check.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace medimg::detail {

namespace {

constexpr std::uint64_t min_collection = 4096;     // H5HG_MINSIZE
constexpr std::uint64_t most_checked = 16u << 20;  // larger collections: not checked
constexpr std::uint64_t region = 4u << 20;         // the head and the tail searched
constexpr std::size_t header_bytes = 16;           // "GCOL", version, 3 reserved, size
constexpr std::size_t object_header_bytes = 16;    // index, refs, 4 reserved, size

std::uint64_t le(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

bool read_at(int fd, std::uint64_t offset, std::size_t size, std::vector<std::uint8_t>& out) {
  out.resize(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got =
        ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (got <= 0) return false;
    done += static_cast<std::size_t>(got);
  }
  return true;
}

// The sizes of lengths the superblock declares (0: no superblock found in
// the places HDF5 looks: 0, 512, 1024, ...).
int length_size(int fd, std::uint64_t file_size) {
  static const std::uint8_t signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  std::vector<std::uint8_t> block;
  for (std::uint64_t at = 0; at + 16 <= file_size; at = at == 0 ? 512 : at * 2) {
    if (!read_at(fd, at, 16, block)) return 0;
    if (std::memcmp(block.data(), signature, 8) != 0) continue;
    const int version = block[8];
    if (version <= 1) return block[14];
    if (version <= 3) return block[10];
    return 0;
  }
  return 0;
}

}  // namespace

std::string hdf5_collection_problem(const std::uint8_t* bytes, std::size_t size,
                                    std::uint64_t offset) {
  if (size < header_bytes) return {};
  const std::uint64_t heap_size = le(bytes + 8, 8);
  if (heap_size > size) return {};
  const std::string where = "the global heap collection at byte " + std::to_string(offset);
  // As H5HG__cache_heap_deserialize goes: an object's size moves the walk
  // on (its header and its data, padded to 8, or for the free space
  // (index 0) its size alone).
  std::uint64_t p = header_bytes;
  while (p < heap_size) {
    if (p + object_header_bytes > heap_size) break;  // a tail too small: free space
    const std::uint64_t index = le(bytes + p, 2);
    const std::uint64_t object = le(bytes + p + 8, 8);
    const std::uint64_t need = index > 0 ? object_header_bytes + 8 * ((object + 7) / 8) : object;
    if (need == 0) {
      return where + " has a free-space object of 0 bytes at byte " + std::to_string(offset + p) +
             " (HDF5 1.10 reads that collection for ever)";
    }
    if (need >= (std::uint64_t(1) << 63)) {
      return where + " has an object of " + std::to_string(object) + " bytes at byte " +
             std::to_string(offset + p) + " (HDF5 1.10 walks back and reads it for ever)";
    }
    if (need > heap_size - p) break;  // past the end: HDF5's walk ends there
    p += need;
  }
  return {};
}

std::string hdf5_global_heap_problem(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string problem;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    const auto file_size = static_cast<std::uint64_t>(st.st_size);
    if (length_size(fd, file_size) == 8) {
      const std::uint64_t head = std::min(file_size, region);
      const std::uint64_t tail = std::max(head, file_size > region ? file_size - region : 0);
      std::vector<std::uint8_t> buffer, collection;
      for (const auto& [start, end] :
           {std::pair{std::uint64_t(0), head}, std::pair{tail, file_size}}) {
        if (end <= start || !read_at(fd, start, static_cast<std::size_t>(end - start), buffer)) {
          continue;
        }
        for (std::size_t i = 0; problem.empty() && i + header_bytes <= buffer.size(); ++i) {
          if (std::memcmp(buffer.data() + i, "GCOL", 4) != 0 || buffer[i + 4] != 1) continue;
          const std::uint64_t at = start + i;
          const std::uint64_t heap_size = le(buffer.data() + i + 8, 8);
          if (heap_size < min_collection || heap_size > most_checked ||
              heap_size > file_size - at) {
            continue;
          }
          const std::uint8_t* bytes = buffer.data() + i;
          if (i + heap_size > buffer.size()) {
            if (!read_at(fd, at, static_cast<std::size_t>(heap_size), collection)) continue;
            bytes = collection.data();
          }
          problem = hdf5_collection_problem(bytes, static_cast<std::size_t>(heap_size), at);
        }
        if (!problem.empty()) break;
      }
    }
  }
  ::close(fd);
  return problem;
}

}  // namespace medimg::detail
