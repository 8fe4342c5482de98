// Registration (include/medimg/register): metric values against ITK's v4
// metrics, metric gradients against finite differences, the optimisers on
// a known minimum, .tfm files read back by ITK and used by ITK's
// ResampleImageFilter, and the acceptance problem: ch2better moved by a
// known rigid transform, recovered with MSE and (against a remapped,
// noisy contrast) with Mattes mutual information, to <= 0.5 mm mean
// displacement over the brain and <= 0.5 degrees per axis.
#include <gtest/gtest.h>
#include <itkCorrelationImageToImageMetricv4.h>
#include <itkEuler3DTransform.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkMattesMutualInformationImageToImageMetricv4.h>
#include <itkMeanSquaresImageToImageMetricv4.h>
#include <itkResampleImageFilter.h>
#include <itkTransformFileReader.h>
#include <itkTxtTransformIOFactory.h>

#include <cmath>
#include <fstream>
#include <random>

#include "backends.hpp"
#include "itk_support.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/io/transform_io.hpp"
#include "medimg/ops/cast.hpp"
#include "medimg/ops/geometry_rules.hpp"
#include "medimg/ops/resample_to_spacing.hpp"
#include "medimg/register/registration.hpp"
#include "test_support.hpp"

namespace medimg::test {
namespace {

constexpr double degrees = 3.14159265358979323846 / 180.0;

// ch2better at 1.5 mm (100 x 123 x 105), as float: the fixed image.
Image<float, HostMemory> ch2_fixed() {
  return resample_to_spacing(load_image_as<float>(mricron_dir + "/ch2better.nii.gz"),
                             Vec3{1.5, 1.5, 1.5}, Interp::linear);
}

// The known motion: moving(x) = fixed(S(x)), S rigid about the centre.
ParametricTransform known_motion(const Geometry& g) {
  ParametricTransform s(TransformKind::rigid, g.center());
  s.set_parameters({8 * degrees, -6 * degrees, 12 * degrees, 12.0, -9.0, 15.0});
  return s;
}

// 150 exp(-v / 50) + Gaussian noise (sigma 3): another contrast.
Image<float, HostMemory> remapped_with_noise(const Image<float, HostMemory>& image) {
  Image<float, HostMemory> out = clone(image);
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 3.0);
  for (std::int64_t v = 0; v < image.geometry().voxel_count(); ++v) {
    out.voxels().data()[v] =
        static_cast<float>(150.0 * std::exp(-image.voxels().data()[v] / 50.0) + noise(rng));
  }
  return out;
}

// Mean |T(x) - S^-1(x)| over the brain (fixed > 30) and the Euler-angle
// error of T's rotation (polar part for affine T) against S^-1's.
struct Recovery {
  double mean_mm;
  Vec3 angle_error_degrees;
};

Recovery recovery(const ParametricTransform& found, const ParametricTransform& motion,
                  const Image<float, HostMemory>& fixed) {
  const AffineTransform truth = motion.affine().inverse();
  const AffineTransform t = found.affine();
  const Geometry& g = fixed.geometry();
  double sum = 0.0;
  std::int64_t count = 0;
  for (std::int64_t k = 0; k < g.size()[2]; ++k) {
    for (std::int64_t j = 0; j < g.size()[1]; ++j) {
      for (std::int64_t i = 0; i < g.size()[0]; ++i) {
        if (fixed.voxels()(i, j, k) <= 30.0f) continue;
        const Vec3 x = g.index_to_physical(Vec3{double(i), double(j), double(k)});
        const Vec3 a = t.apply(x), b = truth.apply(x);
        sum += std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                         (a[2] - b[2]) * (a[2] - b[2]));
        ++count;
      }
    }
  }
  // Rotation part of T: for rigid its matrix; for affine, the nearest
  // rotation (polar decomposition by Newton iterations R <- (R + R^-T) / 2).
  Mat3 r = t.matrix();
  for (int it = 0; it < 30; ++it) {
    const Mat3 inv_t = transpose(AffineTransform(r, Vec3{0, 0, 0}).inverse().matrix());
    for (int a = 0; a < 3; ++a) {
      for (int b = 0; b < 3; ++b) r[a][b] = 0.5 * (r[a][b] + inv_t[a][b]);
    }
  }
  const Vec3 found_angles = euler_angles(r);
  const Vec3 true_angles = euler_angles(truth.matrix());
  Recovery out{sum / static_cast<double>(count), {}};
  for (int a = 0; a < 3; ++a)
    out.angle_error_degrees[a] = (found_angles[a] - true_angles[a]) / degrees;
  return out;
}

template <class ExecutionSpace>
class Registration : public ::testing::Test {};
TYPED_TEST_SUITE(Registration, Backends);

struct Acceptance {
  std::string name;
  TransformKind transform;
  Metric metric;
  OptimizerKind optimizer;
  bool other_contrast;
};

template <class Exec>
void run_acceptance(const Acceptance& c, const Image<float, HostMemory>& fixed) {
  using MS = typename Exec::memory_space;
  const ParametricTransform motion = known_motion(fixed.geometry());
  auto moving = to_host(resample(fixed.geometry(), fixed, motion.affine(), Interp::bspline));
  if (c.other_contrast) moving = remapped_with_noise(moving);
  RegistrationSettings s;
  s.transform = c.transform;
  s.metric.metric = c.metric;
  s.optimizer.kind = c.optimizer;
  const auto r =
      register_images(Exec(), to_memory_space<MS>(fixed), to_memory_space<MS>(moving), s);
  const Recovery e = recovery(r.transform, motion, fixed);
  std::printf(
      "[register] %-34s %3d iterations %6.2f s  mean error %.4f mm  angles %.4f %.4f %.4f "
      "deg\n",
      c.name.c_str(), r.iterations, r.seconds, e.mean_mm, e.angle_error_degrees[0],
      e.angle_error_degrees[1], e.angle_error_degrees[2]);
  for (const auto& l : r.levels) {
    std::printf("           %-10s level %d: %3d iterations, metric %.6g, stop: %s\n",
                std::string(to_string(l.stage)).c_str(), l.level, l.iterations, l.value,
                l.stop_reason.c_str());
  }
  EXPECT_LE(e.mean_mm, 0.5) << c.name;
  for (int a = 0; a < 3; ++a) EXPECT_LE(std::fabs(e.angle_error_degrees[a]), 0.5) << c.name;
}

TYPED_TEST(Registration, RecoversKnownRigidMotionOfCh2better) {
  const auto fixed = ch2_fixed();
  run_acceptance<TypeParam>(
      {"rigid mse rsgd", TransformKind::rigid, Metric::mse, OptimizerKind::regular_step, false},
      fixed);
  run_acceptance<TypeParam>({"rigid mattes rsgd (other contrast)", TransformKind::rigid,
                             Metric::mattes, OptimizerKind::regular_step, true},
                            fixed);
  run_acceptance<TypeParam>({"rigid ncc lbfgs (other contrast)", TransformKind::rigid, Metric::ncc,
                             OptimizerKind::lbfgs, true},
                            fixed);
  run_acceptance<TypeParam>(
      {"affine mse rsgd", TransformKind::affine, Metric::mse, OptimizerKind::regular_step, false},
      fixed);
  run_acceptance<TypeParam>({"affine mattes lbfgs (other contrast)", TransformKind::affine,
                             Metric::mattes, OptimizerKind::lbfgs, true},
                            fixed);
}

// ---------------------------------------------------------------------------
// Metric values against ITK's v4 metrics (linear interpolation, all voxels).

template <class ItkMetric>
double itk_metric_value(typename ItkMetric::Pointer metric, const Image<float, HostMemory>& fixed,
                        const Image<float, HostMemory>& moving, const ParametricTransform& t) {
  using ItkImage = itk::Image<float, 3>;
  auto transform = itk::Euler3DTransform<double>::New();
  itk::Euler3DTransform<double>::FixedParametersType fixed_parameters(4);
  for (unsigned a = 0; a < 3; ++a) fixed_parameters[a] = t.center()[static_cast<int>(a)];
  fixed_parameters[3] = 0.0;
  transform->SetFixedParameters(fixed_parameters);
  itk::Euler3DTransform<double>::ParametersType p(6);
  for (unsigned n = 0; n < 6; ++n) p[n] = t.parameters()[n];
  transform->SetParameters(p);
  const ItkImage::Pointer f = to_itk(fixed), m = to_itk(moving);
  metric->SetFixedImage(f);
  metric->SetMovingImage(m);
  metric->SetMovingTransform(transform);
  metric->Initialize();
  return metric->GetValue();
}

TEST(Metric, ValuesMatchItkMetricsv4) {
  using ItkImage = itk::Image<float, 3>;
  const auto fixed = ch2_fixed();
  const ParametricTransform motion = known_motion(fixed.geometry());
  const auto moving = remapped_with_noise(
      to_host(resample(fixed.geometry(), fixed, motion.affine(), Interp::bspline)));
  ParametricTransform t(TransformKind::rigid, fixed.geometry().center());
  t.set_parameters({-0.1, 0.05, -0.15, -8.0, 6.0, -10.0});
  const auto exec = Kokkos::DefaultHostExecutionSpace();
  const Sampler<float, HostMemory> sampler(exec, moving, Interp::linear);
  struct Case {
    Metric metric;
    double itk;
  };
  const Case cases[] = {
      {Metric::mse,
       itk_metric_value<itk::MeanSquaresImageToImageMetricv4<ItkImage, ItkImage>>(
           itk::MeanSquaresImageToImageMetricv4<ItkImage, ItkImage>::New(), fixed, moving, t)},
      {Metric::ncc,
       itk_metric_value<itk::CorrelationImageToImageMetricv4<ItkImage, ItkImage>>(
           itk::CorrelationImageToImageMetricv4<ItkImage, ItkImage>::New(), fixed, moving, t)},
      {Metric::mattes,
       [&] {
         auto m = itk::MattesMutualInformationImageToImageMetricv4<ItkImage, ItkImage>::New();
         m->SetNumberOfHistogramBins(50);
         return itk_metric_value<
             itk::MattesMutualInformationImageToImageMetricv4<ItkImage, ItkImage>>(m, fixed, moving,
                                                                                   t);
       }()},
  };
  for (const Case& c : cases) {
    const MetricFunction<Kokkos::DefaultHostExecutionSpace, HostMemory> metric(
        exec, fixed, sampler, MetricSettings{c.metric, 50});
    const double value = metric.evaluate(t, nullptr);
    const double relative = std::fabs(value - c.itk) / std::fabs(c.itk);
    std::printf("[vs ITK] metric %-6s medimg %.9g  ITK %.9g  relative difference %.2e\n",
                std::string(to_string(c.metric)).c_str(), value, c.itk, relative);
    // Every sum accumulates in double (core/sums.hpp), on every Kokkos
    // Kernels version: 1e-9 here with Kernels 3.4.1 and 4.6-4.7.
    EXPECT_LE(relative, 1e-6) << to_string(c.metric);
  }
}

// Metric gradients (B-spline moving image, so the metric is smooth)
// against central finite differences, rigid and affine parameters.
TYPED_TEST(Registration, MetricGradientsMatchFiniteDifferences) {
  using MS = typename TypeParam::memory_space;
  const Geometry g(Size3{40, 44, 36}, Vec3{-30, -35, -20}, Vec3{1.6, 1.4, 1.9},
                   oblique_direction());
  // The moving image: smooth, with another (monotone) contrast. The fixed
  // grid is its interior, so small motions never move a fixed voxel across
  // the moving image's edge (where the valid set, and so the metric, jumps).
  auto moving_host = smooth_volume(g);
  for (std::int64_t v = 0; v < g.voxel_count(); ++v) {
    float& m = moving_host.voxels().data()[v];
    m = 2000.0f / (1.0f + m / 100.0f);
  }
  const Geometry inner = cropped_grid(g, Size3{8, 8, 7}, Size3{24, 28, 22});
  ParametricTransform shift(TransformKind::rigid, g.center());
  shift.set_parameters({0.05, -0.04, 0.03, 1.5, -1.0, 0.8});
  const auto fixed_host = resample(inner, smooth_volume(g), shift.affine(), Interp::bspline);
  const auto fixed = to_memory_space<MS>(fixed_host);
  const Sampler<float, MS> sampler(TypeParam(), to_memory_space<MS>(moving_host), Interp::bspline);
  for (Metric m : {Metric::mse, Metric::ncc, Metric::mattes}) {
    const MetricFunction<TypeParam, MS> metric(TypeParam(), fixed, sampler, MetricSettings{m, 50});
    for (TransformKind kind : {TransformKind::rigid, TransformKind::affine}) {
      ParametricTransform t = ParametricTransform(TransformKind::rigid, g.center()).promoted(kind);
      std::vector<double> p = t.parameters();
      if (kind == TransformKind::rigid) {
        p = {-0.02, 0.03, 0.01, -0.5, 0.7, 0.2};
      } else {
        p[1] += 0.02;
        p[9] += 0.6;
      }
      t.set_parameters(p);
      std::vector<double> analytic;
      metric.evaluate(t, &analytic);
      double largest = 0.0, worst = 0.0;
      for (double v : analytic) largest = std::fmax(largest, std::fabs(v));
      for (std::size_t n = 0; n < p.size(); ++n) {
        const double h = (kind == TransformKind::rigid && n >= 3) || n >= 9 ? 1e-2 : 1e-3;
        ParametricTransform tp = t, tm = t;
        auto pp = p, pm = p;
        pp[n] += h;
        pm[n] -= h;
        tp.set_parameters(pp);
        tm.set_parameters(pm);
        const double fd = (metric.evaluate(tp, nullptr) - metric.evaluate(tm, nullptr)) / (2 * h);
        const double relative =
            std::fabs(analytic[n] - fd) / std::fmax(std::fabs(fd), 0.1 * largest);
        worst = std::fmax(worst, relative);
        EXPECT_LE(relative, 5e-3) << to_string(m) << " " << to_string(kind) << " parameter " << n
                                  << ": analytic " << analytic[n] << " fd " << fd;
      }
      std::printf("[fd] metric %-6s %-6s max relative error %.2e (float images)\n",
                  std::string(to_string(m)).c_str(), std::string(to_string(kind)).c_str(), worst);
    }
  }
}

// ---------------------------------------------------------------------------

TEST(Optimizer, BothMethodsReachTheMinimumOfAnIllScaledQuadratic) {
  // f = sum_k w_k (x_k - c_k)^2 with scales telling the optimiser about w.
  const std::vector<double> w = {1.0, 100.0, 0.01}, c = {3.0, -1.0, 20.0};
  const Objective f = [&](const std::vector<double>& x, std::vector<double>& g) {
    double v = 0.0;
    for (std::size_t k = 0; k < 3; ++k) {
      v += w[k] * (x[k] - c[k]) * (x[k] - c[k]);
      g[k] = 2.0 * w[k] * (x[k] - c[k]);
    }
    return v;
  };
  for (OptimizerKind kind : {OptimizerKind::regular_step, OptimizerKind::lbfgs}) {
    OptimizerSettings s;
    s.kind = kind;
    s.learning_rate = 4.0;
    s.minimum_step = 1e-7;
    s.max_iterations = 500;
    const auto r = optimize(f, {0.0, 0.0, 0.0}, w, s);
    for (std::size_t k = 0; k < 3; ++k) EXPECT_NEAR(r.parameters[k], c[k], 1e-3) << to_string(kind);
    EXPECT_FALSE(r.stop_reason.empty());
    std::printf("[optimizer] %-5s %3d iterations, value %.3g, stop: %s\n",
                std::string(to_string(kind)).c_str(), r.iterations, r.value, r.stop_reason.c_str());
  }
}

TEST(Optimizer, ScalesFromPhysicalShiftMatchTheirDefinition) {
  const Geometry g = synthetic_grid();
  ParametricTransform t(TransformKind::rigid, g.center());
  const auto scales = physical_shift_scales(t, g);
  // Translations move every point by the variation: scale 1.
  for (std::size_t k = 3; k < 6; ++k) EXPECT_NEAR(scales[k], 1.0, 1e-9);
  // Rotations move the farthest corner by about its distance from the axis.
  for (std::size_t k = 0; k < 3; ++k) EXPECT_GT(scales[k], 100.0);
}

TEST(TransformFile, ItkReadsTheTransformAndResamplesLikeMedimg) {
  const auto dir = scratch_dir();
  const Geometry g = synthetic_grid();
  const auto image = smooth_volume(g);
  itk::TxtTransformIOFactory::RegisterOneFactory();
  for (TransformKind kind :
       {TransformKind::rigid, TransformKind::affine, TransformKind::translation,
        TransformKind::scale, TransformKind::similarity}) {
    ParametricTransform t(kind, g.center());
    std::vector<double> p = t.parameters();
    for (std::size_t n = 0; n < p.size(); ++n) p[n] += 0.03 * std::sin(1.7 * double(n) + 0.4);
    if (kind == TransformKind::translation || kind == TransformKind::rigid ||
        kind == TransformKind::similarity) {
      p[kind == TransformKind::translation ? 0 : 3] += 2.5;
    }
    t.set_parameters(p);
    const std::string path = (dir / (std::string(to_string(kind)) + ".tfm")).string();
    save_transform(t, path);
    // ITK reads it...
    auto reader = itk::TransformFileReaderTemplate<double>::New();
    reader->SetFileName(path);
    reader->Update();
    auto* itk_transform = dynamic_cast<itk::Transform<double, 3, 3>*>(
        reader->GetTransformList()->front().GetPointer());
    ASSERT_NE(itk_transform, nullptr);
    // ... and resamples with it.
    using ItkImage = itk::Image<float, 3>;
    auto resampler = itk::ResampleImageFilter<ItkImage, ItkImage>::New();
    resampler->SetInput(to_itk(image));
    resampler->SetTransform(itk_transform);
    resampler->SetInterpolator(itk::LinearInterpolateImageFunction<ItkImage, double>::New());
    resampler->SetReferenceImage(to_itk(image));
    resampler->UseReferenceImageOn();
    resampler->Update();
    const auto theirs = from_itk_image(*resampler->GetOutput());
    const auto ours = resample(g, image, t.affine(), Interp::linear);
    double worst = 0.0;
    for (std::int64_t v = 0; v < g.voxel_count(); ++v) {
      worst =
          std::fmax(worst, std::fabs(double(theirs.voxels().data()[v]) - ours.voxels().data()[v]));
    }
    std::printf("[vs ITK] %-11s .tfm read by ITK, ITK resample vs medimg: max difference %.2e\n",
                std::string(to_string(kind)).c_str(), worst);
    EXPECT_LE(worst, 1e-2) << to_string(kind);
    // medimg reads it back too (similarity comes back as its affine).
    const ParametricTransform back = load_transform(path);
    const AffineTransform a = back.affine(), b = t.affine();
    for (int r = 0; r < 3; ++r) {
      EXPECT_NEAR(a.offset()[r], b.offset()[r], 1e-9);
      for (int s = 0; s < 3; ++s) EXPECT_NEAR(a.matrix()[r][s], b.matrix()[r][s], 1e-12);
    }
  }
}

TEST(TransformFile, BadPathsAreRejectedBeforeAnythingIsWritten) {
  const auto dir = scratch_dir();
  const ParametricTransform t(TransformKind::rigid);
  EXPECT_THROW(save_transform(t, (dir / "t.nii").string()), Error);
  EXPECT_THROW(save_transform(t, (dir / "missing" / "t.tfm").string()), Error);
  EXPECT_THROW(load_transform((dir / "absent.tfm").string()), Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

// What ITK 5.2's reader trusts and medimg checks first (fuzz/ found each):
// counts split over two Parameters lines (ITK keeps the last, 2 values, and
// reads freed memory for the rest), a short line, a second transform.
TEST(TransformFile, MalformedTextIsRefusedBeforeItkParsesIt) {
  const auto dir = scratch_dir();
  const std::string header = "#Insight Transform File V1.0\n#Transform 0\n";
  const std::string euler = "Transform: Euler3DTransform_double_3_3\n";
  const struct {
    const char* name;
    std::string text;
    const char* reason;
  } cases[] = {
      {"split",
       "Parameters: 1 0.02 -9 -0.5\n" + euler +
           "Parameters: 0.05 0.06\nFixedParameters: 1.5 -1 3 0\n",
       "line 3: Parameters before the Transform line"},
      {"twice", euler + "Parameters: 1 2 3\nParameters: 4 5 6\nFixedParameters: 0 0 0\n",
       "line 5: a second Parameters line"},
      {"short", euler + "Parameters: 0.05 0.06\nFixedParameters: 0 0 0\n",
       "a Euler3DTransform has 6 Parameters, not 2"},
      {"hex", euler + "Parameters: 0.01 02 .01 0x4 0.05 0.06\nFixedParameters: 5 -2 3 0\n",
       "line 4: Parameters holds '0x4', not a finite decimal number"},
      {"two", euler + "Parameters: 0 0 0 0 0 0\nFixedParameters: 0 0 0\n" + euler,
       "must hold exactly one transform, not 2"},
  };
  for (const auto& c : cases) {
    const auto path = dir / (std::string(c.name) + ".tfm");
    std::ofstream(path) << header << c.text;
    try {
      (void)load_transform(path.string());
      ADD_FAILURE() << c.name << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.reason), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace medimg::test
