// compare_itk: ITK's ResampleImageFilter and medimg on the same input, with
// the same thread count, in the same run. Prints one table: operation,
// interpolator, ITK Mvox/s, medimg Mvox/s, ratio (medimg / ITK speed) and
// the largest |medimg - ITK| over all voxels. B-spline times include the
// prefilter on both sides (a new interpolator / Sampler each time). The last
// column is a ceiling that no resampler can pass here: allocating the output
// and writing each voxel once (page faults included), in Mvox/s.
//
// Usage: compare_itk [--repeat N] [--quick]   (--quick: smaller volumes)
#include <itkAffineTransform.h>
#include <itkBSplineInterpolateImageFunction.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkMultiThreaderBase.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "medimg/core/scope_guard.hpp"
#include "medimg/io/itk_bridge.hpp"
#include "medimg/ops/geometry_rules.hpp"
#include "medimg/ops/phantom.hpp"
#include "medimg/ops/resample_to_image.hpp"
#include "medimg/ops/resample_to_spacing.hpp"
#include "medimg/ops/rotate.hpp"

namespace {

using namespace medimg;
using ItkFloat = itk::Image<float, 3>;

double seconds_of(const std::function<void()>& run, int repeat) {
  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

ItkFloat::Pointer itk_resample(const ItkFloat::Pointer& input, const Geometry& output,
                               const AffineTransform& t, Interp interp) {
  auto filter = itk::ResampleImageFilter<ItkFloat, ItkFloat, double>::New();
  filter->SetInput(input);
  filter->SetOutputParametersFromImage(to_itk_image(Image<float, HostMemory>(output)));
  auto transform = itk::AffineTransform<double, 3>::New();
  itk::AffineTransform<double, 3>::MatrixType m;
  itk::AffineTransform<double, 3>::OutputVectorType offset;
  for (unsigned r = 0; r < 3; ++r) {
    offset[r] = t.offset()[r];
    for (unsigned c = 0; c < 3; ++c) m[r][c] = t.matrix()[r][c];
  }
  transform->SetMatrix(m);
  transform->SetOffset(offset);
  filter->SetTransform(transform);
  if (interp == Interp::nearest) {
    filter->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<ItkFloat, double>::New());
  } else if (interp == Interp::linear) {
    filter->SetInterpolator(itk::LinearInterpolateImageFunction<ItkFloat, double>::New());
  } else {
    auto bspline = itk::BSplineInterpolateImageFunction<ItkFloat, double, double>::New();
    bspline->SetSplineOrder(3);
    filter->SetInterpolator(bspline);
  }
  filter->Update();
  return filter->GetOutput();
}

struct Case {
  std::string operation;
  Interp interp;
  Geometry output;
  AffineTransform transform;
  std::function<Image<float, DeviceMemory>()> medimg;
};

}  // namespace

int main(int argc, char** argv) {
  int repeat = 3;
  bool quick = false;
  for (int a = 1; a < argc; ++a) {
    if (std::strcmp(argv[a], "--repeat") == 0 && a + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++a]));
    if (std::strcmp(argv[a], "--quick") == 0) quick = true;
  }
  setenv("OMP_PROC_BIND", "false", 0);
  medimg::ScopeGuard guard(argc, argv);
  const int threads = Kokkos::DefaultHostExecutionSpace().concurrency();
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(threads);
  {
    const std::int64_t n = quick ? 96 : 256;
    const Geometry cube(Size3{n, n, n}, Vec3{-120, -130, -110}, Vec3{0.9, 0.9, 0.9});
    const Geometry slab(quick ? Size3{160, 160, 30} : Size3{512, 512, 100}, Vec3{-200, -210, -150},
                        Vec3{0.8, 0.8, 3.0});
    const auto cube_image = shepp_logan_phantom(cube);
    const auto slab_image = shepp_logan_phantom(slab);
    const auto cube_host = to_host(cube_image);
    const auto slab_host = to_host(slab_image);
    const auto cube_itk = to_itk_image(cube_host);
    const auto slab_itk = to_itk_image(slab_host);
    // An oblique reference over the cube's region.
    const Mat3 tilt = AffineTransform::rotation(Vec3{1, 2, 3}, 14.0, Vec3{0, 0, 0}).matrix();
    const Geometry oblique(Size3{n, n, n * 3 / 4}, cube.index_to_physical(Vec3{10, -5, 8}),
                           Vec3{0.85, 0.85, 1.1}, tilt);

    std::vector<std::pair<Case, const ItkFloat::Pointer*>> cases;
    const std::string side = std::to_string(n) + "^3";
    for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
      cases.push_back(
          {Case{"rotate 10 deg about z, " + side, interp, cube,
                rotation_about_center(cube, Axis::k, 10.0),
                [&cube_image, interp] { return rotate(cube_image, Axis::k, 10.0, interp); }},
           &cube_itk});
    }
    const Geometry iso = spacing_grid(slab, Vec3{1.0, 1.0, 1.0});
    cases.push_back(
        {Case{"resample " + to_string(slab.size()) + " -> 1 mm", Interp::linear, iso,
              AffineTransform(),
              [&slab_image] {
                return resample_to_spacing(slab_image, Vec3{1.0, 1.0, 1.0}, Interp::linear);
              }},
         &slab_itk});
    cases.push_back(
        {Case{"resample_to_image, oblique reference", Interp::linear, oblique, AffineTransform(),
              [&cube_image, &oblique] {
                return resample_to_image(oblique, cube_image, Interp::linear);
              }},
         &cube_itk});

    std::printf("medimg vs ITK ResampleImageFilter: %d threads each (Kokkos %s), best of %d\n\n",
                threads, Kokkos::DefaultExecutionSpace::name(), repeat);
    std::printf("| %-44s | %-7s | %12s | %15s | %8s | %14s | %18s |\n", "operation", "interp",
                "ITK Mvox/s", "medimg Mvox/s", "ratio", "max |diff|", "alloc+write Mvox/s");
    std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(),
                std::string(9, '-').c_str(), std::string(14, '-').c_str(),
                std::string(17, '-').c_str(), std::string(10, '-').c_str(),
                std::string(16, '-').c_str(), std::string(20, '-').c_str());
    for (const auto& entry : cases) {
      // Named, not a structured binding: nvcc rejects capturing those (C++17).
      const Case& test = entry.first;
      const auto* input = entry.second;
      ItkFloat::Pointer theirs;
      const double itk_seconds = seconds_of(
          [&] { theirs = itk_resample(*input, test.output, test.transform, test.interp); }, repeat);
      Image<float, DeviceMemory> ours;
      const double our_seconds = seconds_of(
          [&] {
            ours = test.medimg();
            Kokkos::fence();
          },
          repeat);
      const auto ours_host = to_host(ours);
      double worst = 0.0;
      const float* a = ours_host.voxels().data();
      const float* b = theirs->GetBufferPointer();
      for (std::int64_t v = 0; v < test.output.voxel_count(); ++v) {
        worst = std::max(worst, double(std::abs(a[v] - b[v])));
      }
      // The ceiling: allocate the output and write every voxel once.
      const double write_seconds = seconds_of(
          [&] {
            auto fresh = Image<float, DeviceMemory>::uninitialized(test.output);
            Kokkos::deep_copy(fresh.voxels(), 1.0f);
            Kokkos::fence();
          },
          repeat);
      const double mvox = double(test.output.voxel_count()) / 1e6;
      std::printf("| %-44s | %-7s | %12.1f | %15.1f | %7.1fx | %14.3g | %18.1f |\n",
                  test.operation.c_str(), std::string(to_string(test.interp)).c_str(),
                  mvox / itk_seconds, mvox / our_seconds, itk_seconds / our_seconds, worst,
                  mvox / write_seconds);
    }
  }
  return 0;
}
