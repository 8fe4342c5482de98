// backward_cost: the adjoint against its forward, per interpolator, on the
// default execution space. For an N^3 float phantom rotated 10 degrees
// about a tilted axis (best of 3, outputs allocated as a caller pays):
//   forward                 resample_as (the row kernel)
//   image, scatter          resample_backward_image, ScatterView
//   image, deterministic    resample_backward_image, block ownership
//   params                  resample_backward(wrt::params): the 12-sum reduction
// and each backward's time over its forward (targets: image <= 3x,
// params <= 2x on CPUs).
// Usage: backward_cost [N]   (default 160)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "best_time.hpp"
#include "medimg/core/scope_guard.hpp"
#include "medimg/ops/phantom.hpp"
#include "medimg/resample/backward.hpp"

using medimg::bench::best_ms;

// dy += 1 + 1e-3 (i mod 97). A functor: nvcc 11.8 writes host stubs that
// do not compile for an extended lambda in main.
template <class View>
struct AddRipple {
  View v;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    v.data()[i] += 1.0f + 1e-3f * float(i % 97);
  }
};

int main(int argc, char** argv) {
  using namespace medimg;
  const std::int64_t n = argc > 1 ? std::max(8, std::atoi(argv[1])) : 160;
  setenv("OMP_PROC_BIND", "false", 0);
  ScopeGuard guard(argc, argv);
  {
    using Exec = Kokkos::DefaultExecutionSpace;
    const Geometry cube(Size3{n, n, n}, Vec3{-120, -130, -110}, Vec3{0.9, 1.1, 1.3});
    const auto image = shepp_logan_phantom(cube);
    const AffineTransform t = AffineTransform::rotation(Vec3{0.2, 0.3, 1.0}, 10.0, cube.center());
    // dL/dy non-zero everywhere (zeros are skipped, which would flatter the backward).
    auto dy = clone(image);
    {
      auto v = dy.voxels();
      Kokkos::parallel_for("dy", Kokkos::RangePolicy<Exec>(0, cube.voxel_count()),
                           AddRipple<decltype(v)>{v});
    }
    std::printf("backward_cost: %ld^3 float, rotation 10 deg about a tilted axis, %s, best of 3\n",
                static_cast<long>(n), describe_backend().c_str());
    std::printf("%-8s %10s %22s %22s %22s\n", "interp", "forward", "image, scatter",
                "image, deterministic", "params (12 sums)");
    for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
      const Sampler<float, DeviceMemory> sampler(image, interp);
      const double forward = best_ms([&] { resample_as<float>(Exec(), cube, sampler, t); });
      const double scatter = best_ms([&] {
        resample_backward_image(Exec(), cube, cube, interp, t, dy, Accumulation::scatter);
      });
      const double deterministic = best_ms([&] {
        resample_backward_image(Exec(), cube, cube, interp, t, dy, Accumulation::deterministic);
      });
      const double params =
          best_ms([&] { resample_backward(Exec(), cube, sampler, t, dy, wrt::params); });
      std::printf("%-8s %8.1f ms %10.1f ms (%4.2fx) %10.1f ms (%4.2fx) %10.1f ms (%4.2fx)\n",
                  std::string(to_string(interp)).c_str(), forward, scatter, scatter / forward,
                  deterministic, deterministic / forward, params, params / forward);
    }
  }
  return 0;
}
