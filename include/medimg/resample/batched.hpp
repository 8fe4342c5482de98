// resample_batch: the resample kernel over a BatchedImage, one affine
// transform and one output geometry per item (all outputs of one size), in
// ONE launch: the league is every output row of every item, and a team
// builds its item's row kernel (ResampleAffineRows: the same code as the
// single-image resample, so each item is bit for bit `resample` of that item
// alone; tests/test_batched.cpp checks it for the three interpolators).
//
// B-spline coefficients are computed for the whole batch (one cast, then the
// prefilter's three passes per item: a recursion along one axis of one item).
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "medimg/core/batched_image.hpp"
#include "medimg/ops/geometry_rules.hpp"
#include "medimg/resample/resample.hpp"

namespace medimg {

namespace impl {

// Kind<View3>{View3(item pointer, extents), in_size} is item n's interpolator.
template <class ExecutionSpace, class OutView4, template <class> class Kind, class SourceView3>
struct ResampleBatchedRows {
  using Out = typename OutView4::non_const_value_type;
  using ItemOut = Kokkos::View<Out***, Kokkos::LayoutLeft, typename OutView4::memory_space>;
  using Interpolator = Kind<SourceView3>;
  using Rows = ResampleAffineRows<ExecutionSpace, ItemOut, Interpolator>;
  using Source = typename SourceView3::const_value_type;
  OutView4 out;
  Source* source;  // item n's voxels (or coefficients) start at source + n * in_count
  Kokkos::View<const IndexMap*, typename OutView4::memory_space> maps;
  Size3 in_size;
  std::int64_t nx, ny, nz;
  Out fill;

  template <class Member>
  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    const std::int64_t rows_per_item = ny * nz;
    const std::int64_t row = team.league_rank();
    const std::int64_t n = row / rows_per_item, r = row % rows_per_item;
    const std::int64_t in_count = in_size[0] * in_size[1] * in_size[2];
    const Rows rows{
        ItemOut(&out(0, 0, 0, n), static_cast<std::size_t>(nx), static_cast<std::size_t>(ny),
                static_cast<std::size_t>(nz)),
        Interpolator{
            SourceView3(source + n * in_count, static_cast<std::size_t>(in_size[0]),
                        static_cast<std::size_t>(in_size[1]), static_cast<std::size_t>(in_size[2])),
            in_size},
        maps(n),
        in_size,
        nx,
        ny,
        fill};
    rows.row(team, r % ny, r / ny);
  }
};

template <class ExecutionSpace, template <class> class Kind, class SourceView3, class OutView4>
void run_batched_rows(const ExecutionSpace& exec, const OutView4& out,
                      const typename SourceView3::const_value_type* source, const Size3& in_size,
                      const Kokkos::View<const IndexMap*, typename OutView4::memory_space>& maps,
                      typename OutView4::non_const_value_type fill) {
  using Functor = ResampleBatchedRows<ExecutionSpace, OutView4, Kind, SourceView3>;
  const auto nx = static_cast<std::int64_t>(out.extent(0));
  const auto ny = static_cast<std::int64_t>(out.extent(1));
  const auto nz = static_cast<std::int64_t>(out.extent(2));
  const auto items = static_cast<std::int64_t>(out.extent(3));
  Kokkos::parallel_for(
      "medimg::resample_batch",
      Kokkos::TeamPolicy<ExecutionSpace>(exec, static_cast<int>(ny * nz * items), Kokkos::AUTO),
      Functor{out, source, maps, in_size, nx, ny, nz, fill});
}

// Item n's index map (output n -> input n through transform n), in
// MemorySpace; the caller keeps it until its kernels are done.
template <class ExecutionSpace, class MemorySpace>
Kokkos::View<IndexMap*, MemorySpace> item_index_maps(
    const ExecutionSpace& exec, const std::vector<Geometry>& outputs,
    const std::vector<Geometry>& inputs, const std::vector<AffineTransform>& transforms) {
  Kokkos::View<IndexMap*, MemorySpace> maps(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::batch_index_maps"), inputs.size());
  auto host_maps = Kokkos::create_mirror_view(maps);
  for (std::size_t n = 0; n < inputs.size(); ++n) {
    host_maps(n) = index_map(outputs[n], inputs[n], transforms[n]);
  }
  Kokkos::deep_copy(exec, maps, host_maps);
  return maps;
}

}  // namespace impl

// The B-spline coefficients of every item, (nx, ny, nz, n) in
// interp_real_t<T>: bit for bit bspline_coefficients of each item.
template <class ExecutionSpace, class T, class MemorySpace>
Kokkos::View<interp_real_t<T>****, Kokkos::LayoutLeft, MemorySpace> bspline_coefficients(
    const ExecutionSpace& exec, const BatchedImage<T, MemorySpace>& batch) {
  using Real = interp_real_t<T>;
  const Size3& size = batch.size();
  Kokkos::View<Real****, Kokkos::LayoutLeft, MemorySpace> c(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::bspline_coefficients_batch"),
      static_cast<std::size_t>(size[0]), static_cast<std::size_t>(size[1]),
      static_cast<std::size_t>(size[2]), batch.count());
  const std::int64_t count = size[0] * size[1] * size[2];
  Kokkos::parallel_for("medimg::bspline_copy",
                       Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                           exec, 0, count * static_cast<std::int64_t>(batch.count())),
                       impl::CastVoxels<Real, T>{batch.voxels().data(), c.data()});
  for (std::size_t n = 0; n < batch.count(); ++n) {
    impl::bspline_filter(exec, c.data() + static_cast<std::int64_t>(n) * count, size, false);
  }
  return c;
}

// Item n of the result is resample_as<Out>(outputs[n], item n of `input`,
// transforms[n], interp, fill). The outputs share one size.
template <class Out, class ExecutionSpace, class T, class MemorySpace>
BatchedImage<Out, MemorySpace> resample_batch_as(const ExecutionSpace& exec,
                                                 const std::vector<Geometry>& outputs,
                                                 const BatchedImage<T, MemorySpace>& input,
                                                 const std::vector<AffineTransform>& transforms,
                                                 Interp interp, double fill = 0.0) {
  const std::size_t items = input.count();
  if (outputs.size() != items || transforms.size() != items) {
    throw Error("resample_batch: " + std::to_string(items) + " images, " +
                std::to_string(outputs.size()) + " output grids and " +
                std::to_string(transforms.size()) + " transforms");
  }
  auto result = BatchedImage<Out, MemorySpace>::uninitialized(outputs, "medimg::resample_batch");
  for (std::size_t n = 0; n < items; ++n) result.metadata(n) = input.metadata(n);
  const auto maps = impl::item_index_maps<ExecutionSpace, MemorySpace>(
      exec, outputs, input.geometries(), transforms);
  using Voxels3 = Kokkos::View<const T***, Kokkos::LayoutLeft, MemorySpace>;
  const Out fill_value = pixel_cast<Out>(fill);
  switch (interp) {
    case Interp::nearest:
      impl::run_batched_rows<ExecutionSpace, NearestInterpolator, Voxels3>(
          exec, result.voxels(), input.voxels().data(), input.size(), maps, fill_value);
      break;
    case Interp::linear:
      impl::run_batched_rows<ExecutionSpace, LinearInterpolator, Voxels3>(
          exec, result.voxels(), input.voxels().data(), input.size(), maps, fill_value);
      break;
    case Interp::bspline: {
      const auto coefficients = bspline_coefficients(exec, input);
      using Real = interp_real_t<T>;
      using Coefficients3 = Kokkos::View<const Real***, Kokkos::LayoutLeft, MemorySpace>;
      impl::run_batched_rows<ExecutionSpace, BSplineInterpolator, Coefficients3>(
          exec, result.voxels(), coefficients.data(), input.size(), maps, fill_value);
      // The coefficients are freed when this scope ends: wait for the kernel.
      exec.fence();
      break;
    }
  }
  return result;
}

template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> resample_batch(const ExecutionSpace& exec,
                                            const std::vector<Geometry>& outputs,
                                            const BatchedImage<T, MemorySpace>& input,
                                            const std::vector<AffineTransform>& transforms,
                                            Interp interp, double fill = 0.0) {
  return resample_batch_as<T>(exec, outputs, input, transforms, interp, fill);
}

template <class T, class MemorySpace>
BatchedImage<T, MemorySpace> resample_batch(const std::vector<Geometry>& outputs,
                                            const BatchedImage<T, MemorySpace>& input,
                                            const std::vector<AffineTransform>& transforms,
                                            Interp interp, double fill = 0.0) {
  return resample_batch(typename MemorySpace::execution_space(), outputs, input, transforms, interp,
                        fill);
}

// The interpolating ops on a batch, one value per item, each ONE
// resample_batch launch (item n bit for bit the single op on item n).

template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> rotate_batch(const ExecutionSpace& exec,
                                          const BatchedImage<T, MemorySpace>& batch, Axis axis,
                                          const std::vector<double>& degrees, Interp interp,
                                          double fill = 0.0) {
  std::vector<AffineTransform> transforms;
  for (std::size_t n = 0; n < batch.count() && n < degrees.size(); ++n) {
    transforms.push_back(rotation_about_center(batch.geometry(n), axis, degrees[n]));
  }
  return resample_batch(exec, batch.geometries(), batch, transforms, interp, fill);
}

template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> scale_batch(const ExecutionSpace& exec,
                                         const BatchedImage<T, MemorySpace>& batch,
                                         const std::vector<Vec3>& factors, Interp interp,
                                         double fill = 0.0) {
  std::vector<AffineTransform> transforms;
  for (std::size_t n = 0; n < batch.count() && n < factors.size(); ++n) {
    transforms.push_back(zoom_about_center(batch.geometry(n), factors[n]));
  }
  return resample_batch(exec, batch.geometries(), batch, transforms, interp, fill);
}

template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> translate_resample_batch(const ExecutionSpace& exec,
                                                      const BatchedImage<T, MemorySpace>& batch,
                                                      const std::vector<Vec3>& offsets_mm,
                                                      Interp interp, double fill = 0.0) {
  std::vector<AffineTransform> transforms;
  for (std::size_t n = 0; n < batch.count() && n < offsets_mm.size(); ++n) {
    const Vec3& o = offsets_mm[n];
    transforms.push_back(AffineTransform::translation(Vec3{-o[0], -o[1], -o[2]}));
  }
  return resample_batch(exec, batch.geometries(), batch, transforms, interp, fill);
}

// Every item resampled (identity transform) onto grid_of(its geometry):
// resize's and resample_to_spacing's grid rules; the grids must share a size.
template <class ExecutionSpace, class T, class MemorySpace, class GridOf>
BatchedImage<T, MemorySpace> resample_batch_onto(const ExecutionSpace& exec,
                                                 const BatchedImage<T, MemorySpace>& batch,
                                                 GridOf&& grid_of, Interp interp) {
  std::vector<Geometry> outputs;
  for (const Geometry& g : batch.geometries()) outputs.push_back(grid_of(g));
  return resample_batch(exec, outputs, batch, std::vector<AffineTransform>(batch.count()), interp);
}

template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> resize_batch(const ExecutionSpace& exec,
                                          const BatchedImage<T, MemorySpace>& batch,
                                          const Size3& size, Interp interp) {
  return resample_batch_onto(
      exec, batch, [&](const Geometry& g) { return resized_grid(g, size); }, interp);
}

template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> resample_to_spacing_batch(const ExecutionSpace& exec,
                                                       const BatchedImage<T, MemorySpace>& batch,
                                                       const Vec3& spacing, Interp interp) {
  return resample_batch_onto(
      exec, batch, [&](const Geometry& g) { return spacing_grid(g, spacing); }, interp);
}

}  // namespace medimg
