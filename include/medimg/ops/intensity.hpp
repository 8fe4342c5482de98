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
#include "medimg/ops/detail/moments.hpp"
#include "medimg/ops/detail/order_statistics.hpp"
#include "medimg/ops/selection.hpp"

namespace medimg {

struct HistogramMatchOptions {
  int match_points = 7;           // landmarks between minimum and maximum (ITK's match points)
  bool threshold_at_mean = true;  // quantiles of the voxels above the mean only
};

namespace impl {

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
