// The execution spaces every backend test runs on (Kokkos' category-file
// idea): one test body, instantiated for each enabled backend.
#pragma once

#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <type_traits>

#include "medimg/core/image.hpp"
#include "medimg/core/kokkos_compat.hpp"

namespace medimg::test {

// List<every enabled backend>, the one place that lists them.
template <template <class...> class List>
using WithEnabledBackends = List<
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

using Backends = WithEnabledBackends<::testing::Types>;

namespace detail {
template <class T, class List>
struct Prepend;
template <class T, class... Ts>
struct Prepend<T, ::testing::Types<Ts...>> {
  using type = ::testing::Types<T, Ts...>;
};
// ::testing::Types<Ts...> without Drop.
template <class Drop, class... Ts>
struct Without {
  using type = ::testing::Types<>;
};
template <class Drop, class T, class... Ts>
struct Without<Drop, T, Ts...> {
  using rest = typename Without<Drop, Ts...>::type;
  using type =
      std::conditional_t<std::is_same<Drop, T>::value, rest, typename Prepend<T, rest>::type>;
};
#if defined(KOKKOS_ENABLE_OPENMP)
template <class... Ts>
struct WithoutOpenMP {
  using type = typename Without<Kokkos::OpenMP, Ts...>::type;
};
#endif
}  // namespace detail

#if defined(KOKKOS_ENABLE_OPENMP)
// Every backend but OpenMP: the ones tests/test_backends.cpp compares with it.
using BackendsBesideOpenMP = WithEnabledBackends<detail::WithoutOpenMP>::type;
#endif

// A host image in Exec's memory space (the same image when that is the host's).
template <class Exec, class T>
Image<T, typename Exec::memory_space> on_backend(const Image<T, HostMemory>& host) {
  return to_memory_space<typename Exec::memory_space>(host);
}

}  // namespace medimg::test
