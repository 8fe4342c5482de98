// pixel_cast<Out>(x): one voxel value converted to another pixel type the way
// every medimg kernel does it. Integer outputs round to nearest (half up,
// floor(x + 0.5)) and clamp to the type's range; NaN becomes 0. Floating
// outputs are a plain conversion. ITK's ResampleImageFilter truncates instead
// of rounding: a deliberate, documented difference (DESIGN.md section 3).
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "medimg/core/kokkos_compat.hpp"

namespace medimg {

template <class T>
struct PixelRange {
  static constexpr double lowest = static_cast<double>(std::numeric_limits<T>::lowest());
  static constexpr double highest = static_cast<double>(std::numeric_limits<T>::max());
};

template <class Out, class In>
KOKKOS_INLINE_FUNCTION Out pixel_cast(In x) {
  if constexpr (std::is_floating_point_v<Out>) {
    return static_cast<Out>(x);
  } else {
    // Selects, no branches, so that loops of casts vectorise.
    double v = static_cast<double>(x);
    if constexpr (std::is_floating_point_v<In>) v = compat::floor(v + 0.5);
    v = v < PixelRange<Out>::lowest ? PixelRange<Out>::lowest : v;  // NaN stays NaN
    v = v > PixelRange<Out>::highest ? PixelRange<Out>::highest : v;
    if constexpr (std::is_floating_point_v<In>) v = v == v ? v : 0.0;  // NaN -> 0
    return static_cast<Out>(v);
  }
}

namespace impl {

// output[n] = pixel_cast<Out>(input[n]): the kernel of cast<Out>, of the
// B-spline coefficient copies and of the distributed cast (a functor, as
// nvcc needs; see docs/ARCHITECTURE.md).
template <class Out, class In>
struct CastVoxels {
  const In* input;
  Out* output;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t n) const {
    output[n] = pixel_cast<Out>(input[n]);
  }
};

}  // namespace impl

}  // namespace medimg
