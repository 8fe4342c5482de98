// Two hints for host loops, in one place so that kernels need no compiler
// test of their own (GCC and Clang take them; any other compiler gets plain
// code, with the same results):
//   - prefetch_range: ask the cache for memory a loop reads soon (the host
//     resample kernels read input rows that the hardware prefetchers, on the
//     AMD EPYC this project measures on, fetch too late: a 256^3 -> 1.5 mm
//     linear resample ran at 4.3 ns per output voxel with its input out of
//     the caches and 2.1 ns with it in them; docs/PERFORMANCE.md);
//   - opaque: hide a value from the optimiser, so that a loop using it stays
//     scalar where SIMD gathers lose to plain loads (the same machine and
//     resample: 14.9 ms with the gathers GCC makes of the linear x stage,
//     12.5 ms without).
// Neither changes a value. prefetch_line compiles in device code too (as
// nothing); the others are for host code only.
//
// MEDIMG_HOST_CLONES before a host function compiles it twice, for AVX2 and
// for the baseline the build targets, and the one this CPU runs is chosen
// when the program loads (GCC's and Clang's target_clones: an ifunc). For
// loops whose lanes are written out, so that both forms give the same bits
// (no reassociation; no multiplies to contract): the statistics' blocks
// (ops/statistics.hpp) ran 1.9-2.4x faster with AVX2 on the EPYC measured.
// Plain code under nvcc and hipcc, off x86-64 Linux and for other compilers.
#pragma once

#include <Kokkos_Macros.hpp>
#include <cstddef>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__CUDACC__) && !defined(__HIPCC__) && !defined(__SYCL_DEVICE_ONLY__)
#define MEDIMG_HOST_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MEDIMG_HOST_CLONES
#endif

namespace medimg::hint {

// Callable from kernels that also compile for a device (a no-op there).
KOKKOS_INLINE_FUNCTION void prefetch_line(const char* p) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__) || defined(__SYCL_DEVICE_ONLY__)
  (void)p;
#elif (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  // As an instruction: GCC 12 dropped __builtin_prefetch calls inlined into
  // the plane kernel (the code around them ran; no prefetch was emitted).
  asm volatile("prefetcht0 %0" : : "m"(*p));
#elif defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

inline void prefetch_range(const void* begin, std::size_t bytes) {
#if defined(__GNUC__) || defined(__clang__)
  const char* p = static_cast<const char*>(begin);
  for (std::size_t at = 0; at < bytes; at += 64) prefetch_line(p + at);
  if (bytes > 0) prefetch_line(p + bytes - 1);
#else
  (void)begin;
  (void)bytes;
#endif
}

template <class T>
inline void opaque(T& value) {
#if defined(__GNUC__) || defined(__clang__)
  asm("" : "+r"(value));
#else
  (void)value;
#endif
}

}  // namespace medimg::hint
