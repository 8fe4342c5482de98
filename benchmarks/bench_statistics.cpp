// Voxel statistics (min, max, mean) of the same images with ITK's
// StatisticsImageFilter and with medimg::statistics: a real brain template
// (ch2better, 35 M voxels, as float) and a synthetic phantom.
#include <itkImage.h>
#include <itkStatisticsImageFilter.h>

#include "bench_main.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/io/itk_bridge.hpp"
#include "medimg/ops/phantom.hpp"
#include "medimg/ops/statistics.hpp"

namespace medimg::bench {
namespace {

using FloatImage = Image<float, HostMemory>;

void register_case(const std::string& name, const FloatImage& image) {
  benchmark::RegisterBenchmark(("itk/statistics/" + name).c_str(),
                               [&image](benchmark::State& state) {
                                 auto filter =
                                     itk::StatisticsImageFilter<itk::Image<float, 3>>::New();
                                 filter->SetInput(to_itk_image(image));
                                 for (auto _ : state) {
                                   filter->Modified();
                                   filter->Update();
                                 }
                                 state.counters["mean"] = filter->GetMean();
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(
      ("medimg/statistics/" + name).c_str(),
      [&image](benchmark::State& state) {
        const auto input = to_device(image);
        Statistics s;
        for (auto _ : state) {
          s = statistics(input);
          benchmark::DoNotOptimize(&s);  // by address: GCC's "+r" on a double corrupts it
        }
        state.counters["mean"] = s.mean;
      })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

std::shared_ptr<void> register_all() {
  struct Inputs {
    FloatImage ch2 = load_image_as<float>("/usr/share/mricron/templates/ch2better.nii.gz");
    FloatImage phantom = to_host(
        shepp_logan_phantom(Geometry(Size3{256, 256, 128}, Vec3{0, 0, 0}, Vec3{0.9, 0.9, 3.0})));
  };
  auto inputs = std::make_shared<Inputs>();
  register_case("ch2better_float", inputs->ch2);
  register_case("phantom_256x256x128", inputs->phantom);
  return inputs;
}

}  // namespace
}  // namespace medimg::bench

int main(int argc, char** argv) {
  return medimg::bench::run_benchmarks(argc, argv, medimg::bench::register_all);
}
