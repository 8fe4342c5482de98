// The adjoint of the distributed resample (DESIGN.md sections 4 and 5), for
// affine transforms.
//
// Image gradient: each rank scatters dL/dy of its output slab through the
// same stencils as the forward pass into a window of the input grid (the
// slab's preimage box), then give_back_add (the reverse of fetch) sends
// every window voxel to its owner, which sums the contributions in rank
// order. For B-splines the result is dL/d(coefficients) and the prefilter's
// transpose runs distributed (along k through the same transpose to
// j-slabs, then j and i in the slabs). Parameter gradient: each rank sums
// its rows (AffineParameterReduction), one MPI_Allreduce adds the 12 sums.
//
// Equal to the single-process backward up to the order of additions: a
// voxel's contributions from different slabs are summed per slab first.
#pragma once

#include <mpi.h>

#include "medimg/dist/resample.hpp"
#include "medimg/resample/backward.hpp"

namespace medimg {

template <class Real, class MemorySpace>
struct DistributedResampleGradient {
  std::optional<DistributedImage<Real, MemorySpace>> image;  // on the input's grid and slabs
  std::optional<AffineGradient> transform;
};

// Collective. dL/d(input voxels) and/or dL/d(A, t) of
// resample_as(exec, output, input, transform, fill) given dLdy on `output`'s
// slabs. Floating-point images only.
template <class ExecutionSpace, class T, class MemorySpace>
DistributedResampleGradient<interp_real_t<T>, MemorySpace> resample_backward(
    const ExecutionSpace& exec, const Geometry& output,
    const DistributedSampler<T, MemorySpace>& input, const AffineTransform& transform,
    const DistributedImage<T, MemorySpace>& dLdy, unsigned what,
    Accumulation mode = Accumulation::scatter) {
  using Real = interp_real_t<T>;
  impl::check_gradient_size<T>(output, dLdy.geometry().size());
  impl::check_same_communicator(input.image().comm(), dLdy.comm(), "resample_backward");
  if ((what & (wrt::image | wrt::params)) == 0) {
    throw Error("resample_backward: ask for wrt::image, wrt::params or both");
  }
  const Geometry& in = input.geometry();
  const impl::IndexMap map = impl::index_map(output, in, transform);
  const std::int64_t k0 = dLdy.k_begin(), k1 = dLdy.k_end();
  const Size3 slab{output.size()[0], output.size()[1], k1 - k0};
  const Box need = dLdy.empty()
                       ? Box{}
                       : impl::preimage_box(map, output.size(), k0, k1, in.size(), input.margin());
  const auto dy =
      Kokkos::subview(dLdy.local(), Kokkos::ALL, Kokkos::ALL,
                      Kokkos::make_pair(k0 - dLdy.held_begin(), k1 - dLdy.held_begin()));
  DistributedResampleGradient<Real, MemorySpace> result;
  if (what & wrt::image) {
    const impl::OutputToInput<AffineTransform> locate{map, k0};
    auto target = impl::gradient_target<Real, MemorySpace>(
        Size3{need.extent(0), need.extent(1), need.extent(2)}, 1, "medimg::dL/dx window");
    if (!dLdy.empty() && !need.empty()) {
      impl::visit_stencils<Real, MemorySpace>(
          input.interp(), in.size(),
          [&](const auto& stencils) {
            using Interpolator = std::decay_t<decltype(stencils)>;
            impl::ImageContributions<Interpolator, impl::OutputToInput<AffineTransform>,
                                     decltype(dy)>
                contributions{stencils, locate, in, dy};
            impl::accumulate(exec, mode, slab, contributions, target, impl::quiet_axis_of(locate));
          },
          need.first);
    }
    exec.fence();
    DistributedImage<Real, MemorySpace> gradient(dLdy.comm(), in, 0);
    give_back_add(Window<Real, MemorySpace>{impl::component(target, 0), need.first}, gradient);
    if (input.interp() == Interp::bspline) {
      impl::bspline_filter_along_k(exec, gradient, true);
      impl::bspline_filter(exec, gradient.owned().data(),
                           Size3{in.size()[0], in.size()[1], gradient.k_end() - gradient.k_begin()},
                           true, 3u);
      exec.fence();
    }
    result.image.emplace(std::move(gradient));
  }
  if (what & wrt::params) {
    double sums[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    input.visit(need, [&](const auto& interp, auto& pending) {
      pending.wait();
      if (dLdy.empty()) return;
      using Interpolator = std::decay_t<decltype(interp)>;
      impl::AffineParameterReduction<Interpolator, decltype(dy)> functor{
          12, interp, map, in.size(), dy, output.size()[0], output.size()[1], k0};
      Kokkos::View<double*, Kokkos::HostSpace> local("medimg::affine_gradient", 12);
      Kokkos::parallel_reduce("medimg::resample_backward_affine_slab",
                              Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                                  exec, 0, slab[1] * slab[2]),
                              functor, local);
      exec.fence();
      for (int n = 0; n < 12; ++n) sums[n] = local(n);
    });
    impl::check_mpi(MPI_Allreduce(MPI_IN_PLACE, sums, 12, MPI_DOUBLE, MPI_SUM, dLdy.comm()),
                    "resample_backward parameter sums");
    result.transform = impl::affine_gradient_from_index_sums(sums, output, in);
  }
  return result;
}

}  // namespace medimg
