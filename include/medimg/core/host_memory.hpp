// A check made before a reader allocates what a file's header promises, so a
// corrupt or hostile size ("8 PB") is one clear error instead of a failed
// allocation deep inside Kokkos.
#pragma once

#include <cstdint>
#include <string>

namespace medimg {

// Physical memory of this node, in bytes.
std::uint64_t physical_memory_bytes();

// Throws medimg::Error "cannot read 'WHAT': the voxels need 8.0 PB; this
// node has 23 GiB" when `bytes` exceeds the node's physical memory.
void check_host_allocation(std::uint64_t bytes, const std::string& what);

// Prepares fresh host voxels [data, data + bytes) for a kernel that will
// write them all: asks the kernel to back the 2 MiB-aligned interior with
// transparent huge pages (madvise(MADV_HUGEPAGE); THP in "madvise" mode does
// nothing without it) and faults that interior in at once
// (MADV_POPULATE_WRITE, Linux 5.14+), split over `threads` threads. A first
// touch of 4 KiB pages costs this kind of VM about 4 ms per MiB, huge pages
// about 45x less, and taking those faults inside a kernel costs it more
// again. Each step is a no-op where the kernel refuses it.
void advise_huge_pages(void* data, std::uint64_t bytes, int threads = 1);

// "8.0 PB", "23 GiB", "512 B": a size for messages.
std::string format_bytes(std::uint64_t bytes);

}  // namespace medimg
