// Sums over flat voxel arrays that accumulate in double whatever the
// Kokkos / Kokkos Kernels version: every product is formed in double and
// every partial sum is a double.
//
// Why not KokkosBlas::dot / nrm1 for these: their accumulator is an internal
// choice that changed between versions. Kokkos Kernels up to 4.2 summed
// the scalar-returning float dot in double; since 4.3 it sums in float (a
// 10^6-element dot then loses about 3 digits). nrm1 of a float View sums in
// float in every version (a float count stops growing at 2^24). The dot
// overload writing into a double View sums in double, but forms x*y in float
// in 3.4 and in double in 4.x. medimg
// uses Kokkos Kernels for element-wise BLAS-1 (scal, axpby, mult) and for
// double vectors, and these reductions for every float sum a test or a user
// sees (the registration metrics).
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>

namespace medimg {

namespace impl {

// Named functors, not lambdas: nvcc 11.8 cannot compile extended lambdas in
// function templates (docs/GPU.md).
template <class X, class Y>
struct SumOfProducts {
  X x;
  Y y;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t n, double& sum) const {
    sum += static_cast<double>(x(n)) * static_cast<double>(y(n));
  }
};

template <class X>
struct SumOfValues {
  X x;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t n, double& sum) const {
    sum += static_cast<double>(x(n));
  }
};

}  // namespace impl

// sum_n x(n) y(n) over two rank-1 Views of equal extent, in double.
template <class ExecutionSpace, class X, class Y>
double sum_of_products(const ExecutionSpace& exec, const X& x, const Y& y) {
  static_assert(X::rank == 1 && Y::rank == 1, "sum_of_products takes rank-1 Views");
  double sum = 0.0;
  Kokkos::parallel_reduce("medimg::sum_of_products",
                          Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                              exec, 0, static_cast<std::int64_t>(x.extent(0))),
                          impl::SumOfProducts<X, Y>{x, y}, sum);
  return sum;
}

// sum_n x(n) over a rank-1 View, in double.
template <class ExecutionSpace, class X>
double sum_of(const ExecutionSpace& exec, const X& x) {
  static_assert(X::rank == 1, "sum_of takes a rank-1 View");
  double sum = 0.0;
  Kokkos::parallel_reduce("medimg::sum_of",
                          Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                              exec, 0, static_cast<std::int64_t>(x.extent(0))),
                          impl::SumOfValues<X>{x}, sum);
  return sum;
}

}  // namespace medimg
