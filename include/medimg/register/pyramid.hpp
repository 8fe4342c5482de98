// The multi-resolution pyramid of registration (ITK's
// ImageRegistrationMethodv4 with SmoothingSigmasAreSpecifiedInPhysicalUnits):
// level l smooths both images with a Gaussian of sigma_l millimetres, and
// shrinks the fixed image by factor_l (the moving image is only smoothed).
//
// smooth_gaussian: separable, per axis a sampled Gaussian of sigma / spacing
// voxels truncated at 3 sigma and normalised to sum 1; the border voxels are
// repeated (so a constant image stays constant). sigma = 0 copies.
//
// shrunk_grid: size max(1, floor(n / f)), spacing f times larger, direction
// kept, and the origin placed so the grid stays centred on the input's
// (voxel i' sits at input index f i' + (f - 1) / 2 + (n - f n') / 2).
#pragma once

#include <Kokkos_Core.hpp>
#include <cmath>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/image.hpp"
#include "medimg/resample/resample.hpp"

namespace medimg {

Geometry shrunk_grid(const Geometry& g, int factor);

namespace impl {

template <class View>
struct GaussianAlongAxis {
  typename View::const_type in;
  View out;
  Kokkos::View<const double*, typename View::memory_space> kernel;
  int axis;
  std::int64_t radius;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i, std::int64_t j, std::int64_t k) const {
    const std::int64_t n = static_cast<std::int64_t>(in.extent(static_cast<unsigned>(axis)));
    const std::int64_t at = axis == 0 ? i : (axis == 1 ? j : k);
    double sum = 0.0;
    for (std::int64_t r = -radius; r <= radius; ++r) {
      std::int64_t s = at + r;
      s = s < 0 ? 0 : (s > n - 1 ? n - 1 : s);
      const double w = kernel(r + radius);
      sum += w *
             static_cast<double>(axis == 0 ? in(s, j, k) : (axis == 1 ? in(i, s, k) : in(i, j, s)));
    }
    out(i, j, k) = static_cast<typename View::value_type>(sum);
  }
};

}  // namespace impl

template <class ExecutionSpace, class MemorySpace>
Image<float, MemorySpace> smooth_gaussian(const ExecutionSpace& exec,
                                          const Image<float, MemorySpace>& image, double sigma_mm) {
  if (!(sigma_mm >= 0.0) || !std::isfinite(sigma_mm)) {
    throw Error("smoothing sigma must be >= 0 mm");
  }
  const Geometry& g = image.geometry();
  Image<float, MemorySpace> current = clone(image);
  if (sigma_mm == 0.0) return current;
  using View = typename Image<float, MemorySpace>::view_type;
  using Policy = Kokkos::MDRangePolicy<ExecutionSpace, Kokkos::Rank<3, Kokkos::Iterate::Left>,
                                       Kokkos::IndexType<std::int64_t>>;
  for (int axis = 0; axis < 3; ++axis) {
    const double sigma = sigma_mm / g.spacing()[axis];
    if (sigma < 0.01 || g.size()[axis] < 2) continue;
    const std::int64_t radius = static_cast<std::int64_t>(std::ceil(3.0 * sigma));
    Kokkos::View<double*, Kokkos::HostSpace> host("medimg::gaussian", 2 * radius + 1);
    double total = 0.0;
    for (std::int64_t r = -radius; r <= radius; ++r) {
      host(r + radius) = std::exp(-0.5 * double(r * r) / (sigma * sigma));
      total += host(r + radius);
    }
    for (std::int64_t r = 0; r < 2 * radius + 1; ++r) host(r) /= total;
    auto kernel = Kokkos::create_mirror_view_and_copy(MemorySpace(), host);
    auto next = Image<float, MemorySpace>::uninitialized(g, "medimg::smoothed");
    impl::GaussianAlongAxis<View> functor{current.voxels(), next.voxels(), kernel, axis, radius};
    Kokkos::parallel_for("medimg::gaussian",
                         Policy(exec, {0, 0, 0}, {g.size()[0], g.size()[1], g.size()[2]}), functor);
    current = next;
  }
  exec.fence();
  return current;
}

// `image` smoothed by sigma_mm and resampled (linear) onto shrunk_grid.
template <class ExecutionSpace, class MemorySpace>
Image<float, MemorySpace> pyramid_level(const ExecutionSpace& exec,
                                        const Image<float, MemorySpace>& image, int factor,
                                        double sigma_mm) {
  const auto smoothed = smooth_gaussian(exec, image, sigma_mm);
  if (factor == 1) return smoothed;
  return resample(exec, shrunk_grid(image.geometry(), factor), smoothed, AffineTransform(),
                  Interp::linear);
}

}  // namespace medimg
