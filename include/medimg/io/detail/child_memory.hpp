// A bound on what a library may allocate while it parses a header in an
// isolated child (io/detail/isolated.hpp). GDCM sizes a buffer to each
// declared length and zero-fills it before it finds the file shorter; the
// length walk (dicom_lengths.hpp) finds the damaged lengths it can follow,
// but GDCM re-reads a data set that fails in its declared encoding in other
// ones (a big-endian file as explicit/implicit little endian, say), and
// there a fuzzed 16 KiB file still made it allocate 2.9 GB (6.7 s, 2.8 GiB
// peak) per read. While a ChildMemoryLimit lives, the process's data
// segment (RLIMIT_DATA: heap and private anonymous mappings, what malloc
// takes) may grow by at most `bytes` beyond what it holds now; past that an
// allocation fails (std::bad_alloc), which the screen reports as a damaged
// file. Relative, so what the child inherited from its parent (a batch's
// images) does not count. Only for code that runs in an isolated child:
// the limit is the whole process's.
#pragma once

#include <sys/resource.h>

#include <cstdint>

namespace medimg::detail {

class ChildMemoryLimit {
 public:
  explicit ChildMemoryLimit(std::uint64_t bytes);
  ~ChildMemoryLimit();  // the limit the process had before
  ChildMemoryLimit(const ChildMemoryLimit&) = delete;
  ChildMemoryLimit& operator=(const ChildMemoryLimit&) = delete;

  // Whether the limit was set (false where the process already had a lower
  // one, or /proc/self/status could not be read).
  bool active() const { return m_set; }

 private:
  rlimit m_old{};
  bool m_set = false;
};

// The data segment's size now (VmData of /proc/self/status), 0 if unknown.
std::uint64_t data_segment_bytes();

// What parsing the header of a file of `file_bytes` may allocate: 64 MiB
// plus 32 times the file. GDCM's structures for a header made of the
// smallest elements (8 bytes each in the file: 3.9 million of them, 31 MB,
// parse in 1.6 s and 254 MiB) fit, and so does a full read of a DICOM file
// (its pixel data once); the gigabytes a damaged length asks for do not.
std::uint64_t header_memory_budget(std::uint64_t file_bytes);

// What reading the voxels of an image of `voxel_bytes` (at the pixel type
// its header gave) from files of at most `file_bytes` each may allocate:
// the header's budget (the reader parses the header again) plus four times
// the image (the library's stored pixel data, a decoded or rescaled copy,
// ITK's image and the buffer sent to the parent).
std::uint64_t voxel_memory_budget(std::uint64_t file_bytes, std::uint64_t voxel_bytes);

}  // namespace medimg::detail
