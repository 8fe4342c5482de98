// Trilinear interpolation, as ITK's LinearInterpolateImageFunction: base
// index floor(c) clamped to >= 0, fraction c - base (<= 0 counts as 0), and
// the upper neighbour clamped to the last voxel, so at the borders the value
// is the edge voxel's (ITK's `val000` cases).
#pragma once

#include <cstddef>
#include <cstdint>

#include "medimg/core/host_hints.hpp"
#include "medimg/core/kokkos_compat.hpp"
#include "medimg/core/read_only.hpp"
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
  Size3 offset{};  // the image index of data(0, 0, 0) (a window of a distributed image)

  KOKKOS_INLINE_FUNCTION void axis_stencil(int axis, double c, stencil_type& s) const {
    std::int64_t base = static_cast<std::int64_t>(compat::floor(c));
    if (base < 0) base = 0;
    double fraction = c - static_cast<double>(base);
    if (fraction < 0.0) fraction = 0.0;
    const std::int64_t upper = base + 1 < size[axis] ? base + 1 : base;
    s.index[0] = base - offset[axis];
    s.index[1] = upper - offset[axis];
    s.weight[0] = static_cast<real_type>(1.0 - fraction);
    s.weight[1] = static_cast<real_type>(fraction);
  }

  // The stencil and the derivative of its weights with respect to c: (-1, 1)
  // where the fraction moves with c, 0 where the border clamps it.
  KOKKOS_INLINE_FUNCTION void axis_derivative(int axis, double c, stencil_type& s,
                                              real_type (&dw)[2]) const {
    axis_stencil(axis, c, s);
    const bool moves = c >= 0.0 && s.index[1] != s.index[0];
    dw[0] = moves ? real_type(-1) : real_type(0);
    dw[1] = moves ? real_type(1) : real_type(0);
  }

  KOKKOS_INLINE_FUNCTION void gradient(const Vec3& c, real_type (&g)[3]) const {
    stencil_type s[3];
    real_type dw[3][2];
    for (int a = 0; a < 3; ++a) axis_derivative(a, c[a], s[a], dw[a]);
    impl::tensor_gradient(data, s, dw, g);
  }

  // Where no clamping is needed: 0 <= c < n - 1 on every axis.
  static constexpr double interior_low = 0.0;
  static constexpr double interior_high_margin = 1.0;

  // The 8 voxels around c (v[x + 2 y + 4 z]) and c's fractions, for c
  // where no clamping is needed (c >= 0, so truncation is floor).
  struct Cell {
    real_type v[8];
    real_type tx, ty, tz;
  };
  KOKKOS_INLINE_FUNCTION Cell cell(const Vec3& c) const {
    const std::int64_t i = static_cast<std::int64_t>(c[0]);
    const std::int64_t j = static_cast<std::int64_t>(c[1]);
    const std::int64_t k = static_cast<std::int64_t>(c[2]);
    const auto sy = static_cast<std::int64_t>(data.extent(0));
    const std::int64_t sz = sy * static_cast<std::int64_t>(data.extent(1));
    const auto* p = data.data() + (i - offset[0]) + sy * (j - offset[1]) + sz * (k - offset[2]);
    return Cell{
        {static_cast<real_type>(read_only(p)), static_cast<real_type>(read_only(p + 1)),
         static_cast<real_type>(read_only(p + sy)), static_cast<real_type>(read_only(p + sy + 1)),
         static_cast<real_type>(read_only(p + sz)), static_cast<real_type>(read_only(p + sz + 1)),
         static_cast<real_type>(read_only(p + sz + sy)),
         static_cast<real_type>(read_only(p + sz + sy + 1))},
        static_cast<real_type>(c[0] - static_cast<double>(i)),
        static_cast<real_type>(c[1] - static_cast<double>(j)),
        static_cast<real_type>(c[2] - static_cast<double>(k))};
  }

  // interior() along output row voxels [a, b) whose index moves along i
  // only (c = (c0[0] + x step, c0[1], c0[2]), x = i0 + i): the same
  // arithmetic, with the row's j, k, their fractions and its four input rows
  // hoisted out of the loop. The resample kernel uses it on host backends.
  static constexpr bool has_interior_line = true;
  template <class Out, class Cast>
  KOKKOS_INLINE_FUNCTION void interior_line(const Vec3& c0, double step, std::int64_t i0,
                                            std::int64_t a, std::int64_t b,
                                            Out* KOKKOS_RESTRICT out, Cast cast) const {
    const std::int64_t j = static_cast<std::int64_t>(c0[1]);
    const std::int64_t k = static_cast<std::int64_t>(c0[2]);
    const auto sy = static_cast<std::int64_t>(data.extent(0));
    const std::int64_t sz = sy * static_cast<std::int64_t>(data.extent(1));
    const auto* r00 = data.data() - offset[0] + sy * (j - offset[1]) + sz * (k - offset[2]);
    const auto* r10 = r00 + sy;
    const auto* r01 = r00 + sz;
    const auto* r11 = r01 + sy;
    const auto ty = static_cast<real_type>(c0[1] - static_cast<double>(j));
    const auto tz = static_cast<real_type>(c0[2] - static_cast<double>(k));
    for (std::int64_t i = a; i < b; ++i) {
      const double c = c0[0] + static_cast<double>(i0 + i) * step;
      const std::int64_t x = static_cast<std::int64_t>(c);
      const auto tx = static_cast<real_type>(c - static_cast<double>(x));
      out[i] = cast(blend(Cell{{static_cast<real_type>(r00[x]), static_cast<real_type>(r00[x + 1]),
                                static_cast<real_type>(r10[x]), static_cast<real_type>(r10[x + 1]),
                                static_cast<real_type>(r01[x]), static_cast<real_type>(r01[x + 1]),
                                static_cast<real_type>(r11[x]), static_cast<real_type>(r11[x + 1])},
                               tx,
                               ty,
                               tz}));
    }
  }

  // interior() along output row voxels [a, b) at any affine step, c =
  // c0 + (i0 + i) step, in chunks of `row_chunk`: first every voxel's cell
  // (a flat offset and three fractions: a loop of double arithmetic that
  // compilers vectorise), then the blends from those offsets. The same
  // values, lerped in the same order as interior(): bit for bit. The host
  // resample kernel uses it for rows that cross input rows (rotations).
  static constexpr bool has_interior_steps = true;
  static constexpr int row_chunk = 256;
  template <class Out, class Cast>
  KOKKOS_INLINE_FUNCTION void interior_steps(const Vec3& c0, const Vec3& step, std::int64_t i0,
                                             std::int64_t a, std::int64_t b,
                                             Out* KOKKOS_RESTRICT out, Cast cast) const {
    const auto sy = static_cast<std::int64_t>(data.extent(0));
    const std::int64_t sz = sy * static_cast<std::int64_t>(data.extent(1));
    const auto* KOKKOS_RESTRICT base = data.data() - offset[0] - sy * offset[1] - sz * offset[2];
    // Interior c is >= 0 and below the extent on every axis: the truncations
    // fit 32 bits, and the unsigned products are the compilers' widening
    // multiply.
    const auto usy = static_cast<std::uint64_t>(sy), usz = static_cast<std::uint64_t>(sz);
    std::int64_t at[row_chunk];
    real_type tx[row_chunk], ty[row_chunk], tz[row_chunk];
    for (std::int64_t first = a; first < b; first += row_chunk) {
      const int n = static_cast<int>(b - first < row_chunk ? b - first : row_chunk);
      for (int m = 0; m < n; ++m) {
        const double x = static_cast<double>(i0 + first + m);
        const double cx = c0[0] + x * step[0];
        const double cy = c0[1] + x * step[1];
        const double cz = c0[2] + x * step[2];
        const auto ix = static_cast<std::int32_t>(cx);
        const auto iy = static_cast<std::int32_t>(cy);
        const auto iz = static_cast<std::int32_t>(cz);
        at[m] = static_cast<std::int64_t>(
            static_cast<std::uint64_t>(static_cast<std::uint32_t>(ix)) +
            usy * static_cast<std::uint32_t>(iy) + usz * static_cast<std::uint32_t>(iz));
        tx[m] = static_cast<real_type>(cx - static_cast<double>(ix));
        ty[m] = static_cast<real_type>(cy - static_cast<double>(iy));
        tz[m] = static_cast<real_type>(cz - static_cast<double>(iz));
      }
      Out* KOKKOS_RESTRICT o = out + first;
      for (int m = 0; m < n; ++m) {
        const auto* p = base + at[m];
        o[m] = cast(blend(
            Cell{{static_cast<real_type>(read_only(p)), static_cast<real_type>(read_only(p + 1)),
                  static_cast<real_type>(read_only(p + sy)),
                  static_cast<real_type>(read_only(p + sy + 1)),
                  static_cast<real_type>(read_only(p + sz)),
                  static_cast<real_type>(read_only(p + sz + 1)),
                  static_cast<real_type>(read_only(p + sz + sy)),
                  static_cast<real_type>(read_only(p + sz + sy + 1))},
                 tx[m],
                 ty[m],
                 tz[m]}));
      }
    }
  }

  // Asks the cache for the cells interior_steps reads along c0 + (i0 + i)
  // step for i in [a, b) (host kernels: the row kernel asks for the row four
  // rows ahead): the four input rows of one voxel in eight. A linear rotation by 10 degrees of a
  // 256^3 volume on one thread: 92 ms without; 95, 73, 67, 68, 69 ms with the row 1, 2, 3, 4, 6
  // rows ahead (one voxel in 16: 100, 89, 73, 67, 68 ms).
  KOKKOS_INLINE_FUNCTION void prefetch_steps(const Vec3& c0, const Vec3& step, std::int64_t i0,
                                             std::int64_t a, std::int64_t b) const {
    impl::prefetch_along(data, offset, c0, step, i0, a, b, 0.0, true);
  }

  KOKKOS_INLINE_FUNCTION real_type interior(const Vec3& c) const { return blend(cell(c)); }

  KOKKOS_INLINE_FUNCTION static real_type lerp(real_type p, real_type q, real_type t) {
    return p + (q - p) * t;
  }

  // The trilinear value of a cell: along x, then y, then z.
  KOKKOS_INLINE_FUNCTION static real_type blend(const Cell& q) {
    return yz_stage(lerp(q.v[0], q.v[1], q.tx), lerp(q.v[2], q.v[3], q.tx),
                    lerp(q.v[4], q.v[5], q.tx), lerp(q.v[6], q.v[7], q.tx), q.ty, q.tz);
  }

  // blend() in two stages, for kernels that share the x stage of one input
  // row between output rows (ResampleAxisAlignedPlanes): x_stage gives, for
  // output row voxels [a, b) at x_positions, the x-interpolated values of
  // input row (y, z); yz_stage combines four of them.
  static constexpr bool has_stages = true;
  KOKKOS_INLINE_FUNCTION static real_type yz_stage(real_type x00, real_type x10, real_type x01,
                                                   real_type x11, real_type ty, real_type tz) {
    return lerp(lerp(x00, x10, ty), lerp(x01, x11, ty), tz);
  }
  template <class Out, class Cast>
  KOKKOS_INLINE_FUNCTION static void yz_stage_row(
      const real_type* KOKKOS_RESTRICT x00, const real_type* KOKKOS_RESTRICT x10,
      const real_type* KOKKOS_RESTRICT x01, const real_type* KOKKOS_RESTRICT x11, real_type ty,
      real_type tz, std::int64_t a, std::int64_t b, Out* KOKKOS_RESTRICT out, Cast cast) {
    for (std::int64_t i = a; i < b; ++i) {
      out[i] = cast(yz_stage(x00[i], x10[i], x01[i], x11[i], ty, tz));
    }
  }
  // Where output row voxels [a, b) fall along x (placed as in
  // interior_line): the input x (relative to data) and its fraction.
  void x_positions(double c00, double step, std::int64_t i0, std::int64_t a, std::int64_t b,
                   std::int64_t* KOKKOS_RESTRICT x_at, real_type* KOKKOS_RESTRICT tx_at) const {
    for (std::int64_t i = a; i < b; ++i) {
      const double c = c00 + static_cast<double>(i0 + i) * step;
      const std::int64_t x = static_cast<std::int64_t>(c);
      x_at[i] = x - offset[0];
      tx_at[i] = static_cast<real_type>(c - static_cast<double>(x));
    }
  }
  // Host kernels only (ResampleAxisAlignedPlanes), from here to
  // border_line. A scalar loop: on the machine this project measures on
  // (an AMD EPYC with AVX-512) two plain loads per voxel beat the SIMD
  // gathers compilers make of this loop (a 256^3 -> 1.5 mm resample on one
  // thread, rows prefetched: 12.5 ms scalar, 14.9 ms with gathers;
  // host_hints.hpp). The same values and lerps either way.
  void x_stage(const std::int64_t* KOKKOS_RESTRICT x_at, const real_type* KOKKOS_RESTRICT tx_at,
               std::int64_t y, std::int64_t z, std::int64_t a, std::int64_t b,
               real_type* KOKKOS_RESTRICT xs) const {
    const value_type* KOKKOS_RESTRICT r = row(y, z);
    for (std::int64_t i = a; i < b; ++i) {
      std::int64_t x = x_at[i];
      hint::opaque(x);
      xs[i] = lerp(static_cast<real_type>(r[x]), static_cast<real_type>(r[x + 1]), tx_at[i]);
    }
  }

  // Asks the cache for input row (y, z) from x_first to x_last + 1 (the
  // voxels x_stage reads), when that row is in `data` (else nothing): the
  // host plane kernel asks for rows two output rows ahead.
  void prefetch_row(std::int64_t y, std::int64_t z, std::int64_t x_first,
                    std::int64_t x_last) const {
    const std::int64_t yy = y - offset[1], zz = z - offset[2];
    if (yy < 0 || zz < 0 || yy >= static_cast<std::int64_t>(data.extent(1)) ||
        zz >= static_cast<std::int64_t>(data.extent(2)) || x_first > x_last || x_first < 0 ||
        x_last + 1 >= static_cast<std::int64_t>(data.extent(0))) {
      return;
    }
    hint::prefetch_range(row(y, z) + x_first,
                         static_cast<std::size_t>(x_last + 2 - x_first) * sizeof(value_type));
  }

  // operator() along a run of voxels of an output row whose index moves
  // along i only, c = (c0x + (x0 + n) step, cy, cz) for n in [0, count):
  // the same stencils and sums, with the row's y and z stencils computed
  // once (the plane kernel's border rows and row ends).
  static constexpr bool has_border_line = true;
  template <class Out, class Cast>
  void border_line(double c0x, double step, std::int64_t x0, std::int64_t count, double cy,
                   double cz, Out* KOKKOS_RESTRICT out, Cast cast) const {
    stencil_type s0, s1, s2;
    axis_stencil(1, cy, s1);
    axis_stencil(2, cz, s2);
    for (std::int64_t n = 0; n < count; ++n) {
      axis_stencil(0, c0x + static_cast<double>(x0 + n) * step, s0);
      out[n] = cast(impl::tensor_sum(data, s0, s1, s2));
    }
  }

  // Input row (y, z), indexed by x relative to data (as x_positions gives).
  const value_type* row(std::int64_t y, std::int64_t z) const {
    const auto sy = static_cast<std::int64_t>(data.extent(0));
    const std::int64_t sz = sy * static_cast<std::int64_t>(data.extent(1));
    return data.data() + sy * (y - offset[1]) + sz * (z - offset[2]);
  }

  // gradient() where interior() applies.
  KOKKOS_INLINE_FUNCTION void interior_gradient(const Vec3& c, real_type (&grad)[3]) const {
    const Cell q = cell(c);
    const real_type da = q.v[1] - q.v[0], db = q.v[3] - q.v[2];
    const real_type dd = q.v[5] - q.v[4], de = q.v[7] - q.v[6];
    const real_type a = q.v[0] + da * q.tx, b = q.v[2] + db * q.tx;
    const real_type d = q.v[4] + dd * q.tx, e = q.v[6] + de * q.tx;
    const real_type dx0 = da + (db - da) * q.ty, dx1 = dd + (de - dd) * q.ty;
    grad[0] = dx0 + (dx1 - dx0) * q.tz;
    grad[1] = (b - a) + ((e - d) - (b - a)) * q.tz;
    grad[2] = (d + (e - d) * q.ty) - (a + (b - a) * q.ty);
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
