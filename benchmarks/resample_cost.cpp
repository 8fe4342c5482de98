// resample_cost: where the time of one resample goes, on the default
// execution space (the evidence behind the speed notes in
// docs/ARCHITECTURE.md). Prints, for an N^3 float phantom, best of 3:
//   - allocating the output and writing it once (the floor under any resampler),
//   - linear resample with the identity map (input read in order) and with a
//     10 degree rotation about k and about i,
//   - nearest rotation, the B-spline prefilter alone, B-spline evaluation alone.
// Usage: resample_cost [N] [--only CASE] [--repeat R]   (N default 256,
// R default 3; CASE one of the names in `cases`, or `none`)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "best_time.hpp"
#include "medimg/core/scope_guard.hpp"
#include "medimg/ops/geometry_rules.hpp"
#include "medimg/ops/phantom.hpp"
#include "medimg/resample/resample.hpp"

using medimg::bench::best_ms;

// A functor, not a KOKKOS_LAMBDA: nvcc cannot take an extended device
// lambda inside the host lambda best_ms times.
struct WriteOnce {
  float* voxels;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t v) const { voxels[v] = 1.0f; }
};

int main(int argc, char** argv) {
  using namespace medimg;
  const std::int64_t n = argc > 1 ? std::max(8, std::atoi(argv[1])) : 256;
  // --only NAME runs one case (for callgrind: its instructions less those of
  // `--only none`, which builds the same inputs and runs nothing).
  std::string only;
  int repeat = 3;
  for (int a = 2; a + 1 < argc; a += 2) {
    if (std::string(argv[a]) == "--only") only = argv[a + 1];
    if (std::string(argv[a]) == "--repeat") repeat = std::max(1, std::atoi(argv[a + 1]));
  }
  setenv("OMP_PROC_BIND", "false", 0);
  ScopeGuard guard(argc, argv);
  {
    using Exec = Kokkos::DefaultExecutionSpace;
    const Geometry cube(Size3{n, n, n}, Vec3{-120, -130, -110}, Vec3{0.9, 0.9, 0.9});
    const auto image = shepp_logan_phantom(cube);
    const Sampler<float, DeviceMemory> nearest(image, Interp::nearest);
    const Sampler<float, DeviceMemory> linear(image, Interp::linear);
    const Sampler<float, DeviceMemory> bspline(image, Interp::bspline);
    struct Case {
      const char* name;
      const char* what;
      std::function<void()> run;
    };
    auto run = [&](const Sampler<float, DeviceMemory>& s, const AffineTransform& t) {
      return std::function<void()>([&s, t, &cube] { resample_as<float>(Exec(), cube, s, t); });
    };
    const double mvox = double(cube.voxel_count()) / 1e6;
    // The output allocated as every Image is (huge pages on the host) and
    // written once through its flat pointer: the floor under any resampler.
    const std::function<void()> floor = [&] {
      auto out = Image<float, DeviceMemory>::uninitialized(cube);
      Kokkos::parallel_for(
          "resample_cost::write_once",
          Kokkos::RangePolicy<Exec>(0, static_cast<std::size_t>(cube.voxel_count())),
          WriteOnce{out.voxels().data()});
      Kokkos::fence();
    };
    const AffineTransform about_k = rotation_about_center(cube, Axis::k, 10.0);
    const AffineTransform about_i = rotation_about_center(cube, Axis::i, 10.0);
    const Case cases[] = {
        {"floor", "allocate output + write once (floor)", floor},
        {"linear-identity", "linear, identity map (reads in order)",
         run(linear, AffineTransform())},
        {"linear-k", "linear, rotate 10 deg about k", run(linear, about_k)},
        {"linear-i", "linear, rotate 10 deg about i", run(linear, about_i)},
        {"nearest-k", "nearest, rotate 10 deg about k", run(nearest, about_k)},
        {"prefilter", "B-spline prefilter alone",
         [&] { Sampler<float, DeviceMemory>(image, Interp::bspline); }},
        {"bspline-k", "B-spline evaluation alone, rotate 10 deg about k", run(bspline, about_k)},
    };
    if (only.empty()) {
      std::printf("resample cost on %s, %lld^3 float (best of %d)\n", Exec::name(),
                  static_cast<long long>(n), repeat);
    }
    for (const Case& c : cases) {
      if (!only.empty() && only != c.name) continue;
      const double ms = best_ms(c.run, repeat);
      std::printf("  %-44s %9.1f ms %9.1f Mvox/s\n", c.what, ms, mvox / ms * 1e3);
    }
  }
  return 0;
}
