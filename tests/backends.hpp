// The execution spaces every backend test runs on (Kokkos' category-file
// idea): one test body, instantiated for each enabled backend.
#pragma once

#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>

#include "medimg/core/kokkos_compat.hpp"

namespace medimg::test {

using Backends = ::testing::Types<
#if defined(KOKKOS_ENABLE_CUDA)
    Kokkos::Cuda,
#endif
#if defined(KOKKOS_ENABLE_HIP)
    medimg::compat::HIP,
#endif
#if defined(KOKKOS_ENABLE_OPENMP)
    Kokkos::OpenMP,
#endif
#if defined(KOKKOS_ENABLE_THREADS)
    Kokkos::Threads,
#endif
    Kokkos::Serial>;

}  // namespace medimg::test
