// Every geometric operation x interpolator on 128^3 and 256^3 float volumes
// (the Shepp-Logan phantom, anisotropic oblique grid), on the default
// execution space. Times include allocating the output, as a caller pays.
#include <cstdint>
#include <functional>
#include <string>

#include "bench_main.hpp"
#include "medimg/ops/affine.hpp"
#include "medimg/ops/change_orientation.hpp"
#include "medimg/ops/crop.hpp"
#include "medimg/ops/flip.hpp"
#include "medimg/ops/pad.hpp"
#include "medimg/ops/phantom.hpp"
#include "medimg/ops/resample_to_image.hpp"
#include "medimg/ops/resample_to_spacing.hpp"
#include "medimg/ops/resize.hpp"
#include "medimg/ops/rotate.hpp"
#include "medimg/ops/scale.hpp"
#include "medimg/ops/translate.hpp"

namespace medimg::bench {
namespace {

using Volume = Image<float, DeviceMemory>;
using Op = std::function<Volume(const Volume&)>;

void register_op(const std::string& name, const Volume& input, Op op) {
  benchmark::RegisterBenchmark(
      name.c_str(),
      [&input, op](benchmark::State& state) {
        for (auto _ : state) {
          Volume out = op(input);
          Kokkos::fence();
          benchmark::DoNotOptimize(out.voxels().data());
        }
        state.SetItemsProcessed(state.iterations() * input.geometry().voxel_count());
      })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

std::shared_ptr<void> register_all() {
  struct Inputs {
    std::vector<Volume> volumes;
  };
  auto inputs = std::make_shared<Inputs>();
  const Mat3 oblique = AffineTransform::rotation(Vec3{1, 2, 3}, 20.0, Vec3{0, 0, 0}).matrix();
  for (std::int64_t n : {128, 256}) {
    inputs->volumes.push_back(shepp_logan_phantom(
        Geometry(Size3{n, n, n}, Vec3{-50, -60, -40}, Vec3{0.9, 0.9, 1.2}, oblique)));
  }
  for (const Volume& v : inputs->volumes) {
    const Geometry& g = v.geometry();
    const std::string size = std::to_string(g.size()[0]) + "^3";
    const Mat3 tilt = AffineTransform::rotation(Vec3{0, 1, 1}, 8.0, Vec3{0, 0, 0}).matrix();
    const Geometry other(g.size(), g.index_to_physical(Vec3{3, -2, 4}), Vec3{1.0, 0.8, 1.1},
                         multiply(tilt, g.direction()));
    const AffineTransform shear(
        Mat3{Vec3{1.02, 0.05, 0}, Vec3{-0.03, 0.98, 0.04}, Vec3{0, 0.02, 1.01}}, Vec3{1, -2, 0.5},
        g.center());
    for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
      const std::string suffix = "/" + std::string(to_string(interp)) + "/" + size;
      register_op("resample_to_spacing" + suffix, v, [interp](const Volume& x) {
        return resample_to_spacing(x, Vec3{1.1, 1.1, 1.1}, interp);
      });
      register_op("resample_to_image" + suffix, v,
                  [interp, other](const Volume& x) { return resample_to_image(other, x, interp); });
      register_op("rotate" + suffix, v,
                  [interp](const Volume& x) { return rotate(x, Axis::k, 10.0, interp); });
      register_op("scale" + suffix, v, [interp](const Volume& x) { return scale(x, 1.2, interp); });
      register_op("resize" + suffix, v, [interp](const Volume& x) {
        return resize(x, Size3{100, 110, 120}, interp);
      });
      register_op("translate_resample" + suffix, v, [interp](const Volume& x) {
        return translate_resample(x, Vec3{2.5, -1.5, 3.2}, interp);
      });
      register_op("affine" + suffix, v,
                  [interp, shear](const Volume& x) { return affine(x, shear, interp); });
    }
    register_op("change_orientation/RAS/" + size, v,
                [](const Volume& x) { return change_orientation(x, "RAS"); });
    register_op("crop/" + size, v, [g](const Volume& x) {
      return crop(x, Size3{g.size()[0] / 4, g.size()[1] / 4, g.size()[2] / 4},
                  Size3{g.size()[0] / 2, g.size()[1] / 2, g.size()[2] / 2});
    });
    register_op("pad/" + size, v, [](const Volume& x) {
      return pad(x, Size3{4, 4, 4}, Size3{4, 4, 4});
    });
    register_op("flip/" + size, v, [](const Volume& x) { return flip(x, Axis::j); });
  }
  return inputs;
}

}  // namespace
}  // namespace medimg::bench

int main(int argc, char** argv) {
  return medimg::bench::run_benchmarks(argc, argv, medimg::bench::register_all);
}
