// The adjoints (DESIGN.md section 4), on every backend:
// - dot-product tests |<A x, y> - <x, A^T y>| <= tol |A x| |y| (double 1e-12,
//   float 1e-5) for the resample kernel (affine, displacement field) and
//   every op, with every interpolator, on oblique anisotropic grids;
// - central finite differences of every parameter gradient (affine,
//   rigid, similarity, scale, translation, displacement field);
// - deterministic accumulation bit-identical over 3 runs, and the scatter
//   mode equal to it within rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>

#include "backends.hpp"
#include "medimg/ops/affine.hpp"
#include "medimg/ops/cast.hpp"
#include "medimg/ops/change_orientation.hpp"
#include "medimg/ops/crop.hpp"
#include "medimg/ops/flip.hpp"
#include "medimg/ops/pad.hpp"
#include "medimg/ops/resample_to_image.hpp"
#include "medimg/ops/resample_to_spacing.hpp"
#include "medimg/ops/resize.hpp"
#include "medimg/ops/rotate.hpp"
#include "medimg/ops/scale.hpp"
#include "medimg/ops/translate.hpp"
#include "medimg/resample/backward.hpp"
#include "medimg/transform/parametric.hpp"
#include "test_support.hpp"

namespace medimg::test {
namespace {

template <class T>
Image<T, HostMemory> random_image(const Geometry& g, unsigned seed) {
  Image<T, HostMemory> image(g);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const std::int64_t n = g.voxel_count();
  for (std::int64_t v = 0; v < n; ++v) image.voxels().data()[v] = static_cast<T>(u(rng));
  return image;
}

template <class A, class B>
double dot(const Image<A, HostMemory>& a, const Image<B, HostMemory>& b) {
  double sum = 0.0;
  for (std::int64_t v = 0; v < a.geometry().voxel_count(); ++v) {
    sum += static_cast<double>(a.voxels().data()[v]) * static_cast<double>(b.voxels().data()[v]);
  }
  return sum;
}

template <class T>
double norm(const Image<T, HostMemory>& a) {
  return std::sqrt(dot(a, a));
}

// A field of displacements (mm) on a coarse grid over `g`.
template <class MemorySpace>
DisplacementFieldTransform<MemorySpace> smooth_field(const Geometry& g, double amplitude) {
  const Geometry grid(Size3{9, 8, 7}, g.index_to_physical(Vec3{-1.0, -1.5, 0.5}),
                      Vec3{g.spacing()[0] * 5.3, g.spacing()[1] * 5.1, g.spacing()[2] * 4.2},
                      g.direction());
  using View = typename DisplacementFieldTransform<MemorySpace>::component_view;
  View d[3];
  for (int c = 0; c < 3; ++c) {
    auto host = Kokkos::View<double***, Kokkos::LayoutLeft, HostMemory>("d", 9, 8, 7);
    for (int k = 0; k < 7; ++k) {
      for (int j = 0; j < 8; ++j) {
        for (int i = 0; i < 9; ++i) {
          host(i, j, k) = amplitude * std::sin(0.7 * i + 1.3 * c) * std::cos(0.5 * j - 0.4 * k);
        }
      }
    }
    d[c] = Kokkos::create_mirror_view_and_copy(MemorySpace(), host);
  }
  return DisplacementFieldTransform<MemorySpace>(grid, d[0], d[1], d[2]);
}

const Interp all_interps[] = {Interp::nearest, Interp::linear, Interp::bspline};

template <class T>
double dot_tolerance() {
  return std::is_same_v<T, double> ? 1e-12 : 1e-5;
}

// One linear operator: forward on the input grid, backward on the output.
template <class T>
struct LinearOp {
  std::string name;
  Geometry input;
  std::function<Image<T, HostMemory>(const Image<T, HostMemory>&)> forward;
  std::function<Image<T, HostMemory>(const Image<T, HostMemory>&)> backward;
};

// <A x, y> = <x, A^T y> for random x, y.
template <class T>
void expect_adjoint(const LinearOp<T>& op, unsigned seed) {
  const auto x = random_image<T>(op.input, seed);
  const auto ax = op.forward(x);
  const auto y = random_image<T>(ax.geometry(), seed + 1);
  const auto aty = op.backward(y);
  ASSERT_TRUE(aty.geometry().same_grid(op.input, 0.0)) << op.name;
  const double lhs = dot(ax, y);
  const double rhs = dot(x, aty);
  const double scale = norm(ax) * norm(y);
  ASSERT_GT(scale, 0.0) << op.name;
  const double relative = std::fabs(lhs - rhs) / scale;
  std::printf("[dot] %-48s %-7s %-6s |<Ax,y> - <x,A'y>| / |Ax||y| = %.2e\n", op.name.c_str(),
              std::is_same_v<T, double> ? "double" : "float", "", relative);
  EXPECT_LE(relative, dot_tolerance<T>())
      << op.name << ": <Ax,y> = " << lhs << ", <x,A'y> = " << rhs;
}

template <class Exec, class T>
std::vector<LinearOp<T>> kernel_ops() {
  using MS = typename Exec::memory_space;
  std::vector<LinearOp<T>> ops;
  const Geometry in = synthetic_grid();
  const Geometry out = other_grid(in);
  const AffineTransform general(
      Mat3{Vec3{1.05, 0.08, -0.03}, Vec3{-0.06, 0.93, 0.11}, Vec3{0.02, -0.07, 1.1}},
      Vec3{1.7, -2.3, 0.9}, in.center());
  const auto field = smooth_field<MS>(out, 2.5);
  for (Interp interp : all_interps) {
    const std::string suffix = std::string(" ") + std::string(to_string(interp));
    ops.push_back({"kernel affine, other grid" + suffix, in,
                   [=](const Image<T, HostMemory>& x) {
                     return to_host(resample(Exec(), out, to_memory_space<MS>(x), general, interp));
                   },
                   [=](const Image<T, HostMemory>& y) {
                     return to_host(resample_backward_image(Exec(), out, in, interp, general,
                                                            to_memory_space<MS>(y)));
                   }});
    ops.push_back({"kernel displacement field" + suffix, in,
                   [=](const Image<T, HostMemory>& x) {
                     return to_host(resample(Exec(), out, to_memory_space<MS>(x), field, interp));
                   },
                   [=](const Image<T, HostMemory>& y) {
                     return to_host(resample_backward_image(Exec(), out, in, interp, field,
                                                            to_memory_space<MS>(y)));
                   }});
    ops.push_back({"kernel affine, deterministic" + suffix, in,
                   [=](const Image<T, HostMemory>& x) {
                     return to_host(resample(Exec(), out, to_memory_space<MS>(x), general, interp));
                   },
                   [=](const Image<T, HostMemory>& y) {
                     return to_host(resample_backward_image(Exec(), out, in, interp, general,
                                                            to_memory_space<MS>(y),
                                                            Accumulation::deterministic));
                   }});
  }
  return ops;
}

template <class Exec, class T>
std::vector<LinearOp<T>> geometric_ops() {
  using MS = typename Exec::memory_space;
  std::vector<LinearOp<T>> ops;
  const Geometry g = synthetic_grid();
  auto dev = [](const Image<T, HostMemory>& x) { return to_memory_space<MS>(x); };
  for (Interp interp : all_interps) {
    const std::string s = std::string(" ") + std::string(to_string(interp));
    ops.push_back({"rotate k 23 deg, expand" + s, g,
                   [=](const auto& x) {
                     return to_host(rotate(Exec(), dev(x), Axis::k, 23.0, interp, 0.0, true));
                   },
                   [=](const auto& y) {
                     return to_host(
                         rotate_backward(Exec(), g, dev(y), Axis::k, 23.0, interp, true));
                   }});
    ops.push_back(
        {"rotate i -31 deg" + s, g,
         [=](const auto& x) { return to_host(rotate(Exec(), dev(x), Axis::i, -31.0, interp)); },
         [=](const auto& y) {
           return to_host(rotate_backward(Exec(), g, dev(y), Axis::i, -31.0, interp));
         }});
    const Vec3 factors{0.8, 1.25, 1.1};
    ops.push_back({"scale 0.8 x 1.25 x 1.1" + s, g,
                   [=](const auto& x) { return to_host(scale(Exec(), dev(x), factors, interp)); },
                   [=](const auto& y) {
                     return to_host(scale_backward(Exec(), g, dev(y), factors, interp));
                   }});
    const Vec3 spacing{1.1, 0.75, 1.9};
    ops.push_back({"resample_to_spacing 1.1 x 0.75 x 1.9" + s, g,
                   [=](const auto& x) {
                     return to_host(resample_to_spacing(Exec(), dev(x), spacing, interp));
                   },
                   [=](const auto& y) {
                     return to_host(
                         resample_to_spacing_backward(Exec(), g, dev(y), spacing, interp));
                   }});
    const Geometry fixed = other_grid(g);
    ops.push_back(
        {"resample_to_image (other oblique grid)" + s, g,
         [=](const auto& x) { return to_host(resample_to_image(Exec(), fixed, dev(x), interp)); },
         [=](const auto& y) {
           return to_host(resample_to_image_backward(Exec(), fixed, g, dev(y), interp));
         }});
    const AffineTransform t = AffineTransform::from_3x4(
        {0.97, 0.1, 0.02, 1.5, -0.08, 1.04, 0.05, -2.0, 0.03, -0.04, 0.92, 0.7});
    ops.push_back(
        {"affine 3x4" + s, g,
         [=](const auto& x) { return to_host(affine(Exec(), dev(x), t, interp, 0.0, g)); },
         [=](const auto& y) { return to_host(affine_backward(Exec(), g, dev(y), t, interp, g)); }});
    const Vec3 offset{3.3, -1.7, 2.45};
    ops.push_back(
        {"translate_resample" + s, g,
         [=](const auto& x) { return to_host(translate_resample(Exec(), dev(x), offset, interp)); },
         [=](const auto& y) {
           return to_host(translate_resample_backward(Exec(), g, dev(y), offset, interp));
         }});
    const Size3 size{31, 45, 19};
    ops.push_back(
        {"resize to 31 x 45 x 19" + s, g,
         [=](const auto& x) { return to_host(resize(Exec(), dev(x), size, interp)); },
         [=](const auto& y) { return to_host(resize_backward(Exec(), g, dev(y), size, interp)); }});
  }
  const Size3 start{3, 5, 2}, extent{30, 20, 17};
  ops.push_back({"crop", g,
                 [=](const auto& x) { return to_host(crop(Exec(), dev(x), start, extent)); },
                 [=](const auto& y) { return to_host(crop_backward(Exec(), g, dev(y), start)); }});
  const Size3 before{2, 0, 3}, after{1, 4, 2};
  ops.push_back({"pad", g,
                 [=](const auto& x) { return to_host(pad(Exec(), dev(x), before, after, 7.0)); },
                 [=](const auto& y) { return to_host(pad_backward(Exec(), g, dev(y), before)); }});
  ops.push_back(
      {"flip j", g, [=](const auto& x) { return to_host(flip(Exec(), dev(x), Axis::j)); },
       [=](const auto& y) { return to_host(flip_backward(Exec(), g, dev(y), Axis::j)); }});
  for (const char* code : {"RAS", "SLA", "IPR"}) {
    const std::string c = code;
    ops.push_back({"change_orientation " + c, g,
                   [=](const auto& x) { return to_host(change_orientation(Exec(), dev(x), c)); },
                   [=](const auto& y) {
                     return to_host(change_orientation_backward(Exec(), g, dev(y), c));
                   }});
  }
  return ops;
}

template <class ExecutionSpace>
class Adjoint : public ::testing::Test {};
TYPED_TEST_SUITE(Adjoint, Backends);

template <class Exec, class T>
void run_kernel_dot_tests() {
  unsigned seed = 11;
  for (const auto& op : kernel_ops<Exec, T>()) expect_adjoint(op, seed += 2);
}

template <class Exec, class T>
void run_op_dot_tests() {
  unsigned seed = 101;
  for (const auto& op : geometric_ops<Exec, T>()) {
    if (op.name == "pad") {
      // pad is affine (constant fill), its linear part is what the
      // adjoint transposes: compare with fill 0.
      auto linear = op;
      linear.forward = [&op](const Image<T, HostMemory>& x) {
        auto y = op.forward(x);
        const auto y0 = op.forward(Image<T, HostMemory>(x.geometry()));
        for (std::int64_t v = 0; v < y.geometry().voxel_count(); ++v) {
          y.voxels().data()[v] -= y0.voxels().data()[v];
        }
        return y;
      };
      expect_adjoint(linear, seed += 2);
    } else {
      expect_adjoint(op, seed += 2);
    }
  }
}

TYPED_TEST(Adjoint, KernelDotProductDouble) {
  run_kernel_dot_tests<TypeParam, double>();
}
TYPED_TEST(Adjoint, KernelDotProductFloat) {
  run_kernel_dot_tests<TypeParam, float>();
}
TYPED_TEST(Adjoint, OpsDotProductDouble) {
  run_op_dot_tests<TypeParam, double>();
}
TYPED_TEST(Adjoint, OpsDotProductFloat) {
  run_op_dot_tests<TypeParam, float>();
}

// ---------------------------------------------------------------------------
// Parameter gradients against central finite differences.

// A smooth bump that is exactly 0 within 3 voxels of the border, so moving
// the transform never moves content across the inside/outside edge.
Image<double, HostMemory> bump(const Geometry& g) {
  Image<double, HostMemory> image(g);
  for (std::int64_t k = 0; k < g.size()[2]; ++k) {
    for (std::int64_t j = 0; j < g.size()[1]; ++j) {
      for (std::int64_t i = 0; i < g.size()[0]; ++i) {
        const std::int64_t idx[3] = {i, j, k};
        double r2 = 0.0;
        for (int a = 0; a < 3; ++a) {
          const double half_extent = 0.5 * static_cast<double>(g.size()[a] - 1) - 3.0;
          const double u =
              (static_cast<double>(idx[a]) - 0.5 * static_cast<double>(g.size()[a] - 1)) /
              half_extent;
          r2 += u * u;
        }
        const double w = r2 < 1.0 ? (1.0 - r2) * (1.0 - r2) * (1.0 - r2) : 0.0;
        const Vec3 p = g.index_to_physical(Vec3{double(i), double(j), double(k)});
        image.voxels()(i, j, k) =
            w * (100.0 + 40.0 * std::sin(0.31 * p[0]) * std::cos(0.23 * p[1]) +
                 25.0 * std::cos(0.19 * p[2]));
      }
    }
  }
  return image;
}

// L(theta) = sum_o r(o) y(o; theta) with smooth weights r.
template <class Exec>
struct ParameterProblem {
  using MS = typename Exec::memory_space;
  Geometry in = synthetic_grid();
  Geometry out;
  Image<double, MS> image;
  Image<double, MS> weights;
  Sampler<double, MS> sampler;

  explicit ParameterProblem(Interp interp)
      : out(Geometry(Size3{30, 26, 14}, synthetic_grid().index_to_physical(Vec3{5.0, 4.0, 3.0}),
                     Vec3{1.0, 1.2, 2.2}, rotation(Vec3{0.2, 0.4, 1.0}, 9.0))),
        image(to_memory_space<MS>(bump(in))),
        weights(to_memory_space<MS>(cast<double>(smooth_volume(out)))),
        sampler(Exec(), image, interp) {}

  template <class Transform>
  double loss(const Transform& t) const {
    const auto y = to_host(resample_as<double>(Exec(), out, sampler, t, 0.0));
    return dot(y, to_host(weights));
  }
};

template <class Exec>
void check_parameter_gradients(Interp interp, double tolerance) {
  ParameterProblem<Exec> problem(interp);
  const Vec3 c = problem.in.center();
  struct Case {
    TransformKind kind;
    std::vector<double> at;
    std::vector<double> step;
  };
  const std::vector<Case> cases = {
      {TransformKind::translation, {1.5, -2.0, 0.7}, {1e-5, 1e-5, 1e-5}},
      {TransformKind::rigid,
       {0.1, -0.05, 0.08, 1.5, -2.0, 0.7},
       {1e-6, 1e-6, 1e-6, 1e-5, 1e-5, 1e-5}},
      {TransformKind::similarity,
       {0.04, 0.07, -0.06, -1.0, 0.5, 1.2, 1.03},
       {1e-6, 1e-6, 1e-6, 1e-5, 1e-5, 1e-5, 1e-6}},
      {TransformKind::scale, {1.04, 0.95, 1.02}, {1e-6, 1e-6, 1e-6}},
      {TransformKind::affine,
       {1.02, 0.03, -0.02, -0.04, 0.97, 0.05, 0.01, -0.03, 1.05, 0.8, -1.1, 0.4},
       std::vector<double>(12, 1e-6)},
  };
  for (const Case& cs : cases) {
    ParametricTransform t(cs.kind, c);
    t.set_parameters(cs.at);
    auto g = resample_backward(Exec(), problem.out, problem.sampler, t.affine(), problem.weights,
                               wrt::params);
    const std::vector<double> analytic = t.gradient(*g.transform);
    double worst = 0.0;
    double magnitude = 0.0;
    for (double v : analytic) magnitude = std::fmax(magnitude, std::fabs(v));
    for (std::size_t n = 0; n < t.size(); ++n) {
      auto plus = cs.at, minus = cs.at;
      plus[n] += cs.step[n];
      minus[n] -= cs.step[n];
      ParametricTransform tp(cs.kind, c), tm(cs.kind, c);
      tp.set_parameters(plus);
      tm.set_parameters(minus);
      const double fd =
          (problem.loss(tp.affine()) - problem.loss(tm.affine())) / (2.0 * cs.step[n]);
      // Relative to the larger of the component and a tenth of the largest
      // component (a tiny component's relative error is meaningless).
      const double denominator = std::fmax(std::fabs(fd), 0.1 * magnitude);
      const double relative = std::fabs(analytic[n] - fd) / denominator;
      worst = std::fmax(worst, relative);
      EXPECT_LE(relative, tolerance) << to_string(cs.kind) << " parameter " << n << ": analytic "
                                     << analytic[n] << ", fd " << fd;
    }
    std::printf("[fd] %-8s %-11s %2zu parameters, max relative error %.2e\n",
                std::string(to_string(interp)).c_str(), std::string(to_string(cs.kind)).c_str(),
                t.size(), worst);
  }
}

TYPED_TEST(Adjoint, ParameterGradientsBSplineMatchFiniteDifferences) {
  check_parameter_gradients<TypeParam>(Interp::bspline, 1e-4);
}

TYPED_TEST(Adjoint, ParameterGradientsLinearMatchFiniteDifferences) {
  check_parameter_gradients<TypeParam>(Interp::linear, 1e-3);
}

TYPED_TEST(Adjoint, NearestHasZeroParameterGradient) {
  ParameterProblem<TypeParam> problem(Interp::nearest);
  auto g = resample_backward(TypeParam(), problem.out, problem.sampler,
                             AffineTransform::translation(Vec3{0.3, 0.2, -0.1}), problem.weights,
                             wrt::params);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(g.transform->offset[r], 0.0);
    for (int s = 0; s < 3; ++s) EXPECT_EQ(g.transform->matrix[r][s], 0.0);
  }
}

template <class Exec>
void check_field_gradient(Interp interp, double step, double tolerance) {
  using MS = typename Exec::memory_space;
  ParameterProblem<Exec> problem(interp);
  const auto field = smooth_field<MS>(problem.out, 1.5);
  auto g =
      resample_backward(Exec(), problem.out, problem.sampler, field, problem.weights, wrt::params);
  const auto& grad = *g.transform;
  typename DisplacementFieldTransform<MS>::component_view host_grad[3] = {grad.x, grad.y, grad.z};
  // The nodes to check: every fifth node/component whose gradient is at
  // least a tenth of the largest (others are barely reached by the output).
  Kokkos::View<double***, Kokkos::LayoutLeft, HostMemory> host[3];
  double largest = 0.0;
  for (int comp = 0; comp < 3; ++comp) {
    host[comp] = Kokkos::create_mirror_view_and_copy(HostMemory(), host_grad[comp]);
    for (std::size_t v = 0; v < host[comp].size(); ++v) {
      largest = std::fmax(largest, std::fabs(host[comp].data()[v]));
    }
  }
  double worst = 0.0;
  int checked = 0, seen = 0;
  for (int comp = 0; comp < 3; ++comp) {
    for (int k = 0; k < 7; ++k) {
      for (int j = 0; j < 8; ++j) {
        for (int i = 0; i < 9; ++i) {
          const double analytic = host[comp](i, j, k);
          if (std::fabs(analytic) < 0.1 * largest || seen++ % 5 != 0) continue;
          auto perturbed = [&](double delta) {
            typename DisplacementFieldTransform<MS>::component_view d[3];
            for (int a = 0; a < 3; ++a) {
              // Fresh copies: the field's own views must stay untouched.
              auto copy = Kokkos::create_mirror(HostMemory(), field.component(a));
              Kokkos::deep_copy(copy, field.component(a));
              if (a == comp) copy(i, j, k) += delta;
              d[a] = typename DisplacementFieldTransform<MS>::component_view("d", 9, 8, 7);
              Kokkos::deep_copy(d[a], copy);
            }
            return DisplacementFieldTransform<MS>(field.grid(), d[0], d[1], d[2]);
          };
          const double fd =
              (problem.loss(perturbed(step)) - problem.loss(perturbed(-step))) / (2.0 * step);
          const double relative = std::fabs(analytic - fd) / std::fabs(fd);
          worst = std::fmax(worst, relative);
          EXPECT_LE(relative, tolerance)
              << "node " << i << "," << j << "," << k << " component " << comp;
          ++checked;
        }
      }
    }
  }
  EXPECT_GE(checked, 8);
  std::printf("[fd] %-8s displacement field, %d nodes, max relative error %.2e\n",
              std::string(to_string(interp)).c_str(), checked, worst);
}

TYPED_TEST(Adjoint, DisplacementFieldGradientMatchesFiniteDifferences) {
  check_field_gradient<TypeParam>(Interp::bspline, 1e-3, 1e-4);
  check_field_gradient<TypeParam>(Interp::linear, 1e-4, 1e-3);
}

// ---------------------------------------------------------------------------
// Accumulation modes.

template <class Exec, class T>
void check_determinism() {
  using MS = typename Exec::memory_space;
  const Geometry in = synthetic_grid();
  const Geometry out = other_grid(in);
  const auto rotation_t = AffineTransform::rotation(Vec3{0.3, -0.5, 0.8}, 17.0, in.center());
  const auto dy = to_memory_space<MS>(random_image<T>(out, 3));
  const auto field = smooth_field<MS>(out, 2.0);
  for (Interp interp : all_interps) {
    Image<T, HostMemory> runs[3];
    for (auto& run : runs) {
      run = to_host(resample_backward_image(Exec(), out, in, interp, rotation_t, dy,
                                            Accumulation::deterministic));
    }
    const std::int64_t n = in.voxel_count();
    for (int r = 1; r < 3; ++r) {
      EXPECT_EQ(0, std::memcmp(runs[0].voxels().data(), runs[r].voxels().data(), sizeof(T) * n))
          << to_string(interp) << " run " << r << " differs";
    }
    const auto scattered =
        to_host(resample_backward_image(Exec(), out, in, interp, rotation_t, dy));
    double largest = 0.0, difference = 0.0;
    for (std::int64_t v = 0; v < n; ++v) {
      largest = std::fmax(largest, std::fabs(double(runs[0].voxels().data()[v])));
      difference = std::fmax(difference, std::fabs(double(runs[0].voxels().data()[v]) -
                                                   double(scattered.voxels().data()[v])));
    }
    const double eps = std::is_same_v<T, double> ? 1e-13 : 1e-5;
    EXPECT_LE(difference, eps * largest) << to_string(interp);
    std::printf("[determinism] %-7s %-6s 3 runs identical; scatter differs by %.2e of max\n",
                std::string(to_string(interp)).c_str(),
                std::is_same_v<T, double> ? "double" : "float", difference / largest);
    // The displacement-field gradient too.
    const auto sampler =
        Sampler<T, MS>(Exec(), to_memory_space<MS>(cast<T>(smooth_volume(in))), interp);
    DisplacementFieldGradient<MS> field_runs[2];
    for (auto& run : field_runs) {
      run = *resample_backward(Exec(), out, sampler, field, dy, wrt::params,
                               Accumulation::deterministic)
                 .transform;
    }
    const auto a = Kokkos::create_mirror_view_and_copy(HostMemory(), field_runs[0].y);
    const auto b = Kokkos::create_mirror_view_and_copy(HostMemory(), field_runs[1].y);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), sizeof(double) * a.size()));
  }
}

TYPED_TEST(Adjoint, DeterministicModeIsBitIdenticalAndMatchesScatterDouble) {
  check_determinism<TypeParam, double>();
}
TYPED_TEST(Adjoint, DeterministicModeIsBitIdenticalAndMatchesScatterFloat) {
  check_determinism<TypeParam, float>();
}

TEST(AdjointErrors, GradientOfTheWrongSizeIsRejected) {
  const Geometry in = synthetic_grid();
  const Geometry out = other_grid(in);
  Image<float, HostMemory> wrong(in);
  EXPECT_THROW(resample_backward_image(Kokkos::DefaultHostExecutionSpace(), out, in, Interp::linear,
                                       AffineTransform(), wrong),
               Error);
  const Sampler<float, HostMemory> sampler(wrong, Interp::linear);
  Image<float, HostMemory> dy(out);
  EXPECT_THROW(resample_backward(out, sampler, AffineTransform(), dy, 0u), Error);
}

}  // namespace
}  // namespace medimg::test
