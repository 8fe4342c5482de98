// resample: THE resampling kernel of medimg. Every geometric operation that
// interpolates is a configuration of it.
//
//   output(index) = interpolate(input, c)  if c is inside the input, else fill
//   c = input.physical_to_continuous_index(transform(output.index_to_physical(index)))
//
// The transform maps OUTPUT points to INPUT points (ITK's ResampleImageFilter).
// The output keeps the input's pixel type (resample) or takes another
// (resample_as<Out>); integers round to nearest and clamp (pixel_cast).
//
// Affine transforms take the row path: the continuous index is affine in the
// output index, c(i, j, k) = M (i, j, k) + b, so along a row it is
// c0 + i * step, and the range of i whose c is inside is solved once per row
// (then checked against the exact per-voxel test at its ends). One team per
// row, vector lanes over i: an inner SIMD loop on CPUs, coalesced rows on
// GPUs. Other transforms (displacement fields) take the per-voxel path.
#pragma once

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "medimg/core/image.hpp"
#include "medimg/core/kokkos_compat.hpp"
#include "medimg/core/pixel_cast.hpp"
#include "medimg/resample/sampler.hpp"
#include "medimg/transform/affine.hpp"

namespace medimg {

namespace impl {

// The index-to-index map of an affine resample: c = M idx + b.
struct IndexMap {
  Mat3 m;
  Vec3 b;

  // c at i = 0 of output row (j, k), and c at i along that row: the forward
  // kernel and its adjoint evaluate c with exactly these expressions.
  KOKKOS_INLINE_FUNCTION Vec3 row_start(std::int64_t j, std::int64_t k) const {
    const double y = static_cast<double>(j);
    const double z = static_cast<double>(k);
    return Vec3{b[0] + y * m[0][1] + z * m[0][2], b[1] + y * m[1][1] + z * m[1][2],
                b[2] + y * m[2][1] + z * m[2][2]};
  }
  KOKKOS_INLINE_FUNCTION Vec3 along_row(const Vec3& c0, std::int64_t i) const {
    const double x = static_cast<double>(i);
    return Vec3{c0[0] + x * m[0][0], c0[1] + x * m[1][0], c0[2] + x * m[2][0]};
  }
};

IndexMap index_map(const Geometry& output, const Geometry& input, const AffineTransform& transform);

// low <= c[a] < size[a] - high_margin on every axis: (-0.5, 0.5) is ITK's
// inside test, (interior_low, interior_high_margin) an interpolator's fast path.
KOKKOS_INLINE_FUNCTION bool within(const Vec3& c, const Size3& size, double low,
                                   double high_margin) {
  for (int a = 0; a < 3; ++a) {
    if (!(c[a] >= low && c[a] < static_cast<double>(size[a]) - high_margin)) return false;
  }
  return true;
}

// Interpolators with an `interior_line` (an axis-aligned row in one loop).
template <class Interpolator, class = void>
struct has_interior_line : std::false_type {};
template <class Interpolator>
struct has_interior_line<Interpolator, std::enable_if_t<Interpolator::has_interior_line>>
    : std::true_type {};

// Interpolators with an `interior_steps` (any affine row, in chunks).
template <class Interpolator, class = void>
struct has_interior_steps : std::false_type {};
template <class Interpolator>
struct has_interior_steps<Interpolator, std::enable_if_t<Interpolator::has_interior_steps>>
    : std::true_type {};

// Interpolators with a `border_line` (the clamping sampler along an
// axis-aligned row, its y and z stencils hoisted).
template <class Interpolator, class = void>
struct has_border_line : std::false_type {};
template <class Interpolator>
struct has_border_line<Interpolator, std::enable_if_t<Interpolator::has_border_line>>
    : std::true_type {};

// Interpolators with a `prefetch_steps` (host rows ask for their input ahead).
template <class Interpolator, class = void>
struct has_prefetch_steps : std::false_type {};
template <class Interpolator>
struct has_prefetch_steps<Interpolator,
                          std::void_t<decltype(std::declval<const Interpolator&>().prefetch_steps(
                              Vec3{}, Vec3{}, std::int64_t{}, std::int64_t{}, std::int64_t{}))>>
    : std::true_type {};

// Interpolators whose interior value comes in an x stage and a yz stage
// (x_stage, yz_stage: ResampleAxisAlignedPlanes).
template <class Interpolator, class = void>
struct has_stages : std::false_type {};
template <class Interpolator>
struct has_stages<Interpolator, std::enable_if_t<Interpolator::has_stages>> : std::true_type {};

// pixel_cast<Out> as a function object the samplers' row loops take (a
// functor, callable in kernels: a lambda's operator() would be host-only
// under nvcc).
template <class Out>
struct PixelCastTo {
  template <class V>
  KOKKOS_INLINE_FUNCTION Out operator()(V v) const {
    return pixel_cast<Out>(v);
  }
};

template <class ExecutionSpace, class OutView, class Interpolator>
struct ResampleAffineRows {
  using Out = typename OutView::non_const_value_type;
  OutView out;
  Interpolator interp;
  IndexMap map;
  Size3 in_size;
  std::int64_t nx, ny;
  Out fill;
  std::int64_t k0 = 0;  // output plane k of out(., ., 0) (a slab of a distributed output)
  // A region of the map's output grid: out(i, j, k) is the grid's voxel
  // (i0 + i, j0 + j, k0 + k), computed exactly as for the whole grid; with
  // `boxed`, voxels outside [box_lo, box_hi) of the grid get `pad` (a
  // resample followed by crops and pads, fused into one pass).
  std::int64_t i0 = 0, j0 = 0;
  bool boxed = false;
  Size3 box_lo{}, box_hi{};
  Out pad{};

  KOKKOS_INLINE_FUNCTION Vec3 index_at(const Vec3& c0, std::int64_t i) const {
    return map.along_row(c0, i0 + i);
  }

  KOKKOS_INLINE_FUNCTION bool within(const Vec3& c, double low, double high_margin) const {
    return impl::within(c, in_size, low, high_margin);
  }

  // [lo, hi): the i of this row whose index is `within` the bounds (a
  // contiguous range: the bounds are a box, the row a line). Solved by
  // division, then settled at both ends by the exact per-voxel test.
  KOKKOS_INLINE_FUNCTION void range_within(const Vec3& c0, double low, double high_margin,
                                           std::int64_t& lo, std::int64_t& hi) const {
    // In the grid's index along the row (i0 + i), then back to i.
    double first = static_cast<double>(i0);
    double last = static_cast<double>(i0 + nx);
    if (boxed) {
      first = compat::fmax(first, static_cast<double>(box_lo[0]));
      last = compat::fmin(last, static_cast<double>(box_hi[0]));
    }
    for (int a = 0; a < 3; ++a) {
      const double s = map.m[a][0];
      const double below = low - c0[a];
      const double above = static_cast<double>(in_size[a]) - high_margin - c0[a];
      if (s == 0.0) {
        if (!(0.0 >= below && 0.0 < above)) last = -1.0;
      } else if (s > 0.0) {
        first = compat::fmax(first, compat::ceil(below / s));
        last = compat::fmin(last, compat::ceil(above / s));
      } else {
        first = compat::fmax(first, compat::floor(above / s) + 1.0);
        last = compat::fmin(last, compat::floor(below / s) + 1.0);
      }
    }
    if (!(last > first)) {
      lo = hi = 0;
      return;
    }
    lo = static_cast<std::int64_t>(first) - i0;
    hi = static_cast<std::int64_t>(last) - i0;
    // The row's own limits: [0, nx), within the box.
    std::int64_t begin = 0, end = nx;
    if (boxed) {
      begin = begin > box_lo[0] - i0 ? begin : box_lo[0] - i0;
      end = end < box_hi[0] - i0 ? end : box_hi[0] - i0;
    }
    while (lo < hi && !within(index_at(c0, lo), low, high_margin)) ++lo;
    while (hi > lo && !within(index_at(c0, hi - 1), low, high_margin)) --hi;
    if (lo == hi) return;
    while (lo > begin && within(index_at(c0, lo - 1), low, high_margin)) --lo;
    while (hi < end && within(index_at(c0, hi), low, high_margin)) ++hi;
  }

  // The parts of output row (j, k): [0, begin) and [end, nx) are padding
  // (outside the box); [begin, lo) and [hi, end) fill (outside the input);
  // [lo, a) and [b, hi) the clamping sampler; [a, b) the interior sampler.
  struct Segments {
    std::int64_t begin, lo, a, b, hi, end;
    Vec3 c0;
  };
  KOKKOS_INLINE_FUNCTION Segments segments(const std::int64_t j, const std::int64_t k) const {
    Segments s{0, 0, 0, 0, 0, nx, Vec3{0.0, 0.0, 0.0}};
    if (boxed) {
      const bool row_inside =
          j0 + j >= box_lo[1] && j0 + j < box_hi[1] && k0 + k >= box_lo[2] && k0 + k < box_hi[2];
      const std::int64_t from = box_lo[0] - i0, to = box_hi[0] - i0;
      s.begin = !row_inside ? nx : (from < 0 ? 0 : (from > nx ? nx : from));
      s.end = !row_inside ? nx : (to < s.begin ? s.begin : (to > nx ? nx : to));
      if (s.begin >= s.end) {
        s.lo = s.a = s.b = s.hi = s.begin;
        return s;
      }
    }
    s.c0 = map.row_start(j0 + j, k0 + k);
    // ITK's inside test, and the part of it where the stencil needs no
    // clamping or mirroring (the fast `interior` sampler).
    range_within(s.c0, -0.5, 0.5, s.lo, s.hi);
    range_within(s.c0, Interpolator::interior_low, Interpolator::interior_high_margin, s.a, s.b);
    if (s.a < s.lo || s.b > s.hi || s.a >= s.b) s.a = s.b = s.lo;
    if (s.lo >= s.hi) s.lo = s.hi = s.a = s.b = s.begin;
    return s;
  }

  KOKKOS_INLINE_FUNCTION Vec3 row_step() const {
    return Vec3{map.m[0][0], map.m[1][0], map.m[2][0]};
  }

  // The clamping sampler over row voxels [from, to): where the row moves
  // along the input's i only and the interpolator has a `border_line`, with
  // the row's y and z stencils computed once (the same values: c[1] and c[2]
  // are c0's along such a row).
  void border(const Segments& s, std::int64_t from, std::int64_t to, Out* row_out) const {
    if (from >= to) return;
    if constexpr (has_border_line<Interpolator>::value) {
      if (map.m[1][0] == 0.0 && map.m[2][0] == 0.0) {
        const Vec3 c = index_at(s.c0, from);
        interp.border_line(s.c0[0], map.m[0][0], i0 + from, to - from, c[1], c[2], row_out + from,
                           PixelCastTo<Out>{});
        return;
      }
    }
    for (std::int64_t i = from; i < to; ++i)
      row_out[i] = pixel_cast<Out>(interp(index_at(s.c0, i)));
  }

  // Host loops over the non-interior segments of a row.
  void edges(const Segments& s, Out* row_out) const {
    for (std::int64_t i = 0; i < s.begin; ++i) row_out[i] = pad;
    for (std::int64_t i = s.end; i < nx; ++i) row_out[i] = pad;
    for (std::int64_t i = s.begin; i < s.lo; ++i) row_out[i] = fill;
    border(s, s.lo, s.a, row_out);
    border(s, s.b, s.hi, row_out);
    for (std::int64_t i = s.hi; i < s.end; ++i) row_out[i] = fill;
  }

  template <class Member>
  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const std::int64_t row = team.league_rank();
    this->row(team, row % ny, row / ny);
  }

  // Output row (j, k) by one team (the batched kernel calls it per item).
  template <class Member>
  KOKKOS_INLINE_FUNCTION void row(const Member& team, const std::int64_t j,
                                  const std::int64_t k) const {
    Out* row_out = &out(0, j, k);
    const Segments s = segments(j, k);
    // Only the short end segments visit the clamping sampler or the fill.
    auto assign = [&](std::int64_t from, std::int64_t to, Out value) {
      Kokkos::parallel_for(Kokkos::TeamVectorRange(team, from, to),
                           [&](const std::int64_t i) { row_out[i] = value; });
    };
    auto border_range = [&](std::int64_t from, std::int64_t to) {
      Kokkos::parallel_for(Kokkos::TeamVectorRange(team, from, to), [&](const std::int64_t i) {
        row_out[i] = pixel_cast<Out>(interp(index_at(s.c0, i)));
      });
    };
    assign(0, s.begin, pad);
    assign(s.end, nx, pad);
    if (s.begin >= s.end) return;
    assign(s.begin, s.lo, fill);
    border_range(s.lo, s.a);
    border_range(s.b, s.hi);
    assign(s.hi, s.end, fill);
    const Vec3 step = row_step();
    if constexpr (Kokkos::SpaceAccessibility<ExecutionSpace, Kokkos::HostSpace>::accessible) {
      // Host backends: a team is one thread; a plain loop over a restrict
      // pointer is what compilers turn into SIMD gathers.
      if constexpr (has_prefetch_steps<Interpolator>::value) {
        // The input cells of the row four rows on, asked for ahead (its
        // range taken as this row's: they differ by a voxel or so).
        const std::int64_t next = j + 4;
        if (next < ny && s.a < s.b) {
          interp.prefetch_steps(map.row_start(j0 + next, k0 + k), step, i0, s.a, s.b);
        }
      }
      interior_row(s.c0, step, s.a, s.b, row_out);
    } else {
      const Vec3 c0 = s.c0;
      Kokkos::parallel_for(Kokkos::TeamVectorRange(team, s.a, s.b), [&](const std::int64_t i) {
        const double x = static_cast<double>(i0 + i);
        row_out[i] = pixel_cast<Out>(
            interp.interior(Vec3{c0[0] + x * step[0], c0[1] + x * step[1], c0[2] + x * step[2]}));
      });
    }
  }

  KOKKOS_INLINE_FUNCTION void interior_row(const Vec3 c0, const Vec3 step, const std::int64_t a,
                                           const std::int64_t b,
                                           Out* KOKKOS_RESTRICT row_out) const {
    if constexpr (has_interior_line<Interpolator>::value) {
      // The row moves along the input's i only (axis-aligned resampling).
      if (step[1] == 0.0 && step[2] == 0.0) {
        interp.interior_line(c0, step[0], i0, a, b, row_out, PixelCastTo<Out>{});
        return;
      }
    }
    if constexpr (has_interior_steps<Interpolator>::value) {
      interp.interior_steps(c0, step, i0, a, b, row_out, PixelCastTo<Out>{});
    } else {
      for (std::int64_t i = a; i < b; ++i) {
        const double x = static_cast<double>(i0 + i);
        row_out[i] = pixel_cast<Out>(
            interp.interior(Vec3{c0[0] + x * step[0], c0[1] + x * step[1], c0[2] + x * step[2]}));
      }
    }
  }
};

// Host backends, axis-aligned resampling with an interpolator that has
// stages (linear): the x stage of an input row does not depend on the output
// row that reads it. Each thread takes a run of output planes and keeps the x
// stage of every input row it used, for the last two input planes, so an
// input row is interpolated along x once per thread instead of once for each
// of the (2 to 5, when thick slices are upsampled) output rows that read it;
// the y and z stages are contiguous loops. Bit for bit ResampleAffineRows:
// the same lerps of the same values in the same order.
template <class ExecutionSpace, class OutView, class Interpolator>
struct ResampleAxisAlignedPlanes {
  using Rows = ResampleAffineRows<ExecutionSpace, OutView, Interpolator>;
  using Out = typename Rows::Out;
  using Real = typename Interpolator::real_type;
  Rows rows;
  std::int64_t planes, parts;
  // stages(i, slot * in_ny + y, part): input row (y, z) with slot = z % 2;
  // tags(slot * in_ny + y, part): the z it holds, or -1.
  Kokkos::View<Real***, Kokkos::LayoutLeft, Kokkos::HostSpace> stages;
  Kokkos::View<std::int64_t**, Kokkos::LayoutLeft, Kokkos::HostSpace> tags;
  // x_at(i, part), tx_at(i, part): Interpolator::x_positions of the held range.
  Kokkos::View<std::int64_t**, Kokkos::LayoutLeft, Kokkos::HostSpace> x_at;
  Kokkos::View<Real**, Kokkos::LayoutLeft, Kokkos::HostSpace> tx_at;

  // M maps i to x only, j to y (and z may move y), k to z only.
  static bool applies(const IndexMap& map) {
    return map.m[1][0] == 0.0 && map.m[2][0] == 0.0 && map.m[0][1] == 0.0 && map.m[0][2] == 0.0 &&
           map.m[2][1] == 0.0;
  }

  void operator()(const std::int64_t part) const {
    const std::int64_t in_ny = rows.in_size[1];
    const std::int64_t first = part * planes / parts, last = (part + 1) * planes / parts;
    std::int64_t held_a = -1, held_b = -1;  // the [a, b) the held stages cover
    std::int64_t* xs_at = &x_at(0, part);
    Real* txs_at = &tx_at(0, part);
    // Input rows come from memory in time when asked for ahead (the
    // hardware prefetchers fetched them late, host_hints.hpp): each x stage
    // also asks for the row `dy` further on, where the output row `ahead`
    // rows on reads (dy = 0: none; negative along a flipped axis). A 256^3 -> 1.5 mm resample on
    // one thread: 17.5 ms without, 13.7 / 11.4 / 13.0 / 12.1 ms with `ahead` 1 to 4
    // (docs/PERFORMANCE.md).
    constexpr std::int64_t ahead = 2;
    std::int64_t x_first = 0, x_last = -1, dy = 0;
    auto stage = [&](std::int64_t y, std::int64_t z) -> const Real* {
      const std::int64_t slot = (z % 2) * in_ny + y;
      Real* xs = &stages(0, slot, part);
      if (tags(slot, part) != z) {
        if (dy != 0) rows.interp.prefetch_row(y + dy, z, x_first, x_last);
        rows.interp.x_stage(xs_at, txs_at, y, z, held_a, held_b, xs);
        tags(slot, part) = z;
      }
      return xs;
    };
    for (std::int64_t k = first; k < last; ++k) {
      for (std::int64_t j = 0; j < rows.ny; ++j) {
        Out* KOKKOS_RESTRICT row_out = &rows.out(0, j, k);
        const typename Rows::Segments s = rows.segments(j, k);
        rows.edges(s, row_out);
        if (s.a >= s.b) continue;
        if (s.a != held_a || s.b != held_b) {
          // Another x range (never, in practice: it is the same for every
          // row): drop what is held.
          for (std::int64_t t = 0; t < 2 * in_ny; ++t) tags(t, part) = -1;
          held_a = s.a;
          held_b = s.b;
          rows.interp.x_positions(s.c0[0], rows.map.m[0][0], rows.i0, held_a, held_b, xs_at,
                                  txs_at);
          x_first = std::min(xs_at[held_a], xs_at[held_b - 1]);
          x_last = std::max(xs_at[held_a], xs_at[held_b - 1]);
        }
        const std::int64_t y = static_cast<std::int64_t>(s.c0[1]);
        dy = 0;
        if (j + ahead < rows.ny) {
          const double y_ahead = rows.map.row_start(rows.j0 + j + ahead, rows.k0 + k)[1];
          if (y_ahead >= 0.0 && y_ahead < static_cast<double>(in_ny)) {
            dy = static_cast<std::int64_t>(y_ahead) - y;
          }
        }
        const std::int64_t z = static_cast<std::int64_t>(s.c0[2]);
        const auto ty = static_cast<Real>(s.c0[1] - static_cast<double>(y));
        const auto tz = static_cast<Real>(s.c0[2] - static_cast<double>(z));
        Interpolator::yz_stage_row(stage(y, z), stage(y + 1, z), stage(y, z + 1),
                                   stage(y + 1, z + 1), ty, tz, s.a, s.b, row_out,
                                   PixelCastTo<Out>{});
      }
    }
  }
};

// The row kernel writing region [start, start + size) of the map's output
// grid into `out`, with the voxels outside [keep_lo, keep_hi) of the grid
// set to `pad` (resample_region_as).
template <class ExecutionSpace, class OutView, class Interpolator>
ResampleAffineRows<ExecutionSpace, OutView, Interpolator> region_rows(
    const OutView& out, const Interpolator& interp, const IndexMap& map, const Size3& in_size,
    const Size3& start, const Size3& size, const Size3& keep_lo, const Size3& keep_hi,
    typename OutView::non_const_value_type fill, typename OutView::non_const_value_type pad) {
  ResampleAffineRows<ExecutionSpace, OutView, Interpolator> rows{out,     interp,  map,  in_size,
                                                                 size[0], size[1], fill, start[2]};
  rows.i0 = start[0];
  rows.j0 = start[1];
  rows.boxed = true;
  rows.box_lo = keep_lo;
  rows.box_hi = keep_hi;
  rows.pad = pad;
  return rows;
}

// Runs a configured ResampleAffineRows over `planes` output planes: one team
// per row, or ResampleAxisAlignedPlanes where it applies.
template <class ExecutionSpace, class OutView, class Interpolator>
void run_affine_rows(const ExecutionSpace& exec, const char* label,
                     const ResampleAffineRows<ExecutionSpace, OutView, Interpolator>& rows,
                     const std::int64_t planes) {
  if constexpr (Kokkos::SpaceAccessibility<ExecutionSpace, Kokkos::HostSpace>::accessible &&
                has_stages<Interpolator>::value) {
    using Planes = ResampleAxisAlignedPlanes<ExecutionSpace, OutView, Interpolator>;
    const std::int64_t parts = std::min<std::int64_t>(exec.concurrency(), planes);
    const auto bytes = static_cast<double>(rows.nx) * 2.0 * static_cast<double>(rows.in_size[1]) *
                       static_cast<double>(parts) * sizeof(typename Planes::Real);
    if (Planes::applies(rows.map) && parts > 0 && bytes <= 256.0 * (1 << 20)) {
      Planes functor{rows, planes, parts, {}, {}, {}, {}};
      functor.stages = decltype(functor.stages)(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::resample_x_stages"), rows.nx,
          2 * rows.in_size[1], parts);
      functor.tags = decltype(functor.tags)(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::resample_x_tags"),
          2 * rows.in_size[1], parts);
      Kokkos::deep_copy(exec, functor.tags, std::int64_t(-1));
      functor.x_at = decltype(functor.x_at)(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::resample_x_at"), rows.nx, parts);
      functor.tx_at = decltype(functor.tx_at)(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::resample_tx_at"), rows.nx,
          parts);
      Kokkos::parallel_for(label, Kokkos::RangePolicy<ExecutionSpace>(exec, 0, parts), functor);
      return;
    }
  }
  Kokkos::parallel_for(
      label,
      Kokkos::TeamPolicy<ExecutionSpace>(exec, static_cast<int>(rows.ny * planes), Kokkos::AUTO),
      rows);
}

template <class OutView, class Interpolator, class Transform>
struct ResamplePointwise {
  using Out = typename OutView::non_const_value_type;
  OutView out;
  Interpolator interp;
  Transform transform;
  Geometry out_geometry;
  Geometry in_geometry;
  Out fill;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i, const std::int64_t j,
                                         const std::int64_t k) const {
    const Vec3 p = out_geometry.index_to_physical(
        Vec3{static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
    const Vec3 c = in_geometry.physical_to_continuous_index(transform.apply(p));
    out(i, j, k) = in_geometry.is_inside(c) ? pixel_cast<Out>(interp(c)) : fill;
  }
};

}  // namespace impl

template <class Out, class ExecutionSpace, class T, class MemorySpace, class Transform>
Image<Out, MemorySpace> resample_as(const ExecutionSpace& exec, const Geometry& output,
                                    const Sampler<T, MemorySpace>& input,
                                    const Transform& transform, double fill = 0.0) {
  auto result = Image<Out, MemorySpace>::uninitialized(output, "medimg::resample");
  result.metadata() = input.image().metadata();
  using OutView = typename Image<Out, MemorySpace>::view_type;
  const Out fill_value = pixel_cast<Out>(fill);
  // `if constexpr` stays outside the generic lambdas: nvcc 11.8 instantiates
  // a discarded branch inside one.
  if constexpr (std::is_same_v<Transform, AffineTransform>) {
    const impl::IndexMap map = impl::index_map(output, input.geometry(), transform);
    input.visit([&](const auto& interp) {
      using Interpolator = std::decay_t<decltype(interp)>;
      impl::ResampleAffineRows<ExecutionSpace, OutView, Interpolator> functor{
          result.voxels(),  interp,           map,       input.geometry().size(),
          output.size()[0], output.size()[1], fill_value};
      impl::run_affine_rows(exec, "medimg::resample_affine", functor, output.size()[2]);
    });
  } else {
    input.visit([&](const auto& interp) {
      using Interpolator = std::decay_t<decltype(interp)>;
      impl::ResamplePointwise<OutView, Interpolator, Transform> functor{
          result.voxels(), interp, transform, output, input.geometry(), fill_value};
      using Policy = Kokkos::MDRangePolicy<ExecutionSpace, Kokkos::Rank<3, Kokkos::Iterate::Left>,
                                           Kokkos::IndexType<std::int64_t>>;
      Kokkos::parallel_for(
          "medimg::resample_pointwise",
          Policy(exec, {0, 0, 0}, {output.size()[0], output.size()[1], output.size()[2]}), functor);
    });
  }
  return result;
}

// The region [start, start + size) of resample_as onto `grid` (start may be
// negative, the region may reach past the grid), with the voxels outside
// [keep_lo, keep_hi) of the grid (a box within it) set to `pad`: bit for bit
// resample_as followed by crops and pads, without computing the voxels the
// crops drop (the pipeline fuses those steps). Affine transforms.
template <class Out, class ExecutionSpace, class T, class MemorySpace>
Image<Out, MemorySpace> resample_region_as(const ExecutionSpace& exec, const Geometry& grid,
                                           const Size3& start, const Size3& size,
                                           const Size3& keep_lo, const Size3& keep_hi,
                                           const Sampler<T, MemorySpace>& input,
                                           const AffineTransform& transform, double fill,
                                           double pad) {
  const Geometry region = region_grid(grid, start, size);
  auto result = Image<Out, MemorySpace>::uninitialized(region, "medimg::resample");
  result.metadata() = input.image().metadata();
  using OutView = typename Image<Out, MemorySpace>::view_type;
  input.visit([&](const auto& interp) {
    using Interpolator = std::decay_t<decltype(interp)>;
    impl::run_affine_rows(
        exec, "medimg::resample_region",
        impl::region_rows<ExecutionSpace, OutView, Interpolator>(
            result.voxels(), interp, impl::index_map(grid, input.geometry(), transform),
            input.geometry().size(), start, size, keep_lo, keep_hi, pixel_cast<Out>(fill),
            pixel_cast<Out>(pad)),
        size[2]);
  });
  return result;
}

template <class ExecutionSpace, class T, class MemorySpace, class Transform>
Image<T, MemorySpace> resample(const ExecutionSpace& exec, const Geometry& output,
                               const Image<T, MemorySpace>& input, const Transform& transform,
                               Interp interp, double fill = 0.0) {
  return resample_as<T>(exec, output, Sampler<T, MemorySpace>(exec, input, interp), transform,
                        fill);
}

template <class T, class MemorySpace, class Transform>
Image<T, MemorySpace> resample(const Geometry& output, const Image<T, MemorySpace>& input,
                               const Transform& transform, Interp interp, double fill = 0.0) {
  return resample(typename MemorySpace::execution_space(), output, input, transform, interp, fill);
}

// The affine resample of every pixel type on the default device is compiled
// once, in src/resample/instances.cpp: the geometric commands, the pipeline
// and the Python module all call it, and each of the six CLI files that did
// compiled its own copy of every interpolator's kernel (about 50 s per file
// with g++, twice that with nvcc; docs/CI.md).
#define MEDIMG_RESAMPLE_AFFINE(T)                                                                 \
  template Image<T, DeviceMemory> resample(const DeviceMemory::execution_space&, const Geometry&, \
                                           const Image<T, DeviceMemory>&, const AffineTransform&, \
                                           Interp, double);
#define MEDIMG_EXTERN_RESAMPLE_AFFINE(T) extern MEDIMG_RESAMPLE_AFFINE(T)
MEDIMG_FOR_EACH_PIXEL_TYPE(MEDIMG_EXTERN_RESAMPLE_AFFINE)
#undef MEDIMG_EXTERN_RESAMPLE_AFFINE

}  // namespace medimg
