// Counts the copies between host and device memory (Kokkos::deep_copy,
// create_mirror_view_and_copy) made while a TransferCounter is alive, through
// Kokkos' tools interface (the deep-copy callback). Tests and the GPU
// benchmark use it to prove that data stays on the device between
// operations; every host<->device copy in medimg is an explicit deep_copy, so
// none escapes the count. On host-only backends every count stays 0.
//
// One counter at a time per process (a second one throws medimg::Error). It
// replaces the deep-copy callbacks of a Kokkos tool library loaded through
// KOKKOS_TOOLS_LIBS while alive, and restores them when destroyed.
#pragma once

#include <cstdint>

namespace medimg {

struct TransferCount {
  std::uint64_t host_to_device_copies = 0;
  std::uint64_t host_to_device_bytes = 0;
  std::uint64_t device_to_host_copies = 0;
  std::uint64_t device_to_host_bytes = 0;
};

class TransferCounter {
 public:
  TransferCounter();  // Kokkos must be initialised
  ~TransferCounter();
  TransferCounter(const TransferCounter&) = delete;
  TransferCounter& operator=(const TransferCounter&) = delete;

  // The copies since construction or the last reset().
  TransferCount count() const;
  void reset();
};

// True when Kokkos names a memory space the host can address ("Host",
// "CudaHostPinned", "HIPHostPinned", ...): copies between two such spaces
// are not transfers.
bool is_host_memory_space_name(const char* name);

}  // namespace medimg
