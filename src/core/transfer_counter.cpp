#include "medimg/core/transfer_counter.hpp"

#include <Kokkos_Core.hpp>
#include <atomic>
#include <cstring>

#include "medimg/core/error.hpp"

namespace medimg {
namespace {

namespace tools = Kokkos::Tools::Experimental;

std::atomic<bool> active{false};
std::atomic<std::uint64_t> h2d_copies{0}, h2d_bytes{0}, d2h_copies{0}, d2h_bytes{0};
tools::EventSet saved_callbacks;

void on_begin_deep_copy(Kokkos_Profiling_SpaceHandle dst_space, const char*, const void*,
                        Kokkos_Profiling_SpaceHandle src_space, const char*, const void*,
                        std::uint64_t bytes) {
  const bool dst_host = is_host_memory_space_name(dst_space.name);
  const bool src_host = is_host_memory_space_name(src_space.name);
  if (src_host && !dst_host) {
    h2d_copies.fetch_add(1);
    h2d_bytes.fetch_add(bytes);
  } else if (!src_host && dst_host) {
    d2h_copies.fetch_add(1);
    d2h_bytes.fetch_add(bytes);
  }
}

}  // namespace

bool is_host_memory_space_name(const char* name) {
  return std::strcmp(name, "Host") == 0 || std::strstr(name, "HostPinned") != nullptr ||
         std::strstr(name, "HostUSM") != nullptr;
}

TransferCounter::TransferCounter() {
  if (active.exchange(true)) throw Error("medimg::TransferCounter: another counter is active");
  saved_callbacks = tools::get_callbacks();
  reset();
  tools::set_begin_deep_copy_callback(on_begin_deep_copy);
  tools::set_end_deep_copy_callback(nullptr);
}

TransferCounter::~TransferCounter() {
  tools::set_begin_deep_copy_callback(saved_callbacks.begin_deep_copy);
  tools::set_end_deep_copy_callback(saved_callbacks.end_deep_copy);
  active.store(false);
}

TransferCount TransferCounter::count() const {
  return TransferCount{h2d_copies.load(), h2d_bytes.load(), d2h_copies.load(), d2h_bytes.load()};
}

void TransferCounter::reset() {
  h2d_copies.store(0);
  h2d_bytes.store(0);
  d2h_copies.store(0);
  d2h_bytes.store(0);
}

}  // namespace medimg
