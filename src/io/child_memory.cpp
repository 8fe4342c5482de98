// io/detail/child_memory.hpp. Compiled into the library and into the ITK
// module (the DICOM screen sets it around GDCM's parser).
#include "medimg/io/detail/child_memory.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace medimg::detail {

std::uint64_t data_segment_bytes() {
  std::FILE* status = std::fopen("/proc/self/status", "re");
  if (!status) return 0;
  char line[256];
  unsigned long long kib = 0;
  bool found = false;
  while (std::fgets(line, sizeof(line), status)) {
    if (std::strncmp(line, "VmData:", 7) == 0) {
      found = std::sscanf(line + 7, "%llu", &kib) == 1;
      break;
    }
  }
  std::fclose(status);
  return found ? static_cast<std::uint64_t>(kib) * 1024 : 0;
}

std::uint64_t header_memory_budget(std::uint64_t file_bytes) {
  const std::uint64_t most = std::uint64_t(1) << 56;  // no overflow below
  return (std::uint64_t(64) << 20) + 32 * std::min(file_bytes, most / 32);
}

std::uint64_t voxel_memory_budget(std::uint64_t file_bytes, std::uint64_t voxel_bytes) {
  const std::uint64_t most = std::uint64_t(1) << 56;
  return header_memory_budget(file_bytes) + 4 * std::min(voxel_bytes, most / 4);
}

ChildMemoryLimit::ChildMemoryLimit(std::uint64_t bytes) {
  if (getrlimit(RLIMIT_DATA, &m_old) != 0) return;
  const std::uint64_t now = data_segment_bytes();
  if (now == 0) return;
  const std::uint64_t limit = now + bytes;
  if (limit < now || (m_old.rlim_cur != RLIM_INFINITY && m_old.rlim_cur <= limit)) return;
  rlimit lowered = m_old;
  lowered.rlim_cur = static_cast<rlim_t>(limit);
  m_set = setrlimit(RLIMIT_DATA, &lowered) == 0;
}

ChildMemoryLimit::~ChildMemoryLimit() {
  if (m_set) setrlimit(RLIMIT_DATA, &m_old);
}

}  // namespace medimg::detail
