// Intensity operations: voxel values change, the grid and metadata do not.
// Every reduction (count, mean, variance, min/max, order statistics) is a
// Kokkos reduction or histogram on the image's execution space; the host
// only combines a handful of numbers. NaN voxels are never counted and stay
// NaN.
//
//   clip(img, low, high)             values below low -> low, above high -> high;
//                                    the pixel type is kept (integer images clip
//                                    to ceil(low) and floor(high))
//   percentiles(img, {q...})         numpy.percentile(x, q) (method "linear":
//                                    index q/100 (n - 1) between order statistics)
//   percentile_clip(img, qlo, qhi)   clip to those two percentiles
//   window(img, level, width)        clip to [level - width/2, level + width/2]
//   window(img, level, width, a, b)  ITK IntensityWindowingImageFilter: the window
//                                    maps linearly onto [a, b], outside to a or b
//   min_max(img)                     (x - min) / (max - min) in [0, 1]; 0 when flat
//   z_score(img, selection)          (x - mean) / std, numpy's std (ddof = 0; ITK's
//                                    NormalizeImageFilter divides by n - 1); the
//                                    statistics come from the selected voxels (all,
//                                    the non-zero ones, or a mask) and only the
//                                    selected voxels are normalised, the others keep
//                                    their value (MONAI's NormalizeIntensity); std 0
//                                    leaves x - mean
//   z_score_of_clipped(img, lo, hi, selection)  z_score(clip(img, lo, hi), selection)
//                                    bit for bit, without the clipped image
//   rescale_slope_intercept(img, m, b)  DICOM's x * slope + intercept
//   histogram_match(img, reference)  piecewise-linear map through quantile
//                                    landmarks (ITK HistogramMatchingImageFilter's
//                                    model, with exact quantiles instead of ITK's
//                                    256-level histograms): landmark 0 and M + 1 are
//                                    each image's minimum and maximum, landmarks
//                                    j = 1..M the j / (M + 1) quantiles of the voxels
//                                    above the image's mean (or of all voxels);
//                                    values map by numpy.interp(x, source, reference)
//
// Normalising ops return real_t<T> (double for double images, else float).
#pragma once

#include <Kokkos_Core.hpp>
#include <Kokkos_ScatterView.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/image.hpp"
#include "medimg/core/kokkos_compat.hpp"
#include "medimg/core/pixel_cast.hpp"

namespace medimg {

// std::is_same<>::value, not is_same_v: nvcc 11 cannot write the host stub of
// a device lambda whose enclosing function's type names a variable template.
template <class T>
using real_t = std::conditional_t<std::is_same<T, double>::value, double, float>;

// Which voxels a reduction (and z_score's normalisation) uses. NaN voxels
// are never used.
template <class MemorySpace>
struct Selection {
  bool nonzero_only = false;              // skip voxels equal to 0
  Image<std::uint8_t, MemorySpace> mask;  // when allocated: only voxels where mask != 0

  static Selection all() { return {}; }
  static Selection nonzero() { return {true, {}}; }
  static Selection inside(Image<std::uint8_t, MemorySpace> mask) {
    return {false, std::move(mask)};
  }
};

struct HistogramMatchOptions {
  int match_points = 7;           // landmarks between minimum and maximum (ITK's match points)
  bool threshold_at_mean = true;  // quantiles of the voxels above the mean only
};

namespace impl {

template <class ExecutionSpace>
using FlatRange = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;

// The voxels of a flat pass, split into work items. Host backends give each
// item a run of consecutive voxels, a loop the compiler vectorises; GPUs take
// one voxel per thread, so adjacent threads touch adjacent voxels.
struct VoxelRuns {
  std::int64_t count = 0, run = 1;
  KOKKOS_INLINE_FUNCTION std::int64_t begin(const std::int64_t item) const { return item * run; }
  KOKKOS_INLINE_FUNCTION std::int64_t end(const std::int64_t item) const {
    const std::int64_t e = (item + 1) * run;
    return e < count ? e : count;
  }
  std::int64_t items() const { return (count + run - 1) / run; }
};

template <class ExecutionSpace>
VoxelRuns voxel_runs(const std::int64_t count) {
  constexpr bool host = Kokkos::SpaceAccessibility<ExecutionSpace, Kokkos::HostSpace>::accessible;
  return {count, host ? 4096 : 1};
}

// The selected voxels of one image, as a device-callable predicate.
template <class T>
struct SelectedVoxels {
  const T* voxels = nullptr;
  const std::uint8_t* mask = nullptr;
  bool nonzero_only = false;
  // Voxels are read as clip() writes them, clamped to [low, high] (a clip
  // fused into the op that reads its output); by default T's whole range.
  T low = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                               : std::numeric_limits<T>::lowest();
  T high = std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::max();

  KOKKOS_INLINE_FUNCTION T value(const std::int64_t n) const {
    const T v = voxels[n];
    return v < low ? low : (v > high ? high : v);  // NaN stays NaN
  }

  KOKKOS_INLINE_FUNCTION bool operator()(const std::int64_t n, double& x) const {
    x = static_cast<double>(value(n));
    if (compat::isnan(x)) return false;
    if (mask != nullptr && mask[n] == 0) return false;
    if (nonzero_only && x == 0.0) return false;
    return true;
  }
};

template <class T, class MemorySpace>
SelectedVoxels<T> selected_voxels(const Image<T, MemorySpace>& image,
                                  const Selection<MemorySpace>& selection) {
  const Size3& size = image.geometry().size();
  const Size3& mask_size = selection.mask.geometry().size();
  if (selection.mask.is_allocated() &&
      (mask_size[0] != size[0] || mask_size[1] != size[1] || mask_size[2] != size[2])) {
    throw Error("mask size " + to_string(selection.mask.geometry().size()) +
                " differs from the image's " + to_string(image.geometry().size()));
  }
  return {image.voxels().data(),
          selection.mask.is_allocated() ? selection.mask.voxels().data() : nullptr,
          selection.nonzero_only};
}

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

// A monotone map of doubles onto unsigned integers (IEEE order), for radix
// selection. Unions are how CUDA, HIP and host compilers all allow the pun.
KOKKOS_INLINE_FUNCTION std::uint64_t order_key(double x) {
  union {
    double d;
    std::uint64_t u;
  } pun;
  pun.d = x;
  const std::uint64_t sign = std::uint64_t(1) << 63;
  return (pun.u & sign) ? ~pun.u : (pun.u | sign);
}

inline double from_order_key(std::uint64_t key) {
  const std::uint64_t sign = std::uint64_t(1) << 63;
  union {
    double d;
    std::uint64_t u;
  } pun;
  pun.u = (key & sign) ? (key & ~sign) : ~key;
  return pun.d;
}

constexpr int radix_bits = 16;
constexpr std::int64_t radix_bins = std::int64_t(1) << radix_bits;

// One pass of radix selection: for each distinct candidate prefix (the key
// bits above `shift` chosen so far), the histogram of the next 16 bits of
// the selected voxels whose key starts with that prefix.
template <class T, class Scatter, class Prefixes>
struct RadixHistogram {
  SelectedVoxels<T> selected;
  Prefixes prefixes;
  std::uint64_t prefix_mask;
  int shift;
  Scatter histogram;  // (bin, prefix)

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t n) const {
    double x;
    if (!selected(n, x)) return;
    const std::uint64_t key = order_key(x);
    for (std::size_t p = 0; p < prefixes.extent(0); ++p) {
      if ((key & prefix_mask) == prefixes(p)) {
        auto access = histogram.access();
        access(static_cast<std::int64_t>((key >> shift) & (radix_bins - 1)),
               static_cast<std::int64_t>(p)) += 1;
        return;
      }
    }
  }
};

// The order statistics x_(r) (0-based ranks among `count` selected voxels)
// by radix selection: four histogram passes over the voxels whatever the
// number of ranks, exact for every pixel type.
template <class ExecutionSpace, class T, class MemorySpace>
std::vector<double> order_statistics(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                                     const SelectedVoxels<T>& selected,
                                     const std::vector<std::int64_t>& ranks) {
  using Device = Kokkos::Device<ExecutionSpace, MemorySpace>;
  std::vector<std::uint64_t> prefix(ranks.size(), 0);
  std::vector<std::int64_t> remaining = ranks;
  std::uint64_t prefix_mask = 0;
  for (int shift = 64 - radix_bits; shift >= 0; shift -= radix_bits) {
    std::vector<std::uint64_t> distinct;
    std::vector<std::size_t> slot(ranks.size());
    for (std::size_t r = 0; r < ranks.size(); ++r) {
      std::size_t s = 0;
      while (s < distinct.size() && distinct[s] != prefix[r]) ++s;
      if (s == distinct.size()) distinct.push_back(prefix[r]);
      slot[r] = s;
    }
    Kokkos::View<std::uint64_t*, MemorySpace> prefixes("medimg::radix_prefixes", distinct.size());
    auto prefixes_host = Kokkos::create_mirror_view(prefixes);
    for (std::size_t s = 0; s < distinct.size(); ++s) prefixes_host(s) = distinct[s];
    Kokkos::deep_copy(exec, prefixes, prefixes_host);
    Kokkos::View<std::int64_t**, Kokkos::LayoutLeft, MemorySpace> histogram(
        "medimg::radix_histogram", static_cast<std::size_t>(radix_bins), distinct.size());
    Kokkos::Experimental::ScatterView<std::int64_t**, Kokkos::LayoutLeft, Device> scatter(
        histogram);
    using Functor =
        RadixHistogram<T, decltype(scatter), Kokkos::View<const std::uint64_t*, MemorySpace>>;
    Kokkos::parallel_for("medimg::radix_select",
                         FlatRange<ExecutionSpace>(exec, 0, image.geometry().voxel_count()),
                         Functor{selected, prefixes, prefix_mask, shift, scatter});
    Kokkos::Experimental::contribute(histogram, scatter);
    auto counts = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), histogram);
    for (std::size_t r = 0; r < ranks.size(); ++r) {
      std::int64_t bin = 0;
      while (remaining[r] >= counts(bin, slot[r])) {
        remaining[r] -= counts(bin, slot[r]);
        ++bin;
      }
      prefix[r] |= static_cast<std::uint64_t>(bin) << shift;
    }
    prefix_mask |= static_cast<std::uint64_t>(radix_bins - 1) << shift;
  }
  std::vector<double> values(ranks.size());
  for (std::size_t r = 0; r < ranks.size(); ++r) values[r] = from_order_key(prefix[r]);
  return values;
}

// numpy's linear interpolation between order statistics (numpy._lerp).
inline double numpy_lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

template <class ExecutionSpace, class T, class MemorySpace>
std::vector<double> selected_percentiles(const ExecutionSpace& exec,
                                         const Image<T, MemorySpace>& image,
                                         const SelectedVoxels<T>& selected, std::int64_t count,
                                         const std::vector<double>& q) {
  for (const double p : q) {
    if (!(p >= 0.0 && p <= 100.0)) {
      throw Error("percentile " + std::to_string(p) + " is outside [0, 100]");
    }
  }
  if (count == 0) return std::vector<double>(q.size(), std::numeric_limits<double>::quiet_NaN());
  std::vector<std::int64_t> ranks;
  std::vector<double> gamma;
  for (const double p : q) {
    const double h = static_cast<double>(count - 1) * (p / 100.0);
    const double below = std::floor(h);
    const auto r = static_cast<std::int64_t>(below);
    ranks.push_back(r);
    ranks.push_back(std::min(r + 1, count - 1));
    gamma.push_back(h - below);
  }
  const std::vector<double> x = order_statistics(exec, image, selected, ranks);
  std::vector<double> result(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) {
    result[i] = numpy_lerp(x[2 * i], x[2 * i + 1], gamma[i]);
  }
  return result;
}

// out[n] = pixel_cast<Out>(f(x)) on the selected voxels, pixel_cast<Out>(x)
// elsewhere (NaN stays NaN for floating outputs).
template <class Out, class In, class F>
struct MapVoxels {
  SelectedVoxels<In> selected;
  Out* output;
  F f;
  VoxelRuns runs;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t item) const {
    const std::int64_t begin = runs.begin(item), end = runs.end(item);
    if constexpr (std::is_integral_v<In>) {
      if (selected.mask == nullptr && !selected.nonzero_only) {
        // Every voxel, none NaN: a branch-free loop over restrict pointers.
        const In* KOKKOS_RESTRICT voxels = selected.voxels;
        Out* KOKKOS_RESTRICT out = output;
        const In low = selected.low, high = selected.high;
        const F map = f;
        for (std::int64_t n = begin; n < end; ++n) {
          In x = voxels[n];
          x = x < low ? low : x;  // SelectedVoxels::value
          x = x > high ? high : x;
          out[n] = pixel_cast<Out>(map(static_cast<double>(x)));
        }
        return;
      }
    }
    for (std::int64_t n = begin; n < end; ++n) {
      double x;
      output[n] = selected(n, x) ? pixel_cast<Out>(f(x)) : pixel_cast<Out>(selected.value(n));
    }
  }
};

// The bounds of a clip, in double.
struct ClipBounds {
  double low, high;
};

struct IdentityValue {
  KOKKOS_INLINE_FUNCTION double operator()(double x) const { return x; }
};

// (x - center) / divisor, the way numpy writes a normalisation.
struct StandardizeValue {
  double center, divisor;
  KOKKOS_INLINE_FUNCTION double operator()(double x) const { return (x - center) / divisor; }
};

struct AffineValue {
  double scale, shift;
  KOKKOS_INLINE_FUNCTION double operator()(double x) const { return x * scale + shift; }
};

struct NonZeroValue {
  KOKKOS_INLINE_FUNCTION double operator()(double x) const { return x != 0.0 ? 1.0 : 0.0; }
};

struct AboveValue {
  double threshold;
  KOKKOS_INLINE_FUNCTION double operator()(double x) const { return x > threshold ? 1.0 : 0.0; }
};

// ITK IntensityWindowingImageFilter's map.
struct WindowValue {
  double window_min, window_max, out_min, out_max, scale;
  KOKKOS_INLINE_FUNCTION double operator()(double x) const {
    if (x < window_min) return out_min;
    if (x > window_max) return out_max;
    return (x - window_min) * scale + out_min;
  }
};

// numpy.interp(x, source, reference) for increasing source landmarks.
template <class Landmarks>
struct PiecewiseLinearValue {
  Landmarks source, reference;
  KOKKOS_INLINE_FUNCTION double operator()(double x) const {
    const std::size_t last = source.extent(0) - 1;
    if (x <= source(0)) return reference(0);
    if (x >= source(last)) return reference(last);
    std::size_t j = 0;
    while (j + 1 < last && x >= source(j + 1)) ++j;
    const double width = source(j + 1) - source(j);
    if (!(width > 0.0)) return reference(j + 1);
    const double t = (x - source(j)) / width;
    return reference(j) + t * (reference(j + 1) - reference(j));
  }
};

template <class Out, class ExecutionSpace, class In, class MemorySpace, class F>
Image<Out, MemorySpace> map_voxels(const ExecutionSpace& exec, const Image<In, MemorySpace>& image,
                                   const SelectedVoxels<In>& selected, const F& f,
                                   const char* label) {
  auto result = Image<Out, MemorySpace>::uninitialized(image.geometry(), label);
  result.metadata() = image.metadata();
  const VoxelRuns runs = voxel_runs<ExecutionSpace>(image.geometry().voxel_count());
  Kokkos::parallel_for(label, FlatRange<ExecutionSpace>(exec, 0, runs.items()),
                       MapVoxels<Out, In, F>{selected, result.voxels().data(), f, runs});
  return result;
}

template <class T>
ClipBounds clamp_bounds(double low, double high) {
  if (std::is_integral_v<T>) return {std::ceil(low), std::floor(high)};
  return {low, high};
}

// Reads `selected` clipped to [low, high]: integer images to ceil(low) and
// floor(high), every image to bounds clamped into the pixel type.
template <class T>
void clip_on_read(SelectedVoxels<T>& selected, double low, double high) {
  const ClipBounds bounds = clamp_bounds<T>(low, high);
  selected.low = pixel_cast<T>(bounds.low);
  selected.high = pixel_cast<T>(bounds.high);
}

// z_score of the voxels of `image` as `selected` reads them.
template <class ExecutionSpace, class T, class MemorySpace>
Image<real_t<T>, MemorySpace> z_score_of(const ExecutionSpace& exec,
                                         const Image<T, MemorySpace>& image,
                                         const SelectedVoxels<T>& selected) {
  const Moments m = moments_of(exec, selected, image.geometry().voxel_count(), true);
  const double sd = std::sqrt(m.variance);
  const StandardizeValue f{m.mean, sd > 0.0 ? sd : 1.0};
  return map_voxels<real_t<T>>(exec, image, selected, f, "medimg::z_score");
}

inline void check_range(double low, double high, const char* what) {
  if (!(std::isfinite(low) && std::isfinite(high) && low <= high)) {
    throw Error(std::string(what) + ": need finite low <= high, got [" + std::to_string(low) +
                ", " + std::to_string(high) + "]");
  }
}

}  // namespace impl

// mask != 0, as a uint8 mask for Selection::inside.
template <class ExecutionSpace, class M, class MemorySpace>
Image<std::uint8_t, MemorySpace> mask_of(const ExecutionSpace& exec,
                                         const Image<M, MemorySpace>& labels) {
  const impl::SelectedVoxels<M> every{labels.voxels().data(), nullptr, false};
  auto mask =
      impl::map_voxels<std::uint8_t>(exec, labels, every, impl::NonZeroValue{}, "medimg::mask_of");
  return mask;
}

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> clip(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                           double low, double high) {
  impl::check_range(low, high, "clip");
  // The identity map over the voxels read clipped (SelectedVoxels::value).
  impl::SelectedVoxels<T> every{image.voxels().data(), nullptr, false};
  impl::clip_on_read(every, low, high);
  return impl::map_voxels<T>(exec, image, every, impl::IdentityValue{}, "medimg::clip");
}

template <class ExecutionSpace, class T, class MemorySpace>
std::vector<double> percentiles(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                                const std::vector<double>& q,
                                const Selection<MemorySpace>& selection = {}) {
  const auto selected = impl::selected_voxels(image, selection);
  const impl::Moments m = impl::moments(exec, image, selection, false);
  return impl::selected_percentiles(exec, image, selected, m.count, q);
}

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> percentile_clip(const ExecutionSpace& exec,
                                      const Image<T, MemorySpace>& image, double q_low,
                                      double q_high) {
  if (!(q_low <= q_high)) throw Error("percentile_clip: need low <= high percentile");
  const std::vector<double> bounds = percentiles(exec, image, {q_low, q_high});
  if (std::isnan(bounds[0])) throw Error("percentile_clip: the image has no (non-NaN) voxels");
  return clip(exec, image, bounds[0], bounds[1]);
}

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> window(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                             double level, double width) {
  if (!(width > 0.0 && std::isfinite(width) && std::isfinite(level))) {
    throw Error("window: need a finite level and a positive width");
  }
  return clip(exec, image, level - width / 2, level + width / 2);
}

template <class ExecutionSpace, class T, class MemorySpace>
Image<real_t<T>, MemorySpace> window(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                                     double level, double width, double out_min, double out_max) {
  if (!(width > 0.0 && std::isfinite(width) && std::isfinite(level))) {
    throw Error("window: need a finite level and a positive width");
  }
  impl::check_range(out_min, out_max, "window output");
  const double low = level - width / 2, high = level + width / 2;
  const impl::SelectedVoxels<T> every{image.voxels().data(), nullptr, false};
  return impl::map_voxels<real_t<T>>(
      exec, image, every,
      impl::WindowValue{low, high, out_min, out_max, (out_max - out_min) / width},
      "medimg::window");
}

template <class ExecutionSpace, class T, class MemorySpace>
Image<real_t<T>, MemorySpace> min_max(const ExecutionSpace& exec,
                                      const Image<T, MemorySpace>& image) {
  const impl::Moments m = impl::moments(exec, image, Selection<MemorySpace>{}, false);
  const double range = m.max - m.min;
  const impl::StandardizeValue f{m.min, range > 0.0 ? range : 1.0};
  const impl::SelectedVoxels<T> every{image.voxels().data(), nullptr, false};
  return impl::map_voxels<real_t<T>>(exec, image, every, f, "medimg::min_max");
}

template <class ExecutionSpace, class T, class MemorySpace>
Image<real_t<T>, MemorySpace> z_score(const ExecutionSpace& exec,
                                      const Image<T, MemorySpace>& image,
                                      const Selection<MemorySpace>& selection = {}) {
  return impl::z_score_of(exec, image, impl::selected_voxels(image, selection));
}

// z_score(clip(image, low, high), selection), bit for bit, without making
// the clipped image: the clamp is applied as the voxels are read (the
// pipeline runs a window followed by a z_score this way).
template <class ExecutionSpace, class T, class MemorySpace>
Image<real_t<T>, MemorySpace> z_score_of_clipped(const ExecutionSpace& exec,
                                                 const Image<T, MemorySpace>& image, double low,
                                                 double high,
                                                 const Selection<MemorySpace>& selection = {}) {
  impl::check_range(low, high, "clip");
  auto selected = impl::selected_voxels(image, selection);
  impl::clip_on_read(selected, low, high);
  return impl::z_score_of(exec, image, selected);
}

template <class ExecutionSpace, class T, class MemorySpace>
Image<real_t<T>, MemorySpace> rescale_slope_intercept(const ExecutionSpace& exec,
                                                      const Image<T, MemorySpace>& image,
                                                      double slope, double intercept) {
  if (!(std::isfinite(slope) && std::isfinite(intercept) && slope != 0.0)) {
    throw Error("rescale: need a finite non-zero slope and a finite intercept");
  }
  const impl::SelectedVoxels<T> every{image.voxels().data(), nullptr, false};
  return impl::map_voxels<real_t<T>>(exec, image, every, impl::AffineValue{slope, intercept},
                                     "medimg::rescale_slope_intercept");
}

// The M + 2 landmarks of histogram_match for one image (see the top).
template <class ExecutionSpace, class T, class MemorySpace>
std::vector<double> histogram_landmarks(const ExecutionSpace& exec,
                                        const Image<T, MemorySpace>& image,
                                        const HistogramMatchOptions& options) {
  if (options.match_points < 0 || options.match_points > 1000) {
    throw Error("histogram_match: match_points must be in [0, 1000]");
  }
  const impl::Moments all = impl::moments(exec, image, Selection<MemorySpace>{}, false);
  if (all.count == 0) throw Error("histogram_match: an image has no (non-NaN) voxels");
  std::vector<double> landmarks{all.min};
  if (options.match_points > 0) {
    Selection<MemorySpace> region;  // outlives `selected`, which points into its mask
    std::int64_t count = all.count;
    if (options.threshold_at_mean) {
      // Voxels strictly above the mean.
      const impl::SelectedVoxels<T> every{image.voxels().data(), nullptr, false};
      region = Selection<MemorySpace>::inside(impl::map_voxels<std::uint8_t>(
          exec, image, every, impl::AboveValue{all.mean}, "medimg::histogram_threshold"));
      count = impl::moments(exec, image, region, false).count;
      if (count == 0) throw Error("histogram_match: an image is constant");
    }
    const auto selected = impl::selected_voxels(image, region);
    std::vector<double> q;
    for (int j = 1; j <= options.match_points; ++j) {
      q.push_back(100.0 * j / (options.match_points + 1));
    }
    const std::vector<double> inner = impl::selected_percentiles(exec, image, selected, count, q);
    landmarks.insert(landmarks.end(), inner.begin(), inner.end());
  }
  landmarks.push_back(all.max);
  return landmarks;
}

// histogram_match onto a reference given by its landmarks
// (histogram_landmarks of the reference, same options).
template <class ExecutionSpace, class T, class MemorySpace>
Image<real_t<T>, MemorySpace> histogram_match(const ExecutionSpace& exec,
                                              const Image<T, MemorySpace>& image,
                                              const std::vector<double>& reference_landmarks,
                                              const HistogramMatchOptions& options = {}) {
  const std::vector<double> source = histogram_landmarks(exec, image, options);
  if (reference_landmarks.size() != source.size()) {
    throw Error("histogram_match: the reference has " + std::to_string(reference_landmarks.size()) +
                " landmarks, the image " + std::to_string(source.size()));
  }
  using Landmarks = Kokkos::View<double*, MemorySpace>;
  Landmarks s("medimg::landmarks_source", source.size());
  Landmarks r("medimg::landmarks_reference", source.size());
  using HostLandmarks = Kokkos::View<const double*, Kokkos::HostSpace>;
  Kokkos::deep_copy(exec, s, HostLandmarks(source.data(), source.size()));
  Kokkos::deep_copy(exec, r, HostLandmarks(reference_landmarks.data(), source.size()));
  const impl::SelectedVoxels<T> every{image.voxels().data(), nullptr, false};
  auto result = impl::map_voxels<real_t<T>>(
      exec, image, every, impl::PiecewiseLinearValue<Landmarks>{s, r}, "medimg::histogram_match");
  exec.fence();  // the host landmarks go out of scope
  return result;
}

template <class ExecutionSpace, class T, class R, class MemorySpace>
Image<real_t<T>, MemorySpace> histogram_match(const ExecutionSpace& exec,
                                              const Image<T, MemorySpace>& image,
                                              const Image<R, MemorySpace>& reference,
                                              const HistogramMatchOptions& options = {}) {
  return histogram_match(exec, image, histogram_landmarks(exec, reference, options), options);
}

// The same ops on the image's default execution space.
template <class T, class MemorySpace>
Image<T, MemorySpace> clip(const Image<T, MemorySpace>& image, double low, double high) {
  return clip(typename MemorySpace::execution_space(), image, low, high);
}
template <class T, class MemorySpace>
std::vector<double> percentiles(const Image<T, MemorySpace>& image, const std::vector<double>& q,
                                const Selection<MemorySpace>& selection = {}) {
  return percentiles(typename MemorySpace::execution_space(), image, q, selection);
}
template <class T, class MemorySpace>
Image<T, MemorySpace> percentile_clip(const Image<T, MemorySpace>& image, double q_low,
                                      double q_high) {
  return percentile_clip(typename MemorySpace::execution_space(), image, q_low, q_high);
}
template <class T, class MemorySpace>
Image<T, MemorySpace> window(const Image<T, MemorySpace>& image, double level, double width) {
  return window(typename MemorySpace::execution_space(), image, level, width);
}
template <class T, class MemorySpace>
Image<real_t<T>, MemorySpace> window(const Image<T, MemorySpace>& image, double level, double width,
                                     double out_min, double out_max) {
  return window(typename MemorySpace::execution_space(), image, level, width, out_min, out_max);
}
template <class T, class MemorySpace>
Image<real_t<T>, MemorySpace> min_max(const Image<T, MemorySpace>& image) {
  return min_max(typename MemorySpace::execution_space(), image);
}
template <class T, class MemorySpace>
Image<real_t<T>, MemorySpace> z_score(const Image<T, MemorySpace>& image,
                                      const Selection<MemorySpace>& selection = {}) {
  return z_score(typename MemorySpace::execution_space(), image, selection);
}
template <class T, class MemorySpace>
Image<real_t<T>, MemorySpace> z_score_of_clipped(const Image<T, MemorySpace>& image, double low,
                                                 double high,
                                                 const Selection<MemorySpace>& selection = {}) {
  return z_score_of_clipped(typename MemorySpace::execution_space(), image, low, high, selection);
}
template <class T, class MemorySpace>
Image<real_t<T>, MemorySpace> rescale_slope_intercept(const Image<T, MemorySpace>& image,
                                                      double slope, double intercept) {
  return rescale_slope_intercept(typename MemorySpace::execution_space(), image, slope, intercept);
}
template <class T, class R, class MemorySpace>
Image<real_t<T>, MemorySpace> histogram_match(const Image<T, MemorySpace>& image,
                                              const Image<R, MemorySpace>& reference,
                                              const HistogramMatchOptions& options = {}) {
  return histogram_match(typename MemorySpace::execution_space(), image, reference, options);
}
template <class M, class MemorySpace>
Image<std::uint8_t, MemorySpace> mask_of(const Image<M, MemorySpace>& labels) {
  return mask_of(typename MemorySpace::execution_space(), labels);
}

}  // namespace medimg
