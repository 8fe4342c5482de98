// register_images: intensity-based registration driven by the adjoint of the
// resample kernel (DESIGN.md section 4), in ITK's ImageRegistrationMethodv4
// arrangement:
//
//   1. centred initialisation (CenteredTransformInitializer, GEOMETRY): the
//      centre of rotation is the fixed image's centre, the translation
//      moves it onto the moving image's centre;
//   2. stages: `rigid` runs one rigid stage; `affine` runs a rigid stage,
//      then an affine stage started from its result (also `translation`,
//      `similarity`, `scale` alone);
//   3. each stage runs the pyramid levels coarse to fine (shrink factors
//      2^(levels-1) .. 1, Gaussian sigmas factor / 2 mm, 0 at full size);
//      at each level the parameter scales are estimated from physical
//      shifts and the optimiser runs on the metric.
//
// The transform maps fixed points to moving points: resampling the moving
// image onto the fixed grid with it aligns the two.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "medimg/register/metric.hpp"
#include "medimg/register/optimizer.hpp"
#include "medimg/register/pyramid.hpp"
#include "medimg/transform/parametric.hpp"

namespace medimg {

struct RegistrationSettings {
  TransformKind transform = TransformKind::rigid;
  MetricSettings metric;
  OptimizerSettings optimizer;
  int levels = 3;
  Interp interp = Interp::linear;  // of the moving image in the metric
};

struct IterationReport {
  TransformKind stage;
  int level;  // 1 = coarsest
  int levels;
  int iteration;
  double value;
  double step;
};

struct LevelReport {
  TransformKind stage;
  int level;
  int shrink;
  double sigma_mm;
  int iterations;
  double value;
  std::string stop_reason;
  double seconds;
};

struct RegistrationResult {
  ParametricTransform transform{TransformKind::rigid};
  std::vector<LevelReport> levels;
  int iterations = 0;
  double seconds = 0.0;
};

// The centred initial transform of `kind` (GEOMETRY initialisation).
ParametricTransform centered_initial_transform(TransformKind kind, const Geometry& fixed,
                                               const Geometry& moving);

template <class ExecutionSpace, class MemorySpace>
RegistrationResult register_images(const ExecutionSpace& exec,
                                   const Image<float, MemorySpace>& fixed,
                                   const Image<float, MemorySpace>& moving,
                                   const RegistrationSettings& settings,
                                   const std::function<void(const IterationReport&)>& report = {}) {
  if (settings.levels < 1 || settings.levels > 8) {
    throw Error("registration: levels must be between 1 and 8");
  }
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::vector<TransformKind> stages;
  if (settings.transform == TransformKind::affine) stages.push_back(TransformKind::rigid);
  stages.push_back(settings.transform);
  RegistrationResult result;
  ParametricTransform current =
      centered_initial_transform(stages.front(), fixed.geometry(), moving.geometry());
  struct Level {
    Image<float, MemorySpace> fixed, moving;
  };
  std::vector<Level> pyramid;
  for (int l = 0; l < settings.levels; ++l) {
    const int factor = 1 << (settings.levels - 1 - l);
    const double sigma = factor > 1 ? 0.5 * factor : 0.0;
    pyramid.push_back(
        Level{pyramid_level(exec, fixed, factor, sigma), smooth_gaussian(exec, moving, sigma)});
  }
  for (TransformKind stage : stages) {
    current = current.promoted(stage);
    for (int l = 0; l < settings.levels; ++l) {
      const auto level_start = Clock::now();
      const int factor = 1 << (settings.levels - 1 - l);
      const Sampler<float, MemorySpace> sampler(exec, pyramid[l].moving, settings.interp);
      const MetricFunction<ExecutionSpace, MemorySpace> metric(exec, pyramid[l].fixed, sampler,
                                                               settings.metric);
      const Objective objective = [&](const std::vector<double>& p, std::vector<double>& g) {
        ParametricTransform t = current;
        t.set_parameters(p);
        return metric.evaluate(t, &g);
      };
      const std::vector<double> scales =
          physical_shift_scales(current, pyramid[l].fixed.geometry());
      const OptimizerResult r = optimize(
          objective, current.parameters(), scales, settings.optimizer,
          [&](int iteration, double value, double step) {
            if (report)
              report(IterationReport{stage, l + 1, settings.levels, iteration, value, step});
          });
      current.set_parameters(r.parameters);
      result.iterations += r.iterations;
      result.levels.push_back(LevelReport{
          stage, l + 1, factor, factor > 1 ? 0.5 * factor : 0.0, r.iterations, r.value,
          r.stop_reason, std::chrono::duration<double>(Clock::now() - level_start).count()});
    }
  }
  result.transform = current;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace medimg
