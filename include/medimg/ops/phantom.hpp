// shepp_logan_phantom(geometry): the 3D modified Shepp-Logan head phantom
// (10 ellipsoids, Toft's intensities), evaluated at every voxel centre in
// normalised index coordinates u = 2 * index / (size - 1) - 1, so it fills any
// grid whatever its spacing and direction. Voxels are in [0, 1]. Used by the
// demo, the tests and the benchmarks as a reproducible, structured image.
#pragma once

#include <Kokkos_Core.hpp>

#include "medimg/core/image.hpp"

namespace medimg {

namespace impl {

struct Ellipsoid {
  double intensity;
  double a, b, c;           // semi-axes
  double x0, y0, z0;        // centre
  double cos_phi, sin_phi;  // rotation about the normalised k axis
};

template <class View>
struct EvaluateSheppLogan {
  View voxels;
  Kokkos::Array<Ellipsoid, 10> ellipsoids;
  double scale_i, scale_j, scale_k;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i, const std::int64_t j,
                                         const std::int64_t k) const {
    const double x = static_cast<double>(i) * scale_i - 1.0;
    const double y = static_cast<double>(j) * scale_j - 1.0;
    const double z = static_cast<double>(k) * scale_k - 1.0;
    double value = 0.0;
    for (int e = 0; e < 10; ++e) {
      const Ellipsoid& s = ellipsoids[e];
      const double dx = x - s.x0;
      const double dy = y - s.y0;
      const double dz = z - s.z0;
      const double u = (s.cos_phi * dx + s.sin_phi * dy) / s.a;
      const double v = (-s.sin_phi * dx + s.cos_phi * dy) / s.b;
      const double w = dz / s.c;
      if (u * u + v * v + w * w <= 1.0) value += s.intensity;
    }
    // The sums are >= 0 by construction; clamp away rounding like 1 - 0.8 - 0.2.
    voxels(i, j, k) = static_cast<typename View::value_type>(value > 0.0 ? value : 0.0);
  }
};

Kokkos::Array<Ellipsoid, 10> shepp_logan_ellipsoids();

}  // namespace impl

template <class ExecutionSpace, class MemorySpace = typename ExecutionSpace::memory_space>
Image<float, MemorySpace> shepp_logan_phantom(const ExecutionSpace& exec,
                                              const Geometry& geometry) {
  auto image = Image<float, MemorySpace>::uninitialized(geometry, "medimg::shepp_logan");
  const auto& n = geometry.size();
  auto step = [](std::int64_t size) {
    return size > 1 ? 2.0 / static_cast<double>(size - 1) : 0.0;
  };
  impl::EvaluateSheppLogan<typename Image<float, MemorySpace>::view_type> functor{
      image.voxels(), impl::shepp_logan_ellipsoids(), step(n[0]), step(n[1]), step(n[2])};
  using Policy = Kokkos::MDRangePolicy<ExecutionSpace, Kokkos::Rank<3, Kokkos::Iterate::Left>,
                                       Kokkos::IndexType<std::int64_t>>;
  Kokkos::parallel_for("medimg::shepp_logan_phantom", Policy(exec, {0, 0, 0}, {n[0], n[1], n[2]}),
                       functor);
  return image;
}

inline Image<float, DeviceMemory> shepp_logan_phantom(const Geometry& geometry) {
  return shepp_logan_phantom(Kokkos::DefaultExecutionSpace(), geometry);
}

}  // namespace medimg
