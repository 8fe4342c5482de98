// How much memory the default device can still give: free GPU memory (CUDA,
// HIP) or, on host backends, the kernel's MemAvailable. The batch runner
// plans with it; 0 when unknown.
#pragma once

#include <cstdint>

namespace medimg {

std::uint64_t available_device_memory();

// GPUs visible to this process (0 on host backends).
int visible_gpu_count();

}  // namespace medimg
