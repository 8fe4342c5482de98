// register_vs_itk: medimg register against ITK's ImageRegistrationMethodv4
// on the same problem in one run: ch2better at 1.5 mm (100 x 123 x 105)
// moved by a known rigid motion (8, -6, 12 degrees; 12, -9, 15 mm), and the
// same moved image with another contrast plus noise for Mattes MI. Both use
// an Euler3D transform from the GEOMETRY centred initialisation, 3 levels
// (shrink 4, 2, 1; sigmas 2, 1, 0 mm), linear interpolation, all voxels,
// scales from physical shift and the regular-step gradient descent (learning
// rate 2, minimum step 1e-3, relaxation 0.5, at most 200 iterations per
// level, learning-rate estimation off). Prints wall time, iterations, mean
// displacement error over the brain and the ITK/medimg time ratio.
// Usage: register_vs_itk [--quick]   (--quick: ch2better at 3 mm)
#include <itkCenteredTransformInitializer.h>
#include <itkEuler3DTransform.h>
#include <itkImageRegistrationMethodv4.h>
#include <itkMattesMutualInformationImageToImageMetricv4.h>
#include <itkMeanSquaresImageToImageMetricv4.h>
#include <itkMultiThreaderBase.h>
#include <itkRegistrationParameterScalesFromPhysicalShift.h>
#include <itkRegularStepGradientDescentOptimizerv4.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "medimg/core/scope_guard.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/io/itk_bridge.hpp"
#include "medimg/ops/cast.hpp"
#include "medimg/ops/resample_to_spacing.hpp"
#include "medimg/register/registration.hpp"

namespace {

using namespace medimg;
using ItkImage = itk::Image<float, 3>;
constexpr double kDegrees = 3.14159265358979323846 / 180.0;

struct Outcome {
  double seconds;
  int iterations;
  double error_mm;
};

double mean_error(const AffineTransform& found, const AffineTransform& truth,
                  const Image<float, HostMemory>& fixed) {
  const Geometry& g = fixed.geometry();
  double sum = 0.0;
  std::int64_t n = 0;
  for (std::int64_t k = 0; k < g.size()[2]; ++k) {
    for (std::int64_t j = 0; j < g.size()[1]; ++j) {
      for (std::int64_t i = 0; i < g.size()[0]; ++i) {
        if (fixed.voxels()(i, j, k) <= 30.0f) continue;
        const Vec3 x = g.index_to_physical(Vec3{double(i), double(j), double(k)});
        const Vec3 a = found.apply(x), b = truth.apply(x);
        sum += std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                         (a[2] - b[2]) * (a[2] - b[2]));
        ++n;
      }
    }
  }
  return sum / static_cast<double>(n);
}

class IterationCounter : public itk::Command {
 public:
  using Self = IterationCounter;
  using Pointer = itk::SmartPointer<Self>;
  static Pointer New() {
    Pointer p = new Self;
    p->UnRegister();
    return p;
  }
  int count = 0;
  void Execute(itk::Object* caller, const itk::EventObject& event) override {
    Execute(static_cast<const itk::Object*>(caller), event);
  }
  void Execute(const itk::Object*, const itk::EventObject& event) override {
    if (itk::IterationEvent().CheckEvent(&event)) ++count;
  }
};

template <class ItkMetric>
Outcome run_itk(const Image<float, HostMemory>& fixed, const Image<float, HostMemory>& moving,
                typename ItkMetric::Pointer metric, const AffineTransform& truth) {
  using Transform = itk::Euler3DTransform<double>;
  using Optimizer = itk::RegularStepGradientDescentOptimizerv4<double>;
  using Method = itk::ImageRegistrationMethodv4<ItkImage, ItkImage, Transform>;
  const auto f = to_itk_image(fixed, ItkVoxels::copy);
  const auto m = to_itk_image(moving, ItkVoxels::copy);
  const auto start = std::chrono::steady_clock::now();
  auto transform = Transform::New();
  auto initializer = itk::CenteredTransformInitializer<Transform, ItkImage, ItkImage>::New();
  initializer->SetTransform(transform);
  initializer->SetFixedImage(f);
  initializer->SetMovingImage(m);
  initializer->GeometryOn();
  initializer->InitializeTransform();
  auto optimizer = Optimizer::New();
  optimizer->SetLearningRate(2.0);
  optimizer->SetMinimumStepLength(1e-3);
  optimizer->SetRelaxationFactor(0.5);
  optimizer->SetNumberOfIterations(200);
  optimizer->SetGradientMagnitudeTolerance(1e-6);
  optimizer->SetDoEstimateLearningRateOnce(false);
  optimizer->SetDoEstimateLearningRateAtEachIteration(false);
  auto scales = itk::RegistrationParameterScalesFromPhysicalShift<ItkMetric>::New();
  scales->SetMetric(metric);
  optimizer->SetScalesEstimator(scales);
  auto counter = IterationCounter::New();
  optimizer->AddObserver(itk::IterationEvent(), counter);
  auto method = Method::New();
  method->SetFixedImage(f);
  method->SetMovingImage(m);
  method->SetMetric(metric);
  method->SetOptimizer(optimizer);
  method->SetInitialTransform(transform);
  method->InPlaceOn();
  method->SetNumberOfLevels(3);
  typename Method::ShrinkFactorsArrayType shrink(3);
  shrink[0] = 4;
  shrink[1] = 2;
  shrink[2] = 1;
  method->SetShrinkFactorsPerLevel(shrink);
  typename Method::SmoothingSigmasArrayType sigmas(3);
  sigmas[0] = 2;
  sigmas[1] = 1;
  sigmas[2] = 0;
  method->SetSmoothingSigmasPerLevel(sigmas);
  method->SmoothingSigmasAreSpecifiedInPhysicalUnitsOn();
  method->Update();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Mat3 a;
  Vec3 offset;
  for (unsigned r = 0; r < 3; ++r) {
    for (unsigned c = 0; c < 3; ++c) a[r][c] = transform->GetMatrix()[r][c];
    offset[r] = transform->GetOffset()[r];
  }
  return Outcome{seconds, counter->count, mean_error(AffineTransform(a, offset), truth, fixed)};
}

Outcome run_medimg(const Image<float, HostMemory>& fixed, const Image<float, HostMemory>& moving,
                   Metric metric, const AffineTransform& truth) {
  RegistrationSettings s;
  s.transform = TransformKind::rigid;
  s.metric.metric = metric;
  const auto start = std::chrono::steady_clock::now();
  const auto r =
      register_images(Kokkos::DefaultExecutionSpace(), to_memory_space<DeviceMemory>(fixed),
                      to_memory_space<DeviceMemory>(moving), s);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Outcome{seconds, r.iterations, mean_error(r.transform.affine(), truth, fixed)};
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  setenv("OMP_PROC_BIND", "false", 0);
  ScopeGuard guard(argc, argv);
  {
    const int threads = Kokkos::DefaultHostExecutionSpace().concurrency();
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(threads);
    const double spacing = quick ? 3.0 : 1.5;
    const auto fixed =
        resample_to_spacing(load_image_as<float>("/usr/share/mricron/templates/ch2better.nii.gz"),
                            Vec3{spacing, spacing, spacing}, Interp::linear);
    ParametricTransform motion(TransformKind::rigid, fixed.geometry().center());
    motion.set_parameters({8 * kDegrees, -6 * kDegrees, 12 * kDegrees, 12.0, -9.0, 15.0});
    const AffineTransform truth = motion.affine().inverse();
    const auto moving =
        to_host(resample(fixed.geometry(), fixed, motion.affine(), Interp::bspline));
    auto other = clone(moving);
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0.0, 3.0);
    for (std::int64_t v = 0; v < other.geometry().voxel_count(); ++v) {
      other.voxels().data()[v] =
          static_cast<float>(150.0 * std::exp(-moving.voxels().data()[v] / 50.0) + noise(rng));
    }
    std::printf("register_vs_itk: ch2better at %.1f mm %s, rigid, 3 levels, RSGD, %d threads\n",
                spacing, to_string(fixed.geometry().size()).c_str(), threads);
    std::printf("%-22s | %-28s | %-28s | %s\n", "problem", "ITK v4 (s, iterations, error)",
                "medimg (s, iterations, error)", "ITK / medimg time");
    struct Case {
      const char* name;
      Metric metric;
      const Image<float, HostMemory>* moving;
    };
    for (const Case& c : {Case{"mse, same contrast", Metric::mse, &moving},
                          Case{"mattes, other contrast", Metric::mattes, &other}}) {
      Outcome itk_outcome;
      if (c.metric == Metric::mse) {
        itk_outcome = run_itk<itk::MeanSquaresImageToImageMetricv4<ItkImage, ItkImage>>(
            fixed, *c.moving, itk::MeanSquaresImageToImageMetricv4<ItkImage, ItkImage>::New(),
            truth);
      } else {
        auto metric = itk::MattesMutualInformationImageToImageMetricv4<ItkImage, ItkImage>::New();
        metric->SetNumberOfHistogramBins(50);
        itk_outcome = run_itk<itk::MattesMutualInformationImageToImageMetricv4<ItkImage, ItkImage>>(
            fixed, *c.moving, metric, truth);
      }
      const Outcome ours = run_medimg(fixed, *c.moving, c.metric, truth);
      std::printf("%-22s | %7.2f s %4d it %7.4f mm | %7.2f s %4d it %7.4f mm | %6.1fx\n", c.name,
                  itk_outcome.seconds, itk_outcome.iterations, itk_outcome.error_mm, ours.seconds,
                  ours.iterations, ours.error_mm, itk_outcome.seconds / ours.seconds);
    }
  }
  return 0;
}
