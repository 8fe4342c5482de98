// Distributed registration under mpiexec (1, 2, 3 and 4 ranks): the
// distributed metrics (MSE, NCC, Mattes) give the single-process value and
// gradient up to reduction order, and an optimiser driven by them takes the
// same iterations to the same transform as on one process.
#include <gtest/gtest.h>
#include <mpi.h>

#include "mpi_support.hpp"

#include <cmath>

#include "../test_support.hpp"
#include "medimg/dist/metric.hpp"
#include "medimg/register/optimizer.hpp"
#include "medimg/register/registration.hpp"

namespace medimg::test {
namespace {

using Exec = Kokkos::DefaultExecutionSpace;

struct Pair {
  Image<float, HostMemory> fixed, moving;
};

// A smooth volume and a copy moved by a known rigid transform; the moving
// one with another contrast for NCC and Mattes.
Pair pair(bool other_contrast) {
  const Geometry g = synthetic_grid();
  const auto fixed = smooth_volume(g);
  ParametricTransform motion(TransformKind::rigid, g.center());
  motion.set_parameters({0.05, -0.04, 0.07, 1.5, -1.0, 2.0});
  auto moved = to_host(resample(g, to_device(fixed), motion.affine(), Interp::linear));
  if (other_contrast) {
    for (std::int64_t v = 0; v < g.voxel_count(); ++v) {
      const float x = moved.voxels().data()[v];
      moved.voxels().data()[v] = 1000.0f - 0.8f * x + 1e-4f * x * x;
    }
  }
  return Pair{fixed, moved};
}

// The same metric on k-slabs and on one process (linear interpolation).
struct Metrics {
  Metrics(const Pair& p, Metric metric)
      : distributed(Exec(), distribute<float>(MPI_COMM_WORLD, p.fixed, 0, 0),
                    DistributedSampler<float, DeviceMemory>(
                        Exec(), distribute<float>(MPI_COMM_WORLD, p.moving, 0, 0), Interp::linear),
                    MetricSettings{metric, 32}),
        serial(Exec(), to_device(p.fixed),
               Sampler<float, DeviceMemory>(Exec(), to_device(p.moving), Interp::linear),
               MetricSettings{metric, 32}) {}
  DistributedMetricFunction<Exec, DeviceMemory> distributed;
  MetricFunction<Exec, DeviceMemory> serial;
};

TEST(DistributedRegistration, MetricsMatchTheSingleProcessOnes) {
  for (Metric metric : {Metric::mse, Metric::ncc, Metric::mattes}) {
    const Pair p = pair(metric != Metric::mse);
    const Metrics m(p, metric);
    const auto& distributed = m.distributed;
    const auto& serial = m.serial;
    ParametricTransform t(TransformKind::rigid, p.fixed.geometry().center());
    t.set_parameters({-0.03, 0.02, -0.05, -1.0, 0.5, -1.5});
    std::vector<double> gd, gs;
    std::int64_t nd = 0, ns = 0;
    const double vd = distributed.evaluate(t, &gd, &nd);
    const double vs = serial.evaluate(t, &gs, &ns);
    EXPECT_EQ(nd, ns) << to_string(metric);
    // The metric's sums accumulate in double (core/sums.hpp): slab-wise
    // partial sums round differently only at double's level.
    EXPECT_NEAR(vd, vs, 1e-12 * std::fabs(vs)) << to_string(metric);
    double scale = 0.0;
    for (double x : gs) scale = std::max(scale, std::fabs(x));
    for (std::size_t k = 0; k < gs.size(); ++k) {
      EXPECT_NEAR(gd[k], gs[k], 1e-10 * scale) << to_string(metric) << " parameter " << k;
    }
    // Every rank holds the same value.
    double values[2] = {vd, -vd};
    MPI_Allreduce(MPI_IN_PLACE, values, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    EXPECT_EQ(values[0], -values[1]);
    if (world_rank() == 0) {
      double worst = 0.0;
      for (std::size_t k = 0; k < gs.size(); ++k) worst = std::max(worst, std::fabs(gd[k] - gs[k]));
      std::cout << "  " << to_string(metric) << ": value rel. diff "
                << std::fabs(vd - vs) / std::fabs(vs) << ", gradient " << worst / scale << "\n";
    }
  }
}

TEST(DistributedRegistration, OptimiserTakesTheSingleProcessSteps) {
  for (Metric metric : {Metric::mse, Metric::mattes}) {
    const Pair p = pair(metric != Metric::mse);
    const Metrics m(p, metric);
    const auto& distributed = m.distributed;
    const auto& serial = m.serial;
    const ParametricTransform start =
        centered_initial_transform(TransformKind::rigid, p.fixed.geometry(), p.moving.geometry());
    const std::vector<double> scales = physical_shift_scales(start, p.fixed.geometry());
    OptimizerSettings settings;
    settings.learning_rate = 1.0;
    settings.max_iterations = 60;
    auto run = [&](const auto& metric_function, std::vector<double>& values) {
      const Objective objective = [&](const std::vector<double>& x, std::vector<double>& g) {
        ParametricTransform t = start;
        t.set_parameters(x);
        return metric_function.evaluate(t, &g);
      };
      return optimize(objective, start.parameters(), scales, settings,
                      [&](int, double value, double) { values.push_back(value); });
    };
    std::vector<double> dv, sv;
    const OptimizerResult d = run(distributed, dv);
    const OptimizerResult s = run(serial, sv);
    EXPECT_EQ(d.iterations, s.iterations) << to_string(metric);
    ASSERT_EQ(dv.size(), sv.size());
    for (std::size_t i = 0; i < dv.size(); ++i) {
      EXPECT_NEAR(dv[i], sv[i], 1e-6 * std::fabs(sv[i])) << to_string(metric) << " iteration " << i;
    }
    for (std::size_t k = 0; k < s.parameters.size(); ++k) {
      EXPECT_NEAR(d.parameters[k], s.parameters[k], 1e-5)
          << to_string(metric) << " parameter " << k;
    }
    if (world_rank() == 0) {
      std::cout << "  " << to_string(metric) << ": " << d.iterations << " iterations, final "
                << d.value << " vs " << s.value << "\n";
    }
  }
}

}  // namespace
}  // namespace medimg::test
