// resample_bspline_displacement_batch: the resample kernel of a cubic
// B-spline displacement (the transform of random_elastic, ops/augment_elastic.hpp;
// SimpleITK's BSplineTransform as TorchIO's RandomElasticDeformation uses it),
// one launch over a batch, no displacement field stored.
//
// Control-point layout, per axis with m points on n voxels: the points are
// h = (n - 1) / (m - 3) voxels apart, point p at index (p - 1) h, so points
// 1..m-2 span the image and 0 and m-1 lie one spacing outside it (the grid
// of a B-spline mesh of m - 3 cells). With u = x / h + 1 the displacement is
//   d(x) = sum_{p,q,r} c[p,q,r] B3(u_i - p) B3(u_j - q) B3(u_k - r)
// (scipy.ndimage.map_coordinates(c, u, order=3, prefilter=False)), in mm
// along the image's axes, and out(x) = in(x + d(x) / spacing) (physical:
// p + D d), the fill where that lies outside (ITK's inside test). A row
// (j, k, item) first sums the control points along k and j (m_i values per
// component), then each voxel of the row takes 4 of them. Like the
// displacement-field path of `resample`, per voxel (not the affine rows).
#pragma once

#include <Kokkos_Core.hpp>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "medimg/core/batched_image.hpp"
#include "medimg/core/kokkos_compat.hpp"
#include "medimg/core/pixel_cast.hpp"
#include "medimg/interp/bspline.hpp"
#include "medimg/interp/linear.hpp"
#include "medimg/interp/nearest.hpp"
#include "medimg/resample/batched.hpp"
#include "medimg/resample/resample.hpp"

namespace medimg {

// Control points per axis: 4 to this many.
inline constexpr std::int64_t max_bspline_displacement_points = 64;

// Control points `points` per axis, their displacements: value (a, p, q, r)
// at a + 3 * (p + m_i * (q + m_j * r)), millimetres along image axis a.
struct BSplineDisplacementGrid {
  std::array<std::int64_t, 3> points{{0, 0, 0}};
  std::vector<double> displacements;
};

namespace impl {

// The cubic B-spline weights of the 4 points from floor(u) - 1 at u.
KOKKOS_INLINE_FUNCTION void cubic_bspline_weights(double u, std::int64_t& first, double (&w)[4]) {
  const double f = compat::floor(u);
  first = static_cast<std::int64_t>(f) - 1;
  const double t = u - f, s = 1.0 - t;
  w[0] = s * s * s / 6.0;
  w[1] = (4.0 - 6.0 * t * t + 3.0 * t * t * t) / 6.0;
  w[2] = (4.0 - 6.0 * s * s + 3.0 * s * s * s) / 6.0;
  w[3] = t * t * t / 6.0;
}

template <class OutView4, template <class> class Kind, class SourceView3>
struct BSplineDisplacementRows {
  using Out = typename OutView4::non_const_value_type;
  using Memory = typename OutView4::memory_space;
  using Interpolator = Kind<SourceView3>;
  using Source = typename SourceView3::const_value_type;
  OutView4 out;
  Source* source;  // item n's voxels (or coefficients) at source + n * count
  // Item n's control points at points + n * 3 * m_i * m_j * m_k.
  Kokkos::View<const double*, Memory> points;
  Kokkos::View<const double*, Memory> spacing;  // item n's at 3 n
  Size3 size;
  std::int64_t m[3];
  double h[3];  // control-point spacing in voxels (0: a single voxel)
  Out fill;

  KOKKOS_INLINE_FUNCTION double position(int axis, std::int64_t x) const {
    return h[axis] > 0.0 ? static_cast<double>(x) / h[axis] + 1.0 : 1.0;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t row) const {
    const std::int64_t nx = size[0], ny = size[1], nz = size[2];
    const std::int64_t n = row / (ny * nz), r = row % (ny * nz);
    const std::int64_t j = r % ny, k = r / ny;
    const std::int64_t count = nx * ny * nz;
    const double* c = points.data() + n * 3 * m[0] * m[1] * m[2];
    std::int64_t qy, qz;
    double wy[4], wz[4];
    cubic_bspline_weights(position(1, j), qy, wy);
    cubic_bspline_weights(position(2, k), qz, wz);
    // The row's spline along i: m_i points x 3 components.
    double line[3 * max_bspline_displacement_points];
    for (std::int64_t p = 0; p < m[0]; ++p) {
      double sum[3] = {0.0, 0.0, 0.0};
      for (int t = 0; t < 4; ++t) {
        const std::int64_t z = qz + t;
        if (z < 0 || z >= m[2]) continue;
        for (int s = 0; s < 4; ++s) {
          const std::int64_t y = qy + s;
          if (y < 0 || y >= m[1]) continue;
          const double w = wy[s] * wz[t];
          const double* at = c + 3 * (p + m[0] * (y + m[1] * z));
          for (int a = 0; a < 3; ++a) sum[a] += w * at[a];
        }
      }
      for (int a = 0; a < 3; ++a) line[3 * p + a] = sum[a];
    }
    const Interpolator interp{
        SourceView3(source + n * count, static_cast<std::size_t>(nx), static_cast<std::size_t>(ny),
                    static_cast<std::size_t>(nz)),
        size};
    const Vec3 sp{spacing(3 * n), spacing(3 * n + 1), spacing(3 * n + 2)};
    Out* row_out = &out(0, j, k, n);
    for (std::int64_t i = 0; i < nx; ++i) {
      std::int64_t qx;
      double wx[4];
      cubic_bspline_weights(position(0, i), qx, wx);
      double d[3] = {0.0, 0.0, 0.0};
      for (int s = 0; s < 4; ++s) {
        const std::int64_t x = qx + s;
        if (x < 0 || x >= m[0]) continue;
        for (int a = 0; a < 3; ++a) d[a] += wx[s] * line[3 * x + a];
      }
      const Vec3 at{static_cast<double>(i) + d[0] / sp[0], static_cast<double>(j) + d[1] / sp[1],
                    static_cast<double>(k) + d[2] / sp[2]};
      row_out[i] = within(at, size, -0.5, 0.5) ? pixel_cast<Out>(interp(at)) : fill;
    }
  }
};

template <class ExecutionSpace, template <class> class Kind, class SourceView3, class OutView4>
void run_bspline_displacement(
    const ExecutionSpace& exec, const OutView4& out,
    const typename SourceView3::const_value_type* source,
    const Kokkos::View<const double*, typename OutView4::memory_space>& points,
    const Kokkos::View<const double*, typename OutView4::memory_space>& spacing, const Size3& size,
    const std::array<std::int64_t, 3>& m, typename OutView4::non_const_value_type fill) {
  BSplineDisplacementRows<OutView4, Kind, SourceView3> rows{out,  source, points, spacing,
                                                            size, {},     {},     fill};
  for (int a = 0; a < 3; ++a) {
    rows.m[a] = m[static_cast<std::size_t>(a)];
    rows.h[a] =
        size[a] > 1 ? static_cast<double>(size[a] - 1) / static_cast<double>(rows.m[a] - 3) : 0.0;
  }
  const std::int64_t items = static_cast<std::int64_t>(out.extent(3));
  Kokkos::parallel_for("medimg::resample_bspline_displacement",
                       Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                           exec, 0, size[1] * size[2] * items),
                       rows);
}

}  // namespace impl

// Item n resampled through grids[n]'s displacement (all grids with the same
// control-point counts): out(x) = item(x + d(x) / spacing), fill outside.
template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> resample_bspline_displacement_batch(
    const ExecutionSpace& exec, const BatchedImage<T, MemorySpace>& batch,
    const std::vector<BSplineDisplacementGrid>& draws, Interp interp, double fill) {
  const std::size_t items = batch.count();
  if (draws.size() != items)
    throw Error("resample_bspline_displacement_batch: one control grid per image needed");
  const std::array<std::int64_t, 3> m = draws.front().points;
  const std::size_t per_item = static_cast<std::size_t>(3 * m[0] * m[1] * m[2]);
  Kokkos::View<double*, MemorySpace> points(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::elastic_points"), per_item * items);
  Kokkos::View<double*, MemorySpace> spacing(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::elastic_spacing"), 3 * items);
  auto host_points = Kokkos::create_mirror_view(points);
  auto host_spacing = Kokkos::create_mirror_view(spacing);
  for (std::size_t n = 0; n < items; ++n) {
    if (draws[n].points != m || draws[n].displacements.size() != per_item) {
      throw Error(
          "resample_bspline_displacement_batch: every image needs the same control-point counts");
    }
    for (std::size_t v = 0; v < per_item; ++v)
      host_points(n * per_item + v) = draws[n].displacements[v];
    for (int a = 0; a < 3; ++a) host_spacing(3 * n + a) = batch.geometry(n).spacing()[a];
  }
  Kokkos::deep_copy(exec, points, host_points);
  Kokkos::deep_copy(exec, spacing, host_spacing);
  auto result = BatchedImage<T, MemorySpace>::uninitialized(batch.geometries(), "medimg::elastic");
  for (std::size_t n = 0; n < items; ++n) result.metadata(n) = batch.metadata(n);
  using Voxels3 = Kokkos::View<const T***, Kokkos::LayoutLeft, MemorySpace>;
  const T fill_value = pixel_cast<T>(fill);
  switch (interp) {
    case Interp::nearest:
      impl::run_bspline_displacement<ExecutionSpace, NearestInterpolator, Voxels3>(
          exec, result.voxels(), batch.voxels().data(), points, spacing, batch.size(), m,
          fill_value);
      break;
    case Interp::linear:
      impl::run_bspline_displacement<ExecutionSpace, LinearInterpolator, Voxels3>(
          exec, result.voxels(), batch.voxels().data(), points, spacing, batch.size(), m,
          fill_value);
      break;
    case Interp::bspline: {
      const auto coefficients = bspline_coefficients(exec, batch);
      using Coefficients3 =
          Kokkos::View<const interp_real_t<T>***, Kokkos::LayoutLeft, MemorySpace>;
      impl::run_bspline_displacement<ExecutionSpace, BSplineInterpolator, Coefficients3>(
          exec, result.voxels(), coefficients.data(), points, spacing, batch.size(), m, fill_value);
      exec.fence();
      break;
    }
  }
  exec.fence();  // points and spacing are freed at the end of this scope
  return result;
}

}  // namespace medimg
