// statistics(image): minimum, maximum and mean of the voxels in one device
// reduction (one pass; a BLAS-1 sum would need a second pass for min/max and
// overflows integer types). NaN voxels are skipped; `count` is how many
// voxels were used.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <limits>

#include "medimg/core/image.hpp"
#include "medimg/core/kokkos_compat.hpp"

namespace medimg {

struct Statistics {
  double min = 0.0;
  double max = 0.0;
  double mean = 0.0;
  std::int64_t count = 0;
};

namespace impl {

template <class View>
struct StatisticsReduction {
  struct value_type {
    double min;
    double max;
    double sum;
    std::int64_t count;
  };
  using size_type = std::int64_t;

  // The voxels of a LayoutLeft image are one contiguous block.
  const typename View::value_type* voxels;

  KOKKOS_INLINE_FUNCTION void init(value_type& v) const {
    v.min = Kokkos::reduction_identity<double>::min();
    v.max = Kokkos::reduction_identity<double>::max();
    v.sum = 0.0;
    v.count = 0;
  }

  KOKKOS_INLINE_FUNCTION void join(MEDIMG_JOIN_VOLATILE value_type& dst,
                                   const MEDIMG_JOIN_VOLATILE value_type& src) const {
    if (src.min < dst.min) dst.min = src.min;
    if (src.max > dst.max) dst.max = src.max;
    dst.sum += src.sum;
    dst.count += src.count;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t n, value_type& v) const {
    const double x = static_cast<double>(voxels[n]);
    if (compat::isnan(x)) return;
    if (x < v.min) v.min = x;
    if (x > v.max) v.max = x;
    v.sum += x;
    v.count += 1;
  }
};

}  // namespace impl

template <class ExecutionSpace, class T, class MemorySpace>
Statistics statistics(const ExecutionSpace& exec, const Image<T, MemorySpace>& image) {
  using Functor = impl::StatisticsReduction<typename Image<T, MemorySpace>::view_type>;
  Functor functor{image.voxels().data()};
  typename Functor::value_type result;
  Kokkos::parallel_reduce("medimg::statistics",
                          Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                              exec, 0, image.geometry().voxel_count()),
                          functor, result);
  Statistics stats;
  stats.count = result.count;
  if (result.count > 0) {
    stats.min = result.min;
    stats.max = result.max;
    stats.mean = result.sum / static_cast<double>(result.count);
  } else {
    stats.min = stats.max = stats.mean = std::numeric_limits<double>::quiet_NaN();
  }
  return stats;
}

template <class T, class MemorySpace>
Statistics statistics(const Image<T, MemorySpace>& image) {
  return statistics(typename Image<T, MemorySpace>::execution_space(), image);
}

}  // namespace medimg
