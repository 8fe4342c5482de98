// resample_batch_backward: the adjoint of resample_batch (resample/batched.hpp)
// with respect to every item's voxels and/or every item's affine transform,
// each in ONE launch over the whole batch:
//
//   wrt::image   the scatter of resample_backward_image, with the item as
//                the target's last index: the rows of every item are the
//                work items, item n's contributions (the single-image
//                ImageContributions, its own index map and dL/dy) land in
//                item n's plane of the target. Deterministic accumulation
//                visits the rows in output order per target block, so each
//                item is bit for bit the single-image deterministic adjoint.
//                B-spline: then the transposed prefilter per item.
//   wrt::params  one array reduction of 12 numbers per item (the single-
//                image AffineParameterReduction per row, into its item's
//                12), then dL/dA and dL/dt per item on the host.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <optional>
#include <vector>

#include "medimg/core/batched_image.hpp"
#include "medimg/resample/backward.hpp"
#include "medimg/resample/batched.hpp"

namespace medimg {

template <class Real, class MemorySpace>
struct BatchedResampleGradient {
  std::optional<BatchedImage<Real, MemorySpace>> image;  // on the inputs' grids
  std::vector<AffineGradient> transforms;                // per item, when asked
};

namespace impl {

// Output rows of every item as one grid (nx, ny, nz * n): item n's
// contributions, emitted into component n of the target.
template <class Interpolator, class GradView4>
struct BatchedImageContributions {
  using Memory = typename GradView4::memory_space;
  using ItemGrad =
      Kokkos::View<const typename GradView4::non_const_value_type***, Kokkos::LayoutLeft, Memory>;
  using Item = ImageContributions<Interpolator, OutputToInput<AffineTransform>, ItemGrad>;
  Interpolator interp;
  Kokkos::View<const IndexMap*, Memory> maps;
  Geometry in;  // the items' shared size (is_inside)
  GradView4 dy;
  std::int64_t nz;

  template <class Emit>
  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i, std::int64_t j, std::int64_t kk,
                                         Emit& emit) const {
    const std::int64_t n = kk / nz, k = kk % nz;
    const Item item{interp, OutputToInput<AffineTransform>{maps(n)}, in,
                    ItemGrad(&dy(0, 0, 0, n), dy.extent(0), dy.extent(1), dy.extent(2))};
    auto to_item = [&](std::int64_t a, std::int64_t b, std::int64_t d, int,
                       typename Interpolator::real_type v) {
      emit(a, b, d, static_cast<int>(n), v);
    };
    item(i, j, k, to_item);
  }
};

// Row r of every item's rows: the single-image parameter sums of that row,
// into item n's 12 of the array.
template <template <class> class Kind, class SourceView3, class GradView4>
struct BatchedParameterReduction {
  using value_type = double[];
  using Memory = typename GradView4::memory_space;
  using ItemGrad =
      Kokkos::View<const typename GradView4::non_const_value_type***, Kokkos::LayoutLeft, Memory>;
  using Item = AffineParameterReduction<Kind<SourceView3>, ItemGrad>;
  unsigned value_count;
  typename SourceView3::const_value_type* source;
  Kokkos::View<const IndexMap*, Memory> maps;
  Size3 in_size;
  GradView4 dy;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t row, value_type sum) const {
    const auto nx = static_cast<std::int64_t>(dy.extent(0));
    const auto ny = static_cast<std::int64_t>(dy.extent(1));
    const auto nz = static_cast<std::int64_t>(dy.extent(2));
    const std::int64_t n = row / (ny * nz);
    const std::int64_t in_count = in_size[0] * in_size[1] * in_size[2];
    const Item item{
        12,
        Kind<SourceView3>{
            SourceView3(source + n * in_count, static_cast<std::size_t>(in_size[0]),
                        static_cast<std::size_t>(in_size[1]), static_cast<std::size_t>(in_size[2])),
            in_size},
        maps(n),
        in_size,
        ItemGrad(&dy(0, 0, 0, n), dy.extent(0), dy.extent(1), dy.extent(2)),
        nx,
        ny};
    item(row % (ny * nz), sum + 12 * n);
  }
  KOKKOS_INLINE_FUNCTION void init(value_type sum) const {
    for (unsigned v = 0; v < value_count; ++v) sum[v] = 0.0;
  }
  KOKKOS_INLINE_FUNCTION void join(MEDIMG_JOIN_VOLATILE value_type dst,
                                   const MEDIMG_JOIN_VOLATILE value_type src) const {
    for (unsigned v = 0; v < value_count; ++v) dst[v] += src[v];
  }
};

template <class ExecutionSpace, template <class> class Kind, class SourceView3, class GradView4>
std::vector<double> batched_parameter_sums(
    const ExecutionSpace& exec, const typename SourceView3::const_value_type* source,
    const Size3& in_size,
    const Kokkos::View<const IndexMap*, typename GradView4::memory_space>& maps,
    const GradView4& dy) {
  const auto items = static_cast<unsigned>(dy.extent(3));
  const BatchedParameterReduction<Kind, SourceView3, GradView4> functor{12 * items, source, maps,
                                                                        in_size, dy};
  Kokkos::View<double*, Kokkos::HostSpace> sums("medimg::batched_affine_gradient", 12 * items);
  Kokkos::parallel_reduce(
      "medimg::resample_batch_backward_affine",
      Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
          exec, 0, static_cast<std::int64_t>(dy.extent(1) * dy.extent(2) * dy.extent(3))),
      functor, sums);
  exec.fence();
  return std::vector<double>(sums.data(), sums.data() + 12 * items);
}

}  // namespace impl

// The adjoint of resample_batch(exec, outputs, input, transforms, interp,
// fill) given dLdy (on `outputs`): item n of the image gradient and
// transforms[n]'s gradient are those of resample_backward on item n alone.
template <class ExecutionSpace, class T, class MemorySpace>
BatchedResampleGradient<T, MemorySpace> resample_batch_backward(
    const ExecutionSpace& exec, const std::vector<Geometry>& outputs,
    const BatchedImage<T, MemorySpace>& input, const std::vector<AffineTransform>& transforms,
    Interp interp, const BatchedImage<T, MemorySpace>& dLdy, unsigned what,
    Accumulation mode = Accumulation::scatter) {
  static_assert(std::is_floating_point_v<T>, "resample_batch_backward needs float or double");
  const std::size_t items = input.count();
  if (outputs.size() != items || transforms.size() != items || dLdy.count() != items) {
    throw Error("resample_batch_backward: " + std::to_string(items) + " images, " +
                std::to_string(outputs.size()) + " output grids, " +
                std::to_string(transforms.size()) + " transforms and " +
                std::to_string(dLdy.count()) + " gradients");
  }
  for (std::size_t n = 0; n < items; ++n) impl::check_gradient_size<T>(outputs[n], dLdy.size());
  if ((what & (wrt::image | wrt::params)) == 0) {
    throw Error("resample_batch_backward: ask for wrt::image, wrt::params or both");
  }
  const auto maps = impl::item_index_maps<ExecutionSpace, MemorySpace>(
      exec, outputs, input.geometries(), transforms);
  const impl::IndexMap first = impl::index_map(outputs[0], input.geometry(0), transforms[0]);
  const Geometry& in = input.geometry(0);
  const Size3& out_size = dLdy.size();
  BatchedResampleGradient<T, MemorySpace> result;
  const auto dy = dLdy.voxels();
  if (what & wrt::image) {
    auto target = impl::gradient_target<T, MemorySpace>(in.size(), static_cast<int>(items),
                                                        "medimg::dL/dx_batch");
    impl::visit_stencils<T, MemorySpace>(interp, in.size(), [&](const auto& stencils) {
      using Interpolator = std::decay_t<decltype(stencils)>;
      const impl::BatchedImageContributions<Interpolator, std::decay_t<decltype(dy)>> contributions{
          stencils, maps, in, dy, out_size[2]};
      const Vec3 step{first.m[0][0], first.m[1][0], first.m[2][0]};
      impl::accumulate(
          exec, mode,
          Size3{out_size[0], out_size[1], out_size[2] * static_cast<std::int64_t>(items)},
          contributions, target, impl::quiet_axis(step));
    });
    if (interp == Interp::bspline) {
      for (std::size_t n = 0; n < items; ++n) {
        bspline_coefficients_transpose(exec, impl::component(target, static_cast<int>(n)));
      }
    }
    exec.fence();
    result.image = BatchedImage<T, MemorySpace>(input.geometries(), target);
  }
  if (what & wrt::params) {
    using Voxels3 = Kokkos::View<const T***, Kokkos::LayoutLeft, MemorySpace>;
    using GradView4 = std::decay_t<decltype(dy)>;
    std::vector<double> sums;
    switch (interp) {
      case Interp::nearest:
        sums =
            impl::batched_parameter_sums<ExecutionSpace, NearestInterpolator, Voxels3, GradView4>(
                exec, input.voxels().data(), in.size(), maps, dy);
        break;
      case Interp::linear:
        sums = impl::batched_parameter_sums<ExecutionSpace, LinearInterpolator, Voxels3, GradView4>(
            exec, input.voxels().data(), in.size(), maps, dy);
        break;
      case Interp::bspline: {
        const auto coefficients = bspline_coefficients(exec, input);
        sums =
            impl::batched_parameter_sums<ExecutionSpace, BSplineInterpolator, Voxels3, GradView4>(
                exec, coefficients.data(), in.size(), maps, dy);
        break;
      }
    }
    for (std::size_t n = 0; n < items; ++n) {
      result.transforms.push_back(impl::affine_gradient_from_index_sums(
          sums.data() + 12 * n, outputs[n], input.geometry(n)));
    }
  }
  exec.fence();  // the maps are freed at the end of this scope
  return result;
}

}  // namespace medimg
