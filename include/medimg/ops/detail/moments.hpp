// Count, mean, variance and extremes of the selected voxels
// (ops/intensity.hpp's z_score, min_max, statistics of a selection): Kokkos
// reductions, exact integer sums for 8- and 16-bit images, runs of voxels
// with independent lanes on the host.
#pragma once

#include <Kokkos_Core.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/image.hpp"
#include "medimg/core/kokkos_compat.hpp"

#include "medimg/ops/selection.hpp"

namespace medimg::impl {

// Count, sum, minimum and maximum of the selected voxels.
template <class T>
struct FirstMoments {
  struct value_type {
    double sum;
    double min;
    double max;
    std::int64_t count;
  };
  SelectedVoxels<T> selected;

  KOKKOS_INLINE_FUNCTION void init(value_type& v) const {
    v.sum = 0.0;
    v.min = Kokkos::reduction_identity<double>::min();
    v.max = Kokkos::reduction_identity<double>::max();
    v.count = 0;
  }
  KOKKOS_INLINE_FUNCTION void join(MEDIMG_JOIN_VOLATILE value_type& dst,
                                   const MEDIMG_JOIN_VOLATILE value_type& src) const {
    dst.sum += src.sum;
    if (src.min < dst.min) dst.min = src.min;
    if (src.max > dst.max) dst.max = src.max;
    dst.count += src.count;
  }
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t n, value_type& v) const {
    double x;
    if (!selected(n, x)) return;
    v.sum += x;
    if (x < v.min) v.min = x;
    if (x > v.max) v.max = x;
    v.count += 1;
  }
};

// Sum of (x - mean)^2 over the selected voxels (the second pass of a
// two-pass variance, as numpy computes it).
template <class T>
struct SquaredDeviations {
  SelectedVoxels<T> selected;
  double mean;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t n, double& sum) const {
    double x;
    if (selected(n, x)) sum += (x - mean) * (x - mean);
  }
};

// The host forms of FirstMoments and SquaredDeviations: one work item is a
// run of voxels (VoxelRuns) walked with kLanes independent sums, minima and
// maxima. The one-voxel forms are one chain of dependent double adds per
// thread (`medimg pipeline`'s z-score of 8 Mvox of float took 40-96 ms with
// them, beside fuzzers; 34-64 ms with these, its output pages included); the
// lanes let the adds overlap. The sums differ from those only in rounding
// (another order of the same additions).
constexpr int kMomentLanes = 8;

template <class T>
struct FirstMomentsRuns {
  using value_type = typename FirstMoments<T>::value_type;
  SelectedVoxels<T> selected;
  VoxelRuns runs;

  void init(value_type& v) const { FirstMoments<T>{selected}.init(v); }
  void join(MEDIMG_JOIN_VOLATILE value_type& dst,
            const MEDIMG_JOIN_VOLATILE value_type& src) const {
    FirstMoments<T>{selected}.join(dst, src);
  }
  void operator()(const std::int64_t item, value_type& v) const {
    const std::int64_t begin = runs.begin(item), end = runs.end(item);
    double sum[kMomentLanes], lo[kMomentLanes], hi[kMomentLanes];
    std::int64_t used[kMomentLanes];
    for (int l = 0; l < kMomentLanes; ++l) {
      sum[l] = 0.0;
      lo[l] = Kokkos::reduction_identity<double>::min();
      hi[l] = Kokkos::reduction_identity<double>::max();
      used[l] = 0;
    }
    std::int64_t n = begin;
    const auto step = [&](const int l, const std::int64_t at) {
      double x;
      const bool use = selected(at, x);
      sum[l] += use ? x : 0.0;
      lo[l] = use && x < lo[l] ? x : lo[l];
      hi[l] = use && x > hi[l] ? x : hi[l];
      used[l] += use ? 1 : 0;
    };
    for (; n + kMomentLanes <= end; n += kMomentLanes) {
      for (int l = 0; l < kMomentLanes; ++l) step(l, n + l);
    }
    for (int l = 0; n < end; ++n, ++l) step(l, n);
    for (int l = 0; l < kMomentLanes; ++l) {
      v.sum += sum[l];
      if (lo[l] < v.min) v.min = lo[l];
      if (hi[l] > v.max) v.max = hi[l];
      v.count += used[l];
    }
  }
};

template <class T>
struct SquaredDeviationsRuns {
  SelectedVoxels<T> selected;
  double mean;
  VoxelRuns runs;
  void operator()(const std::int64_t item, double& total) const {
    const std::int64_t begin = runs.begin(item), end = runs.end(item);
    double sum[kMomentLanes] = {};
    std::int64_t n = begin;
    const auto step = [&](const int l, const std::int64_t at) {
      double x;
      const bool use = selected(at, x);
      const double d = use ? x - mean : 0.0;
      sum[l] += d * d;
    };
    for (; n + kMomentLanes <= end; n += kMomentLanes) {
      for (int l = 0; l < kMomentLanes; ++l) step(l, n + l);
    }
    for (int l = 0; n < end; ++n, ++l) step(l, n);
    for (int l = 0; l < kMomentLanes; ++l) total += sum[l];
  }
};

struct Moments {
  std::int64_t count = 0;
  double min = 0.0, max = 0.0, mean = 0.0, variance = 0.0;  // variance: ddof = 0
};

inline Moments first_moments(std::int64_t count, double sum, double min, double max) {
  Moments m;
  m.count = count;
  if (count > 0) {
    m.min = min;
    m.max = max;
    m.mean = sum / static_cast<double>(count);
  }
  return m;
}

// 8- and 16-bit images: count, sum, sum of squares and extremes as exact
// integers in one pass (x^2 <= 2^32, so 2^30 voxels fit in the sums): the
// result does not depend on the order of the reduction.
template <class T>
struct IntegerMoments {
  struct value_type {
    std::int64_t sum, squares, count, min, max;
  };
  SelectedVoxels<T> selected;
  VoxelRuns runs;

  KOKKOS_INLINE_FUNCTION void init(value_type& v) const {
    v.sum = v.squares = v.count = 0;
    v.min = Kokkos::reduction_identity<std::int64_t>::min();
    v.max = Kokkos::reduction_identity<std::int64_t>::max();
  }
  KOKKOS_INLINE_FUNCTION void join(MEDIMG_JOIN_VOLATILE value_type& dst,
                                   const MEDIMG_JOIN_VOLATILE value_type& src) const {
    dst.sum += src.sum;
    dst.squares += src.squares;
    dst.count += src.count;
    if (src.min < dst.min) dst.min = src.min;
    if (src.max > dst.max) dst.max = src.max;
  }
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t item, value_type& v) const {
    const std::int64_t begin = runs.begin(item), end = runs.end(item);
    if (selected.mask == nullptr && !selected.nonzero_only) {
      // Every voxel: a branch-free loop with 32-bit extremes over a restrict
      // pointer and local bounds, which vectorises.
      const T* KOKKOS_RESTRICT voxels = selected.voxels;
      const std::int32_t clamp_low = selected.low, clamp_high = selected.high;
      std::int64_t sum = 0, squares = 0;
      std::int32_t low = Kokkos::reduction_identity<std::int32_t>::min();
      std::int32_t high = Kokkos::reduction_identity<std::int32_t>::max();
      for (std::int64_t n = begin; n < end; ++n) {
        std::int32_t x = voxels[n];
        x = x < clamp_low ? clamp_low : x;  // SelectedVoxels::value
        x = x > clamp_high ? clamp_high : x;
        sum += x;
        squares += static_cast<std::int64_t>(x) * x;
        low = x < low ? x : low;
        high = x > high ? x : high;
      }
      v.sum += sum;
      v.squares += squares;
      v.count += end - begin;
      if (begin < end && low < v.min) v.min = low;
      if (begin < end && high > v.max) v.max = high;
      return;
    }
    for (std::int64_t n = begin; n < end; ++n) {
      const std::int64_t x = selected.value(n);
      const bool use =
          (selected.mask == nullptr || selected.mask[n] != 0) && (!selected.nonzero_only || x != 0);
      v.sum += use ? x : 0;
      v.squares += use ? x * x : 0;
      v.count += use ? 1 : 0;
      if (use && x < v.min) v.min = x;
      if (use && x > v.max) v.max = x;
    }
  }
};

template <class ExecutionSpace, class T>
Moments moments_of(const ExecutionSpace& exec, const SelectedVoxels<T>& selected,
                   const std::int64_t n, bool with_variance);

template <class ExecutionSpace, class T, class MemorySpace>
Moments moments(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                const Selection<MemorySpace>& selection, bool with_variance) {
  return moments_of(exec, selected_voxels(image, selection), image.geometry().voxel_count(),
                    with_variance);
}

// The moments of the selected voxels among n.
template <class ExecutionSpace, class T>
Moments moments_of(const ExecutionSpace& exec, const SelectedVoxels<T>& selected,
                   const std::int64_t n, bool with_variance) {
  if constexpr (std::is_integral_v<T> && sizeof(T) <= 2) {
    if (n < (std::int64_t(1) << 30)) {
      typename IntegerMoments<T>::value_type sums;
      const VoxelRuns runs = voxel_runs<ExecutionSpace>(n);
      Kokkos::parallel_reduce("medimg::intensity_moments",
                              FlatRange<ExecutionSpace>(exec, 0, runs.items()),
                              IntegerMoments<T>{selected, runs}, sums);
      Moments m = first_moments(sums.count, static_cast<double>(sums.sum),
                                static_cast<double>(sums.min), static_cast<double>(sums.max));
      if (m.count == 0) return m;
      // n^2 var = n sum(x^2) - sum(x)^2, exactly (both terms < 2^95).
      __extension__ using Wide = __int128;
      const Wide spread =
          static_cast<Wide>(sums.count) * sums.squares - static_cast<Wide>(sums.sum) * sums.sum;
      m.variance = static_cast<double>(spread) / (static_cast<double>(m.count) * m.count);
      return m;
    }
  }
  constexpr bool host = Kokkos::SpaceAccessibility<ExecutionSpace, Kokkos::HostSpace>::accessible;
  typename FirstMoments<T>::value_type first;
  const VoxelRuns runs = voxel_runs<ExecutionSpace>(n);
  if constexpr (host) {
    Kokkos::parallel_reduce("medimg::intensity_moments",
                            FlatRange<ExecutionSpace>(exec, 0, runs.items()),
                            FirstMomentsRuns<T>{selected, runs}, first);
  } else {
    Kokkos::parallel_reduce("medimg::intensity_moments", FlatRange<ExecutionSpace>(exec, 0, n),
                            FirstMoments<T>{selected}, first);
  }
  Moments m = first_moments(first.count, first.sum, first.min, first.max);
  if (m.count == 0) return m;
  if (with_variance) {
    double squares = 0.0;
    if constexpr (host) {
      Kokkos::parallel_reduce("medimg::intensity_variance",
                              FlatRange<ExecutionSpace>(exec, 0, runs.items()),
                              SquaredDeviationsRuns<T>{selected, m.mean, runs}, squares);
    } else {
      Kokkos::parallel_reduce("medimg::intensity_variance", FlatRange<ExecutionSpace>(exec, 0, n),
                              SquaredDeviations<T>{selected, m.mean}, squares);
    }
    m.variance = squares / static_cast<double>(m.count);
  }
  return m;
}

}  // namespace medimg::impl
