// read_only(p): a load of data that no kernel writes while it is read (the
// resample input, B-spline coefficients), through the GPU's read-only data
// path where there is one (CUDA: __ldg, ld.global.nc); a plain load on host
// backends and HIP. It is the raw-pointer form of Kokkos'
// MemoryTraits<RandomAccess>, for the interior samplers, which walk pointers.
// The loaded value is the same either way.
#pragma once

#include <Kokkos_Core.hpp>

namespace medimg {

template <class T>
KOKKOS_FORCEINLINE_FUNCTION T read_only(const T* p) {
#if defined(__CUDA_ARCH__)
  return __ldg(p);
#else
  return *p;
#endif
}

}  // namespace medimg
