#include "medimg/register/optimizer.hpp"

#include <KokkosBlas1_axpby.hpp>
#include <KokkosBlas1_dot.hpp>
#include <KokkosBlas1_mult.hpp>
#include <KokkosBlas1_nrm2.hpp>
#include <KokkosBlas1_scal.hpp>
#include <Kokkos_Core.hpp>
#include <cmath>
#include <deque>
#include <limits>
#include <sstream>

#include "medimg/core/error.hpp"

namespace medimg {

namespace {

using Vector = Kokkos::View<double*, Kokkos::HostSpace>;

Vector make(const std::vector<double>& v, const char* label) {
  Vector out(std::string(label), v.size());
  for (std::size_t n = 0; n < v.size(); ++n) out(n) = v[n];
  return out;
}

std::vector<double> to_vector(const Vector& v) {
  return std::vector<double>(v.data(), v.data() + v.extent(0));
}

Vector copy(const Vector& v, const char* label) {
  Vector out(std::string(label), v.extent(0));
  Kokkos::deep_copy(out, v);
  return out;
}

// value and gradient at x (a View), through the std::vector objective.
double call(const Objective& f, const Vector& x, Vector& gradient) {
  std::vector<double> g(x.extent(0), 0.0);
  const double value = f(to_vector(x), g);
  if (!std::isfinite(value)) throw Error("registration: the metric is not finite");
  gradient = make(g, "medimg::gradient");
  return value;
}

OptimizerResult regular_step(const Objective& f, const Vector& x, const Vector& inverse_scales,
                             const OptimizerSettings& s, const IterationCallback& callback) {
  const std::size_t n = x.extent(0);
  Vector gradient, previous("medimg::previous_direction", n), direction("medimg::direction", n);
  double relaxation = 1.0;
  OptimizerResult result;
  for (int iteration = 0;; ++iteration) {
    result.value = call(f, x, gradient);
    result.iterations = iteration;
    if (iteration >= s.max_iterations) {
      result.stop_reason =
          "maximum number of iterations (" + std::to_string(s.max_iterations) + ") reached";
      break;
    }
    // direction = -(gradient / scales) (ITK's scaled derivative).
    KokkosBlas::mult(0.0, direction, -1.0, inverse_scales, gradient);
    const double magnitude = KokkosBlas::nrm2(direction);
    if (magnitude < s.gradient_tolerance) {
      std::ostringstream why;
      why << "gradient magnitude " << magnitude << " below tolerance " << s.gradient_tolerance;
      result.stop_reason = why.str();
      break;
    }
    if (iteration > 0 && KokkosBlas::dot(direction, previous) < 0.0) relaxation *= s.relaxation;
    const double step = relaxation * s.learning_rate;
    if (step < s.minimum_step) {
      std::ostringstream why;
      why << "step " << step << " below minimum step " << s.minimum_step;
      result.stop_reason = why.str();
      break;
    }
    Kokkos::deep_copy(previous, direction);
    KokkosBlas::axpby(step / magnitude, direction, 1.0, x);  // x += step * direction / |direction|
    if (callback) callback(iteration + 1, result.value, step);
  }
  result.parameters = to_vector(x);
  return result;
}

OptimizerResult lbfgs(const Objective& f, const Vector& theta, const Vector& inverse_scales,
                      const OptimizerSettings& s, const IterationCallback& callback) {
  const std::size_t n = theta.extent(0);
  // u = theta sqrt(s): the objective in u has gradient g / sqrt(s).
  Vector root("medimg::inverse_root_scales", n);
  for (std::size_t k = 0; k < n; ++k) root(k) = std::sqrt(inverse_scales(k));
  auto evaluate = [&](const Vector& u, Vector& gu) {
    Vector th("medimg::theta", n), g;
    KokkosBlas::mult(0.0, th, 1.0, root, u);
    const double value = call(f, th, g);
    gu = Vector("medimg::scaled_gradient", n);
    KokkosBlas::mult(0.0, gu, 1.0, root, g);
    return value;
  };
  Vector u("medimg::u", n);
  for (std::size_t k = 0; k < n; ++k) u(k) = theta(k) / root(k);
  Vector g;
  double value = evaluate(u, g);
  struct Pair {
    Vector s, y;
    double rho;
  };
  std::deque<Pair> history;
  OptimizerResult result;
  int iteration = 0;
  for (;; ++iteration) {
    result.iterations = iteration;
    if (iteration >= s.max_iterations) {
      result.stop_reason =
          "maximum number of iterations (" + std::to_string(s.max_iterations) + ") reached";
      break;
    }
    const double gnorm = KokkosBlas::nrm2(g);
    if (gnorm < s.gradient_tolerance) {
      std::ostringstream why;
      why << "gradient magnitude " << gnorm << " below tolerance " << s.gradient_tolerance;
      result.stop_reason = why.str();
      break;
    }
    // Two-loop recursion: d = -H g.
    Vector d = copy(g, "medimg::direction");
    std::vector<double> alpha(history.size());
    for (std::size_t h = history.size(); h-- > 0;) {
      alpha[h] = history[h].rho * KokkosBlas::dot(history[h].s, d);
      KokkosBlas::axpby(-alpha[h], history[h].y, 1.0, d);
    }
    if (!history.empty()) {
      const Pair& last = history.back();
      KokkosBlas::scal(d, KokkosBlas::dot(last.s, last.y) / KokkosBlas::dot(last.y, last.y), d);
    }
    for (std::size_t h = 0; h < history.size(); ++h) {
      const double beta = history[h].rho * KokkosBlas::dot(history[h].y, d);
      KokkosBlas::axpby(alpha[h] - beta, history[h].s, 1.0, d);
    }
    KokkosBlas::scal(d, -1.0, d);
    double slope = KokkosBlas::dot(g, d);
    if (!(slope < 0.0)) {  // not a descent direction: restart from the gradient
      history.clear();
      d = copy(g, "medimg::direction");
      KokkosBlas::scal(d, -1.0, d);
      slope = -gnorm * gnorm;
    }
    // Backtracking line search; the first trial moves by <= learning_rate.
    const double dnorm = KokkosBlas::nrm2(d);
    double t = dnorm > s.learning_rate ? s.learning_rate / dnorm : 1.0;
    Vector trial("medimg::trial", n), gt;
    double vt = 0.0;
    bool accepted = false;
    for (int tries = 0; tries < 30; ++tries) {
      Kokkos::deep_copy(trial, u);
      KokkosBlas::axpby(t, d, 1.0, trial);
      vt = evaluate(trial, gt);
      if (vt <= value + 1e-4 * t * slope) {
        accepted = true;
        break;
      }
      t *= 0.5;
      if (t * dnorm < s.minimum_step) break;
    }
    if (!accepted) {
      result.stop_reason = "line search found no decrease above the minimum step";
      break;
    }
    Pair pair{Vector("medimg::s", n), copy(gt, "medimg::y"), 0.0};
    Kokkos::deep_copy(pair.s, trial);
    KokkosBlas::axpby(-1.0, u, 1.0, pair.s);  // s = trial - u
    KokkosBlas::axpby(-1.0, g, 1.0, pair.y);  // y = gt - g
    const double sy = KokkosBlas::dot(pair.s, pair.y);
    if (sy > 1e-12) {
      pair.rho = 1.0 / sy;
      history.push_back(pair);
      if (history.size() > 5) history.pop_front();
    }
    const double change = std::fabs(value - vt);
    const double step = t * dnorm;
    Kokkos::deep_copy(u, trial);
    g = gt;
    const double previous = value;
    value = vt;
    if (callback) callback(iteration + 1, value, step);
    if (change <= s.value_tolerance * std::fmax(1.0, std::fabs(previous))) {
      result.iterations = iteration + 1;
      std::ostringstream why;
      why << "relative change of the metric below " << s.value_tolerance;
      result.stop_reason = why.str();
      break;
    }
  }
  Vector th("medimg::theta", n);
  KokkosBlas::mult(0.0, th, 1.0, root, u);
  result.parameters = to_vector(th);
  result.value = value;
  return result;
}

}  // namespace

std::string_view to_string(OptimizerKind kind) {
  return kind == OptimizerKind::lbfgs ? "lbfgs" : "rsgd";
}

OptimizerKind parse_optimizer(std::string_view name) {
  if (name == "rsgd") return OptimizerKind::regular_step;
  if (name == "lbfgs") return OptimizerKind::lbfgs;
  throw Error("unknown optimizer '" + std::string(name) + "': use rsgd or lbfgs");
}

OptimizerResult optimize(const Objective& objective, const std::vector<double>& start,
                         const std::vector<double>& scales, const OptimizerSettings& settings,
                         const IterationCallback& callback) {
  if (scales.size() != start.size()) throw Error("optimizer: one scale per parameter is needed");
  if (!(settings.learning_rate > 0.0) ||
      !(settings.relaxation > 0.0 && settings.relaxation < 1.0) || settings.max_iterations < 0) {
    throw Error("optimizer: learning rate > 0, 0 < relaxation < 1 and iterations >= 0 are needed");
  }
  Vector x = make(start, "medimg::parameters");
  Vector inverse_scales("medimg::inverse_scales", scales.size());
  for (std::size_t k = 0; k < scales.size(); ++k) {
    if (!(scales[k] > 0.0)) throw Error("optimizer: parameter scales must be positive");
    inverse_scales(k) = 1.0 / scales[k];
  }
  return settings.kind == OptimizerKind::lbfgs
             ? lbfgs(objective, x, inverse_scales, settings, callback)
             : regular_step(objective, x, inverse_scales, settings, callback);
}

std::vector<double> physical_shift_scales(const ParametricTransform& transform,
                                          const Geometry& fixed) {
  constexpr double variation = 0.01;  // ITK's SmallParameterVariation
  std::vector<Vec3> corners;
  for (int c = 0; c < 8; ++c) {
    corners.push_back(fixed.index_to_physical(Vec3{(c & 1) ? double(fixed.size()[0] - 1) : 0.0,
                                                   (c & 2) ? double(fixed.size()[1] - 1) : 0.0,
                                                   (c & 4) ? double(fixed.size()[2] - 1) : 0.0}));
  }
  const AffineTransform base = transform.affine();
  std::vector<double> scales(transform.size(), 0.0);
  double smallest = std::numeric_limits<double>::max();
  for (std::size_t k = 0; k < transform.size(); ++k) {
    ParametricTransform moved = transform;
    std::vector<double> p = transform.parameters();
    p[k] += variation;
    moved.set_parameters(p);
    const AffineTransform shifted = moved.affine();
    double largest = 0.0;
    for (const Vec3& x : corners) {
      const Vec3 a = base.apply(x), b = shifted.apply(x);
      largest = std::fmax(largest,
                          std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                                    (a[2] - b[2]) * (a[2] - b[2])));
    }
    scales[k] = largest;
    if (largest > std::numeric_limits<double>::epsilon()) smallest = std::fmin(smallest, largest);
  }
  for (double& s : scales) {
    s = s > std::numeric_limits<double>::epsilon() ? s * s : smallest * smallest;
    s /= variation * variation;
  }
  return scales;
}

}  // namespace medimg
