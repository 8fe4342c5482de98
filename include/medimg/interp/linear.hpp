// Trilinear interpolation, as ITK's LinearInterpolateImageFunction: base
// index floor(c) clamped to >= 0, fraction c - base (<= 0 counts as 0), and
// the upper neighbour clamped to the last voxel, so at the borders the value
// is the edge voxel's (ITK's `val000` cases).
#pragma once

#include "medimg/core/kokkos_compat.hpp"
#include "medimg/interp/interpolator.hpp"

namespace medimg {

template <class View>
struct LinearInterpolator {
  using value_type = typename View::non_const_value_type;
  using real_type = interp_real_t<value_type>;
  using stencil_type = AxisStencil<2, real_type>;
  static constexpr int support = 2;

  View data;
  Size3 size;

  KOKKOS_INLINE_FUNCTION void axis_stencil(int axis, double c, stencil_type& s) const {
    std::int64_t base = static_cast<std::int64_t>(compat::floor(c));
    if (base < 0) base = 0;
    double fraction = c - static_cast<double>(base);
    if (fraction < 0.0) fraction = 0.0;
    const std::int64_t upper = base + 1 < size[axis] ? base + 1 : base;
    s.index[0] = base;
    s.index[1] = upper;
    s.weight[0] = static_cast<real_type>(1.0 - fraction);
    s.weight[1] = static_cast<real_type>(fraction);
  }

  KOKKOS_INLINE_FUNCTION real_type operator()(const Vec3& c) const {
    stencil_type s0, s1, s2;
    axis_stencil(0, c[0], s0);
    axis_stencil(1, c[1], s1);
    axis_stencil(2, c[2], s2);
    return impl::tensor_sum(data, s0, s1, s2);
  }
};

}  // namespace medimg
