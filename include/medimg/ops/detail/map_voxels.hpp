// How an intensity op runs (ops/intensity.hpp, ops/histogram_match.hpp):
// one Kokkos kernel maps every voxel through a value functor, reading the
// voxels through SelectedVoxels (a mask, the non-zero ones, or all; clipped
// as read where asked); the functors are the ops' maps.
#pragma once

#include <Kokkos_Core.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "medimg/core/error.hpp"
#include "medimg/core/image.hpp"
#include "medimg/core/kokkos_compat.hpp"
#include "medimg/core/pixel_cast.hpp"
#include "medimg/ops/selection.hpp"

namespace medimg::impl {

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

inline void check_range(double low, double high, const char* what) {
  if (!(std::isfinite(low) && std::isfinite(high) && low <= high)) {
    throw Error(std::string(what) + ": need finite low <= high, got [" + std::to_string(low) +
                ", " + std::to_string(high) + "]");
  }
}

}  // namespace medimg::impl
