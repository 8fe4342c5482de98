// Nearest-neighbour interpolation, as ITK's NearestNeighborInterpolateImageFunction:
// index = floor(c + 0.5) (round half up), clamped into the image. Never
// invents a value: label maps stay label maps.
#pragma once

#include "medimg/core/kokkos_compat.hpp"
#include "medimg/core/read_only.hpp"
#include "medimg/interp/interpolator.hpp"

namespace medimg {

template <class View>
struct NearestInterpolator {
  using value_type = typename View::non_const_value_type;
  using real_type = interp_real_t<value_type>;
  using stencil_type = AxisStencil<1, real_type>;
  static constexpr int support = 1;

  View data;  // (nx, ny, nz), LayoutLeft
  Size3 size;
  Size3 offset{};  // the image index of data(0, 0, 0) (a window of a distributed image)

  KOKKOS_INLINE_FUNCTION void axis_stencil(int axis, double c, stencil_type& s) const {
    std::int64_t i = static_cast<std::int64_t>(compat::floor(c + 0.5));
    if (i < 0) i = 0;
    if (i > size[axis] - 1) i = size[axis] - 1;
    s.index[0] = i - offset[axis];
    s.weight[0] = real_type(1);
  }

  // Piecewise constant: the derivative is 0 wherever it exists.
  KOKKOS_INLINE_FUNCTION void gradient(const Vec3&, real_type (&g)[3]) const {
    g[0] = g[1] = g[2] = real_type(0);
  }

  KOKKOS_INLINE_FUNCTION void interior_gradient(const Vec3& c, real_type (&g)[3]) const {
    gradient(c, g);
  }

  // Where no clamping is needed: the whole inside range.
  static constexpr double interior_low = -0.5;
  static constexpr double interior_high_margin = 0.5;  // c < n - margin

  // For c with interior_low <= c < n - interior_high_margin on every axis.
  KOKKOS_INLINE_FUNCTION real_type interior(const Vec3& c) const {
    const std::int64_t i = static_cast<std::int64_t>(c[0] + 0.5) - offset[0];
    const std::int64_t j = static_cast<std::int64_t>(c[1] + 0.5) - offset[1];
    const std::int64_t k = static_cast<std::int64_t>(c[2] + 0.5) - offset[2];
    const auto nx = static_cast<std::int64_t>(data.extent(0));
    const auto ny = static_cast<std::int64_t>(data.extent(1));
    return static_cast<real_type>(read_only(data.data() + i + nx * (j + ny * k)));
  }

  // interior() along output row voxels [a, b) at any affine step, c =
  // c0 + (i0 + i) step, in chunks of `row_chunk`: first every voxel's flat
  // offset (double arithmetic that compilers vectorise), then the loads (a
  // gather). The same voxel as interior(). The host resample kernel uses it.
  static constexpr bool has_interior_steps = true;
  static constexpr int row_chunk = 256;
  template <class Out, class Cast>
  KOKKOS_INLINE_FUNCTION void interior_steps(const Vec3& c0, const Vec3& step, std::int64_t i0,
                                             std::int64_t a, std::int64_t b,
                                             Out* KOKKOS_RESTRICT out, Cast cast) const {
    const auto nx = static_cast<std::int64_t>(data.extent(0));
    const std::int64_t nxy = nx * static_cast<std::int64_t>(data.extent(1));
    const auto* KOKKOS_RESTRICT base = data.data() - offset[0] - nx * offset[1] - nxy * offset[2];
    // Interior c + 0.5 is >= 0 and below the extent: the truncations fit 32
    // bits, and the unsigned products are the compilers' widening multiply.
    const auto unx = static_cast<std::uint64_t>(nx), unxy = static_cast<std::uint64_t>(nxy);
    std::int64_t at[row_chunk];
    for (std::int64_t first = a; first < b; first += row_chunk) {
      const int n = static_cast<int>(b - first < row_chunk ? b - first : row_chunk);
      for (int m = 0; m < n; ++m) {
        const double x = static_cast<double>(i0 + first + m);
        const auto ix =
            static_cast<std::uint32_t>(static_cast<std::int32_t>(c0[0] + x * step[0] + 0.5));
        const auto iy =
            static_cast<std::uint32_t>(static_cast<std::int32_t>(c0[1] + x * step[1] + 0.5));
        const auto iz =
            static_cast<std::uint32_t>(static_cast<std::int32_t>(c0[2] + x * step[2] + 0.5));
        at[m] = static_cast<std::int64_t>(ix + unx * iy + unxy * iz);
      }
      Out* KOKKOS_RESTRICT o = out + first;
      for (int m = 0; m < n; ++m) o[m] = cast(static_cast<real_type>(read_only(base + at[m])));
    }
  }

  // Asks the cache for the voxels interior_steps reads along c0 + (i0 + i)
  // step for i in [a, b), one in eight (the row kernel asks for the row
  // four rows ahead, as for linear).
  KOKKOS_INLINE_FUNCTION void prefetch_steps(const Vec3& c0, const Vec3& step, std::int64_t i0,
                                             std::int64_t a, std::int64_t b) const {
    impl::prefetch_along(data, offset, c0, step, i0, a, b, 0.5, false);
  }

  KOKKOS_INLINE_FUNCTION real_type operator()(const Vec3& c) const {
    stencil_type s0, s1, s2;
    axis_stencil(0, c[0], s0);
    axis_stencil(1, c[1], s1);
    axis_stencil(2, c[2], s2);
    return static_cast<real_type>(data(s0.index[0], s1.index[0], s2.index[0]));
  }
};

}  // namespace medimg
