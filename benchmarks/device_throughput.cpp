// device_throughput: the GPU benchmark of issue 7. On an N^3 float volume
// (default 512^3) it times, on the default execution space (the GPU in a
// CUDA or HIP build) and on the OpenMP host backend of the same binary:
//   linear rotate, nearest rotate, B-spline rotate (prefilter included),
//   resample_to_spacing (linear, 1.25 mm) and the linear backward (dL/dx,
//   scatter),
// best of --repeat runs, fenced, and prints Gvox/s (output voxels per second)
// and the speed-up over OpenMP. The volume is analytic and the rotation is
// 17 degrees about a tilted axis through the centre: --json writes both, so
// benchmarks/gpu/grid_sample_vs_medimg.py can run torch's grid_sample on the
// same volume with the same transform and print the ratio. Needs no ITK.
//
// --write-linear FILE writes the linear rotate's output (raw float32,
// i fastest) so the torch script can check that both compute the same map.
//
// Usage: medimg_device_bench [--size N] [--repeat R] [--no-host] [--json FILE]
//                            [--write-linear FILE]
#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "best_time.hpp"
#include "medimg/core/scope_guard.hpp"
#include "medimg/core/transfer_counter.hpp"
#include "medimg/ops/resample_to_spacing.hpp"
#include "medimg/resample/backward.hpp"
#include "medimg/resample/resample.hpp"

namespace {

using namespace medimg;

// v(i, j, k) = ((7 i + 13 j + 29 k) mod 251) / 251: the same formula
// benchmarks/gpu/grid_sample_vs_medimg.py gives torch.
template <class View>
struct AnalyticVolume {
  View v;
  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i, std::int64_t j, std::int64_t k) const {
    v(i, j, k) = static_cast<float>((7 * i + 13 * j + 29 * k) % 251) / 251.0f;
  }
};

template <class Exec>
Image<float, typename Exec::memory_space> analytic_volume(const Exec& exec, const Geometry& g) {
  using Space = typename Exec::memory_space;
  auto image = Image<float, Space>::uninitialized(g, "device_bench::volume");
  const Size3& n = g.size();
  using Policy = Kokkos::MDRangePolicy<Exec, Kokkos::Rank<3, Kokkos::Iterate::Left>,
                                       Kokkos::IndexType<std::int64_t>>;
  Kokkos::parallel_for("device_bench::volume", Policy(exec, {0, 0, 0}, {n[0], n[1], n[2]}),
                       AnalyticVolume<typename Image<float, Space>::view_type>{image.voxels()});
  exec.fence();
  return image;
}

struct Op {
  std::string name;
  std::int64_t output_voxels;
  double device_ms;
  double host_ms;  // 0 when not run
};

// The five operations on one backend, each timed best of `repeat`.
template <class Exec>
std::vector<Op> run_ops(const Exec& exec, const Geometry& cube, const AffineTransform& rotation,
                        int repeat) {
  const auto volume = analytic_volume(exec, cube);
  const auto spacing_grid_out = spacing_grid(cube, Vec3{1.25, 1.25, 1.25});
  std::vector<Op> ops;
  auto time = [&](const std::string& name, std::int64_t voxels, auto&& run) {
    run();  // warm-up: allocations, B-spline coefficient buffers, first launch
    ops.push_back({name, voxels, bench::best_ms(run, repeat), 0.0});
  };
  for (Interp interp : {Interp::linear, Interp::nearest, Interp::bspline}) {
    time(std::string(to_string(interp)) + " rotate", cube.voxel_count(),
         [&] { resample(exec, cube, volume, rotation, interp, 0.0); });
  }
  time("resample_to_spacing 1.25 mm linear", spacing_grid_out.voxel_count(), [&] {
    resample_to_spacing(exec, volume, Vec3{1.25, 1.25, 1.25}, Interp::linear);
  });
  time("linear backward (dL/dx, scatter)", cube.voxel_count(), [&] {
    resample_backward_image(exec, cube, cube, Interp::linear, rotation, volume,
                            Accumulation::scatter);
  });
  return ops;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"medimg device throughput (GPU vs OpenMP; input for the torch comparison)"};
  std::int64_t n = 512;
  int repeat = 5;
  bool no_host = false;
  std::string json_path;
  std::string linear_path;
  app.add_option("--size", n, "edge of the cube volume")->check(CLI::Range(8, 2048));
  app.add_option("--repeat", repeat, "timed runs per op (best is kept)")->check(CLI::Range(1, 100));
  app.add_flag("--no-host", no_host, "skip the OpenMP runs");
  app.add_option("--json", json_path, "write the results, volume and transform here");
  app.add_option("--write-linear", linear_path, "write the linear rotate's output (raw float32)");
  CLI11_PARSE(app, argc, argv);
  setenv("OMP_PROC_BIND", "false", 0);
  ScopeGuard guard(argc, argv);
  {
    using Device = Kokkos::DefaultExecutionSpace;
    const Geometry cube(Size3{n, n, n}, Vec3{0, 0, 0}, Vec3{1, 1, 1});
    const double c = 0.5 * double(n - 1);
    const Vec3 axis{0.3, -0.5, 0.8};
    const auto rotation = AffineTransform::rotation(axis, 17.0, Vec3{c, c, c});

    std::printf("medimg device throughput: %lld^3 float, device %s, best of %d\n",
                static_cast<long long>(n), Device::name(), repeat);
    TransferCounter transfers;
    std::vector<Op> ops = run_ops(Device(), cube, rotation, repeat);
    const TransferCount moved = transfers.count();
#if defined(KOKKOS_ENABLE_OPENMP)
    if (!no_host && !std::is_same<Device, Kokkos::OpenMP>::value) {
      const std::vector<Op> host = run_ops(Kokkos::OpenMP(), cube, rotation, repeat);
      for (std::size_t o = 0; o < ops.size(); ++o) ops[o].host_ms = host[o].device_ms;
    }
#endif
    std::printf("%-36s %12s %10s %9s %10s %9s\n", "op", "out voxels", "device ms", "Gvox/s",
                "OpenMP ms", "speed-up");
    nlohmann::json results = nlohmann::json::array();
    for (const Op& op : ops) {
      const double gvox = double(op.output_voxels) / (op.device_ms * 1e-3) / 1e9;
      if (op.host_ms > 0) {
        std::printf("%-36s %12lld %10.3f %9.2f %10.2f %8.1fx\n", op.name.c_str(),
                    static_cast<long long>(op.output_voxels), op.device_ms, gvox, op.host_ms,
                    op.host_ms / op.device_ms);
      } else {
        std::printf("%-36s %12lld %10.3f %9.2f %10s %9s\n", op.name.c_str(),
                    static_cast<long long>(op.output_voxels), op.device_ms, gvox, "-", "-");
      }
      results.push_back({{"op", op.name},
                         {"output_voxels", op.output_voxels},
                         {"device_ms", op.device_ms},
                         {"gvox_per_s", gvox},
                         {"openmp_ms", op.host_ms}});
    }
    std::printf(
        "host<->device copies during the device runs: %llu up (%llu bytes), %llu down "
        "(%llu bytes)\n",
        static_cast<unsigned long long>(moved.host_to_device_copies),
        static_cast<unsigned long long>(moved.host_to_device_bytes),
        static_cast<unsigned long long>(moved.device_to_host_copies),
        static_cast<unsigned long long>(moved.device_to_host_bytes));
    if (!linear_path.empty()) {
      const auto out = to_host(
          resample(Device(), cube, analytic_volume(Device(), cube), rotation, Interp::linear, 0.0));
      std::ofstream(linear_path, std::ios::binary)
          .write(reinterpret_cast<const char*>(out.voxels().data()),
                 static_cast<std::streamsize>(cube.voxel_count() * sizeof(float)));
    }
    if (!json_path.empty()) {
      const Mat3& m = rotation.matrix();
      nlohmann::json out{
          {"size", n},
          {"device", Device::name()},
          {"repeat", repeat},
          {"volume", "((7 i + 13 j + 29 k) mod 251) / 251, float32"},
          {"rotation_matrix_ijk",
           {{m[0][0], m[0][1], m[0][2]}, {m[1][0], m[1][1], m[1][2]}, {m[2][0], m[2][1], m[2][2]}}},
          {"rotation_center_ijk", {c, c, c}},
          {"results", results}};
      std::ofstream(json_path) << out.dump(2) << "\n";
    }
  }
  return 0;
}
