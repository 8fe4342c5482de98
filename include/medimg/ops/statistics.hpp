// statistics(image): minimum, maximum and mean of the voxels in one device
// reduction (one pass; a BLAS-1 sum would need a second pass for min/max and
// overflows integer types). NaN voxels are skipped; `count` is how many
// voxels were used.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "medimg/core/host_hints.hpp"
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

struct StatisticsValue {
  double min;
  double max;
  double sum;
  std::int64_t count;
};

KOKKOS_INLINE_FUNCTION void statistics_init(StatisticsValue& v) {
  v.min = Kokkos::reduction_identity<double>::min();
  v.max = Kokkos::reduction_identity<double>::max();
  v.sum = 0.0;
  v.count = 0;
}

template <class Dst, class Src>
KOKKOS_INLINE_FUNCTION void statistics_join(Dst& dst, const Src& src) {
  if (src.min < dst.min) dst.min = src.min;
  if (src.max > dst.max) dst.max = src.max;
  dst.sum += src.sum;
  dst.count += src.count;
}

template <class View>
struct StatisticsReduction {
  using value_type = StatisticsValue;
  using size_type = std::int64_t;

  // The voxels of a LayoutLeft image are one contiguous block.
  const typename View::value_type* voxels;

  KOKKOS_INLINE_FUNCTION void init(value_type& v) const { statistics_init(v); }
  KOKKOS_INLINE_FUNCTION void join(MEDIMG_JOIN_VOLATILE value_type& dst,
                                   const MEDIMG_JOIN_VOLATILE value_type& src) const {
    statistics_join(dst, src);
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

// The host form: one work item is a block of kBlock voxels, walked with
// kLanes independent minima, maxima and sums that the compiler keeps in
// vector registers (the one-voxel form above is a chain of dependent adds
// and branches: `perf` of `medimg info` on 25 Mvox of float put about
// 120 ms of CPU in it, and about 12 ms in this one).
// Integer voxels sum exactly in int64 within a block; floating ones in
// double, lane by lane. NaN fails every comparison, so it moves no minimum
// or maximum, and it is neither summed nor counted.
template <class T>
struct StatisticsBlocks {
  using value_type = StatisticsValue;
  using size_type = std::int64_t;
  static constexpr std::int64_t kBlock = 8192;
  static constexpr int kLanes = 16;
  const T* voxels;
  std::int64_t count;

  void init(value_type& v) const { statistics_init(v); }
  void join(MEDIMG_JOIN_VOLATILE value_type& dst,
            const MEDIMG_JOIN_VOLATILE value_type& src) const {
    statistics_join(dst, src);
  }

  static std::int64_t blocks(std::int64_t n) { return (n + kBlock - 1) / kBlock; }

  MEDIMG_HOST_CLONES void operator()(const std::int64_t block, value_type& v) const {
    const std::int64_t begin = block * kBlock;
    const std::int64_t end = begin + kBlock < count ? begin + kBlock : count;
    const T* const x = voxels;
    if constexpr (std::is_floating_point<T>::value) {
      double lo[kLanes], hi[kLanes], sum[kLanes];
      std::int64_t used[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        lo[l] = Kokkos::reduction_identity<double>::min();
        hi[l] = Kokkos::reduction_identity<double>::max();
        sum[l] = 0.0;
        used[l] = 0;
      }
      std::int64_t i = begin;
      for (; i + kLanes <= end; i += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
          const double value = static_cast<double>(x[i + l]);
          const bool number = value == value;
          lo[l] = value < lo[l] ? value : lo[l];
          hi[l] = value > hi[l] ? value : hi[l];
          sum[l] += number ? value : 0.0;
          used[l] += number ? 1 : 0;
        }
      }
      for (int l = 0; i < end; ++i, ++l) {
        const double value = static_cast<double>(x[i]);
        if (value != value) continue;
        lo[l] = value < lo[l] ? value : lo[l];
        hi[l] = value > hi[l] ? value : hi[l];
        sum[l] += value;
        used[l] += 1;
      }
      for (int l = 0; l < kLanes; ++l) {
        if (lo[l] < v.min) v.min = lo[l];
        if (hi[l] > v.max) v.max = hi[l];
        v.sum += sum[l];
        v.count += used[l];
      }
    } else {
      T lo[kLanes], hi[kLanes];
      std::int64_t sum[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        lo[l] = x[begin];
        hi[l] = x[begin];
        sum[l] = 0;
      }
      std::int64_t i = begin;
      for (; i + kLanes <= end; i += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
          const T value = x[i + l];
          lo[l] = value < lo[l] ? value : lo[l];
          hi[l] = value > hi[l] ? value : hi[l];
          sum[l] += static_cast<std::int64_t>(value);
        }
      }
      for (; i < end; ++i) {
        lo[0] = x[i] < lo[0] ? x[i] : lo[0];
        hi[0] = x[i] > hi[0] ? x[i] : hi[0];
        sum[0] += static_cast<std::int64_t>(x[i]);
      }
      std::int64_t total = 0;
      for (int l = 0; l < kLanes; ++l) {
        if (static_cast<double>(lo[l]) < v.min) v.min = static_cast<double>(lo[l]);
        if (static_cast<double>(hi[l]) > v.max) v.max = static_cast<double>(hi[l]);
        total += sum[l];
      }
      v.sum += static_cast<double>(total);
      v.count += end - begin;
    }
  }
};

// The blocks of `count` host voxels, reduced on `exec`'s threads.
template <class ExecutionSpace, class T>
StatisticsValue host_statistics(const ExecutionSpace& exec, const T* voxels, std::int64_t count) {
  StatisticsValue result;
  const StatisticsBlocks<T> blocks{voxels, count};
  Kokkos::parallel_reduce("medimg::statistics",
                          Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                              exec, 0, StatisticsBlocks<T>::blocks(count)),
                          blocks, result);
  return result;
}

inline Statistics finish_statistics(const StatisticsValue& result) {
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

}  // namespace impl

// statistics() of host voxels that arrive in pieces (a file streamed through
// a small buffer: `medimg info` on a compressed NIfTI): add() each piece in
// any order, then result().
class StatisticsAccumulator {
 public:
  StatisticsAccumulator() { impl::statistics_init(m_value); }
  template <class T>
  void add(const T* voxels, std::int64_t count) {
    impl::statistics_join(
        m_value, impl::host_statistics(Kokkos::DefaultHostExecutionSpace(), voxels, count));
  }
  // The same on the calling thread alone (another may be busy inflating).
  template <class T>
  void add_serial(const T* voxels, std::int64_t count) {
    const impl::StatisticsBlocks<T> blocks{voxels, count};
    impl::StatisticsValue value;
    impl::statistics_init(value);
    for (std::int64_t b = 0; b < impl::StatisticsBlocks<T>::blocks(count); ++b) blocks(b, value);
    impl::statistics_join(m_value, value);
  }
  void merge(const StatisticsAccumulator& other) { impl::statistics_join(m_value, other.m_value); }
  Statistics result() const { return impl::finish_statistics(m_value); }

 private:
  impl::StatisticsValue m_value;
};

template <class ExecutionSpace, class T, class MemorySpace>
Statistics statistics(const ExecutionSpace& exec, const Image<T, MemorySpace>& image) {
  impl::StatisticsValue result;
  const std::int64_t count = image.geometry().voxel_count();
  if constexpr (std::is_same<typename ExecutionSpace::memory_space, Kokkos::HostSpace>::value) {
    result = impl::host_statistics(exec, image.voxels().data(), count);
  } else {
    using Functor = impl::StatisticsReduction<typename Image<T, MemorySpace>::view_type>;
    Kokkos::parallel_reduce(
        "medimg::statistics",
        Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(exec, 0, count),
        Functor{image.voxels().data()}, result);
  }
  return impl::finish_statistics(result);
}

template <class T, class MemorySpace>
Statistics statistics(const Image<T, MemorySpace>& image) {
  return statistics(typename Image<T, MemorySpace>::execution_space(), image);
}

}  // namespace medimg
