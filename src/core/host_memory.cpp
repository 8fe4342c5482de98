// include/medimg/core/host_memory.hpp.
#include "medimg/core/host_memory.hpp"
#include "medimg/core/cpu_pinning.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
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

namespace {

// Fresh memory on this kind of VM (virtio-balloon with free page reporting:
// free 2 MiB blocks go back to the host after about a second) costs a huge
// page 3-4.5 ms when its block was handed back ("cold") and 0.17 ms when
// it was not, while 4 KiB pages (taken first from smaller free blocks, which
// are not handed back) cost 0.37 ms per MiB in the same test when faulted in by
// MADV_POPULATE_WRITE (measured: 96 MiB in 8 ms warm and 145-210 ms cold
// with huge pages, 32-36 ms with 4 KiB pages, docs/PERFORMANCE.md). So the
// pages are faulted in a few huge pages at a time, and once a step runs
// slower than 4 KiB pages would (kSlowSecondsPerByte), the rest of that
// thread's slice is taken as 4 KiB pages. On hardware without a balloon
// every step is fast and every page huge.
constexpr double kSlowSecondsPerByte = 0.5e-3 / (1 << 20);  // 0.5 ms per MiB

bool huge_pages_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("MEDIMG_HUGE_PAGES");
    return !(v && v[0] == '0');
  }();
  return enabled;
}

#ifdef MADV_POPULATE_WRITE
void populate_slice(std::uintptr_t from, std::uintptr_t to, bool huge) {
  constexpr std::uintptr_t huge_page = std::uintptr_t(2) << 20;
  std::uintptr_t step = 2 * huge_page;  // the first step is the probe
  while (from < to) {
    if (!huge) {
      madvise(reinterpret_cast<void*>(from), to - from, MADV_NOHUGEPAGE);
      madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_WRITE);
      return;
    }
    const std::uintptr_t end = std::min(to, from + step);
    const auto start = std::chrono::steady_clock::now();
    if (madvise(reinterpret_cast<void*>(from), end - from, MADV_POPULATE_WRITE) != 0) return;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    huge = seconds <= kSlowSecondsPerByte * static_cast<double>(end - from);
    from = end;
    step = 8 * huge_page;
  }
}
#endif

}  // namespace

void advise_huge_pages(void* data, std::uint64_t bytes, int threads) {
  constexpr std::uintptr_t huge = std::uintptr_t(2) << 20;
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + huge - 1) & ~(huge - 1);
  const std::uintptr_t last = (begin + bytes) & ~(huge - 1);
  if (last <= first) return;
  const bool use_huge = huge_pages_enabled();
  if (use_huge) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
  // Fault the pages in now, in parallel slices of whole huge pages: taken
  // inside a kernel, each fault's clear evicts the caches the kernel works
  // from (measured: a rotation 59 -> 48 ms on one thread). Kernels older
  // than 5.14 refuse (EINVAL): the pages then come at first touch.
  const std::uintptr_t pages = (last - first) / huge;
  const auto parts =
      static_cast<std::uintptr_t>(std::max(1, std::min<int>(threads, static_cast<int>(pages / 8))));
  auto populate = [&](std::uintptr_t part) {
    populate_slice(first + pages * part / parts * huge, first + pages * (part + 1) / parts * huge,
                   use_huge);
  };
  std::vector<std::thread> helpers;
  const AllCpus all;  // the helpers may run on any CPU (pinned threads)
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
