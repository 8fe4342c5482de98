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
//   histogram_match(img, reference)  ops/histogram_match.hpp (included here)
//
// Normalising ops return real_t<T> (double for double images, else float).
#pragma once

#include <Kokkos_Core.hpp>
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
#include "medimg/ops/detail/map_voxels.hpp"
#include "medimg/ops/detail/moments.hpp"
#include "medimg/ops/detail/order_statistics.hpp"
#include "medimg/ops/histogram_match.hpp"
#include "medimg/ops/selection.hpp"

namespace medimg {

namespace impl {

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
template <class M, class MemorySpace>
Image<std::uint8_t, MemorySpace> mask_of(const Image<M, MemorySpace>& labels) {
  return mask_of(typename MemorySpace::execution_space(), labels);
}

}  // namespace medimg
