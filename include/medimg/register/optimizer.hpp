// Optimisers for registration. Parameters are small vectors, but their
// algebra still goes through Kokkos Kernels' BLAS-1 (dot, nrm2, axpby,
// mult, scal) on host Views, like the image algebra of the metrics.
//
// Parameter scales (ITK's optimizer scales): s_k = (largest physical shift of
// the fixed image's corners per unit of parameter k)^2
// (RegistrationParameterScalesFromPhysicalShift, small variation 0.01), so
// a scaled step of length 1 moves points by about 1 mm whatever the
// parameter's unit.
//
// regular_step_gradient_descent follows ITK's
// RegularStepGradientDescentOptimizerv4: direction -g / s, step length
// learning_rate * relaxation^(number of direction reversals), stops when the
// step falls below minimum_step, the scaled gradient below
// gradient_tolerance, or after max_iterations.
//
// lbfgs: limited-memory BFGS (5 pairs) in the scaled variables
// u_k = theta_k sqrt(s_k), two-loop recursion, backtracking Armijo line
// search whose first trial moves points by at most learning_rate mm; stops
// on a small scaled gradient, a relative change of the value below
// value_tolerance, a failed line search, or max_iterations.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "medimg/core/geometry.hpp"
#include "medimg/transform/parametric.hpp"

namespace medimg {

enum class OptimizerKind { regular_step, lbfgs };
std::string_view to_string(OptimizerKind kind);
// "rsgd" | "lbfgs"; throws medimg::Error otherwise.
OptimizerKind parse_optimizer(std::string_view name);

struct OptimizerSettings {
  OptimizerKind kind = OptimizerKind::regular_step;
  double learning_rate = 2.0;  // mm (scaled units)
  double minimum_step = 1e-3;
  double relaxation = 0.5;
  double gradient_tolerance = 1e-6;
  double value_tolerance = 1e-9;
  int max_iterations = 200;
};

// f(theta, gradient) -> value; fills gradient with dL/dtheta.
using Objective = std::function<double(const std::vector<double>&, std::vector<double>&)>;
// Called after each iteration with (iteration, value, step length).
using IterationCallback = std::function<void(int, double, double)>;

struct OptimizerResult {
  std::vector<double> parameters;
  double value = 0.0;
  int iterations = 0;
  std::string stop_reason;
};

OptimizerResult optimize(const Objective& objective, const std::vector<double>& start,
                         const std::vector<double>& scales, const OptimizerSettings& settings,
                         const IterationCallback& callback = {});

// ITK's RegistrationParameterScalesFromPhysicalShift over the 8 corner
// voxels of `fixed`, for `transform` at its current parameters.
std::vector<double> physical_shift_scales(const ParametricTransform& transform,
                                          const Geometry& fixed);

}  // namespace medimg
