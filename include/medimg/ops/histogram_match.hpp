// Histogram matching (included by ops/intensity.hpp).
//
// histogram_match(img, reference): a piecewise-linear map through quantile
// landmarks (ITK HistogramMatchingImageFilter's model, with exact quantiles
// instead of ITK's 256-level histograms): landmarks 0 and M + 1 are each
// image's minimum and maximum, landmarks j = 1..M the j / (M + 1) quantiles
// of the voxels above the image's mean (or of all voxels); values map by
// numpy.interp(x, source, reference).
//
// Returns real_t<T> (double for double images, else float).
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/image.hpp"
#include "medimg/ops/detail/map_voxels.hpp"
#include "medimg/ops/detail/moments.hpp"
#include "medimg/ops/detail/order_statistics.hpp"
#include "medimg/ops/selection.hpp"

namespace medimg {

struct HistogramMatchOptions {
  int match_points = 7;           // landmarks between minimum and maximum (ITK's match points)
  bool threshold_at_mean = true;  // quantiles of the voxels above the mean only
};

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

// On the image's default execution space.
template <class T, class R, class MemorySpace>
Image<real_t<T>, MemorySpace> histogram_match(const Image<T, MemorySpace>& image,
                                              const Image<R, MemorySpace>& reference,
                                              const HistogramMatchOptions& options = {}) {
  return histogram_match(typename MemorySpace::execution_space(), image, reference, options);
}

}  // namespace medimg
