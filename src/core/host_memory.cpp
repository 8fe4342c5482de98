// include/medimg/core/host_memory.hpp.
#include "medimg/core/host_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <vector>

#include "medimg/core/error.hpp"

namespace medimg {

std::uint64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

std::string format_bytes(std::uint64_t bytes) {
  static const char* const binary[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  char text[32];
  if (bytes >= (std::uint64_t(1) << 50)) {
    std::snprintf(text, sizeof(text), "%.1f PB", static_cast<double>(bytes) / 1e15);
    return text;
  }
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.1f %s", value, binary[unit]);
  return text;
}

void advise_huge_pages(void* data, std::uint64_t bytes, int threads) {
  constexpr std::uintptr_t huge = std::uintptr_t(2) << 20;
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + huge - 1) & ~(huge - 1);
  const std::uintptr_t last = (begin + bytes) & ~(huge - 1);
  if (last <= first) return;
  madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
  // Fault the huge pages in now, in parallel slices of whole huge pages:
  // taken inside a kernel, each fault's 2 MiB clear evicts the caches the
  // kernel works from (measured: a rotation 59 -> 48 ms on one thread).
  // Kernels older than 5.14 refuse (EINVAL): the pages then come at first
  // touch, as before.
  const std::uintptr_t pages = (last - first) / huge;
  const auto parts =
      static_cast<std::uintptr_t>(std::max(1, std::min<int>(threads, static_cast<int>(pages / 8))));
  auto populate = [&](std::uintptr_t part) {
    const std::uintptr_t from = first + pages * part / parts * huge;
    const std::uintptr_t to = first + pages * (part + 1) / parts * huge;
    if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_WRITE);
  };
  std::vector<std::thread> helpers;
  for (std::uintptr_t part = 1; part < parts; ++part) helpers.emplace_back(populate, part);
  populate(0);
  for (std::thread& helper : helpers) helper.join();
#endif
}

void check_host_allocation(std::uint64_t bytes, const std::string& what) {
  const std::uint64_t available = physical_memory_bytes();
  if (bytes > available) {
    throw Error("cannot read '" + what + "': the voxels need " + format_bytes(bytes) +
                "; this node has " + format_bytes(available));
  }
}

}  // namespace medimg
