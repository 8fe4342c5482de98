// resample_backward: the adjoint of the resample kernel (DESIGN.md section 4).
//
// Forward: y(o) = I(x, c(o)) where c(o) is inside the input, else the fill;
// I is the interpolator (for B-splines, I(x, c) = S(P x, c): the prefilter P
// then the cubic sampling S). Given dL/dy on the output grid:
//
//   wrt::image   dL/dx = A^T dL/dy: every output voxel scatters dL/dy(o)
//                times the forward stencil's weights onto the voxels (or,
//                for B-splines, onto the coefficients, then the transposed
//                prefilter P^T). Fill voxels contribute nothing.
//   wrt::params  for an AffineTransform y = A p + t: dL/dA and dL/dt (12
//                numbers, AffineGradient), a device reduction of
//                dL/dy(o) * grad I(c(o)) * dc/d(A, t); ParametricTransform
//                turns them into rigid/similarity/scale/translation
//                gradients. For a DisplacementFieldTransform: dL/d(field),
//                scattered onto the field's grid through its linear weights.
//
// The spatial derivative grad I is the interpolator's own (`gradient`):
// 0 for nearest (piecewise constant), so parameter gradients of a nearest
// resample are 0.
//
// Accumulation of the scatters (DESIGN.md section 4):
//   scatter        Kokkos::ScatterView over the output rows: atomics on GPUs,
//                  one private copy of the target per thread on CPUs (memory:
//                  threads x target size), summed at the end. The order of
//                  the additions depends on the schedule, so results vary in
//                  the last bits from run to run.
//   deterministic  the target grid is cut into blocks of 8 planes along the
//                  axis the output rows cross least; one work item owns a
//                  block and adds every contribution to it in output-voxel
//                  order. Bit-identical run to run, whatever the thread count
//                  or block size. Costs one extra pass (the target span of
//                  every output row) plus a revisit of rows that cross block
//                  boundaries; parallelism is the number of blocks (poor on
//                  GPUs).
#pragma once

#include <Kokkos_Core.hpp>
#include <Kokkos_ScatterView.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "medimg/core/error.hpp"
#include "medimg/core/image.hpp"
#include "medimg/core/kokkos_compat.hpp"
#include "medimg/resample/resample.hpp"
#include "medimg/resample/sampler.hpp"
#include "medimg/transform/affine.hpp"
#include "medimg/transform/displacement_field.hpp"

namespace medimg {

namespace wrt {
// What resample_backward differentiates with respect to; combine with |.
enum Flags : unsigned { image = 1u, params = 2u };
}  // namespace wrt

enum class Accumulation { scatter, deterministic };

// dL/dA (row-major) and dL/dt of y = A x + t.
struct AffineGradient {
  Mat3 matrix{};
  Vec3 offset{};
};

// dL/d(displacement) at every node of the field's grid, per component.
template <class MemorySpace>
struct DisplacementFieldGradient {
  typename DisplacementFieldTransform<MemorySpace>::component_view x, y, z;
};

namespace impl {

template <class Transform>
struct TransformGradientOf;
template <>
struct TransformGradientOf<AffineTransform> {
  template <class MemorySpace>
  using type = AffineGradient;
};
template <class MemorySpace>
struct TransformGradientOf<DisplacementFieldTransform<MemorySpace>> {
  template <class>
  using type = DisplacementFieldGradient<MemorySpace>;
};

}  // namespace impl

template <class Real, class MemorySpace, class Transform>
struct ResampleGradient {
  std::optional<Image<Real, MemorySpace>> image;  // on the input's grid
  std::optional<typename impl::TransformGradientOf<Transform>::template type<MemorySpace>>
      transform;
};

namespace impl {

// Output voxel -> continuous input index, exactly as the forward kernel
// computes it (so inside tests and stencils agree bit for bit).
template <class Transform>
struct OutputToInput {
  Transform transform;
  Geometry out;
  Geometry in;
  KOKKOS_INLINE_FUNCTION Vec3 operator()(std::int64_t i, std::int64_t j, std::int64_t k) const {
    const Vec3 p = out.index_to_physical(
        Vec3{static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
    return in.physical_to_continuous_index(transform.apply(p));
  }
};

template <>
struct OutputToInput<AffineTransform> {
  IndexMap map;
  std::int64_t k0 = 0;  // output plane of k = 0 (a slab of a distributed output)
  KOKKOS_INLINE_FUNCTION Vec3 operator()(std::int64_t i, std::int64_t j, std::int64_t k) const {
    return map.along_row(map.row_start(j, k0 + k), i);
  }
};

template <class Transform>
OutputToInput<Transform> output_to_input(const Geometry& out, const Geometry& in,
                                         const Transform& transform) {
  if constexpr (std::is_same_v<Transform, AffineTransform>) {
    return OutputToInput<AffineTransform>{index_map(out, in, transform)};
  } else {
    return OutputToInput<Transform>{transform, out, in};
  }
}

// dL/dy(o) * w for every stencil term of output voxel o, as
// emit(i, j, k, component, value) on the input (coefficient) grid.
template <class Interpolator, class Locate, class GradView>
struct ImageContributions {
  static constexpr int components = 1;
  Interpolator interp;
  Locate locate;
  Geometry in;
  GradView dy;

  template <class Emit>
  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i, std::int64_t j, std::int64_t k,
                                         Emit& emit) const {
    using Real = typename Interpolator::real_type;
    const Real g = static_cast<Real>(dy(i, j, k));
    if (g == Real(0)) return;
    const Vec3 c = locate(i, j, k);
    if (!in.is_inside(c)) return;
    typename Interpolator::stencil_type s0, s1, s2;
    interp.axis_stencil(0, c[0], s0);
    interp.axis_stencil(1, c[1], s1);
    interp.axis_stencil(2, c[2], s2);
    constexpr int K = Interpolator::stencil_type::size;
    for (int d = 0; d < K; ++d) {
      const Real wd = g * s2.weight[d];
      for (int b = 0; b < K; ++b) {
        const Real wb = wd * s1.weight[b];
        for (int a = 0; a < K; ++a) {
          emit(s0.index[a], s1.index[b], s2.index[d], 0, wb * s0.weight[a]);
        }
      }
    }
  }
};

// dL/dy at the input point y = T(p), as a physical vector:
// (dc/dy)^T dL/dc with dL/dc = dL/dy(o) grad I(c).
template <class Interpolator>
KOKKOS_INLINE_FUNCTION Vec3 physical_gradient(const Interpolator& interp, const Geometry& in,
                                              const Vec3& c, double dy) {
  typename Interpolator::real_type g[3];
  interp.gradient(c, g);
  const Mat3& q = in.physical_to_index_matrix();
  Vec3 out{0, 0, 0};
  for (int r = 0; r < 3; ++r) {
    for (int a = 0; a < 3; ++a) out[r] += q[a][r] * static_cast<double>(g[a]);
    out[r] *= dy;
  }
  return out;
}

// dL/d(displacement) contributions: output voxel o at p moves by d(p); its
// physical gradient goes to the field nodes around p with their linear
// weights, three components.
template <class Interpolator, class MemorySpace, class GradView>
struct FieldContributions {
  static constexpr int components = 3;
  Interpolator interp;
  DisplacementFieldTransform<MemorySpace> field;
  Geometry out;
  Geometry in;
  GradView dy;

  template <class Emit>
  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i, std::int64_t j, std::int64_t k,
                                         Emit& emit) const {
    const double g = static_cast<double>(dy(i, j, k));
    if (g == 0.0) return;
    const Vec3 p = out.index_to_physical(
        Vec3{static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
    const Geometry& grid = field.grid();
    const Vec3 cf = grid.physical_to_continuous_index(p);
    if (!grid.is_inside(cf)) return;  // displacement is 0 there, not a parameter
    const Vec3 c = in.physical_to_continuous_index(field.apply(p));
    if (!in.is_inside(c)) return;
    const Vec3 gy = physical_gradient(interp, in, c, g);
    const auto& nodes = field.interpolator(0);
    typename std::decay_t<decltype(nodes)>::stencil_type s0, s1, s2;
    nodes.axis_stencil(0, cf[0], s0);
    nodes.axis_stencil(1, cf[1], s1);
    nodes.axis_stencil(2, cf[2], s2);
    for (int d = 0; d < 2; ++d) {
      for (int b = 0; b < 2; ++b) {
        for (int a = 0; a < 2; ++a) {
          const double w = s2.weight[d] * s1.weight[b] * s0.weight[a];
          for (int comp = 0; comp < 3; ++comp) {
            emit(s0.index[a], s1.index[b], s2.index[d], comp, w * gy[comp]);
          }
        }
      }
    }
  }
};

// The kernels below are named functors: nvcc 11.8 writes host stubs that do
// not compile for extended lambdas in these templates.

// One output row's contributions, added through a ScatterView.
template <class Scatter, class Contributions, class Value>
struct ScatterRows {
  Scatter scatter;
  Contributions contributions;
  std::int64_t nx, ny;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t row) const {
    auto access = scatter.access();
    auto emit = [&](std::int64_t a, std::int64_t b, std::int64_t d, int comp, Value v) {
      access(a, b, d, comp) += v;
    };
    for (std::int64_t i = 0; i < nx; ++i) contributions(i, row % ny, row / ny, emit);
  }
};

// Adds every contribution into `target` (n0, n1, n2, components) through a
// ScatterView, one work item per output row.
template <class ExecutionSpace, class Contributions, class Target>
void accumulate_scatter(const ExecutionSpace& exec, const Size3& out_size,
                        const Contributions& contributions, const Target& target) {
  using Device = Kokkos::Device<ExecutionSpace, typename Target::memory_space>;
  using Scatter =
      Kokkos::Experimental::ScatterView<typename Target::data_type, Kokkos::LayoutLeft, Device>;
  Scatter scatter(target);
  Kokkos::parallel_for("medimg::resample_backward_scatter",
                       Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                           exec, 0, out_size[1] * out_size[2]),
                       ScatterRows<Scatter, Contributions, typename Target::value_type>{
                           scatter, contributions, out_size[0], out_size[1]});
  Target result = target;
  Kokkos::Experimental::contribute(result, scatter);
}

// The span [lo, hi] of target planes along `axis` that one output row reaches.
template <class Contributions, class Span, class Value>
struct RowSpans {
  Contributions contributions;
  Span span;
  std::int64_t nx, ny;
  int axis;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t row) const {
    std::int64_t lo = INT64_MAX, hi = -1;
    auto emit = [&](std::int64_t a, std::int64_t b, std::int64_t d, int, Value) {
      const std::int64_t t = axis == 0 ? a : (axis == 1 ? b : d);
      lo = t < lo ? t : lo;
      hi = t > hi ? t : hi;
    };
    for (std::int64_t i = 0; i < nx; ++i) contributions(i, row % ny, row / ny, emit);
    span(row, 0) = lo;
    span(row, 1) = hi;
  }
};

// One block of `thickness` target planes: the rows reaching it, in order.
template <class Contributions, class Span, class Target>
struct OwnedPlaneBlocks {
  Contributions contributions;
  Span span;
  Target target;
  std::int64_t nx, ny, rows, thickness;
  int axis;
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t block) const {
    const std::int64_t first = block * thickness;
    const std::int64_t last = first + thickness;
    auto emit = [&](std::int64_t a, std::int64_t b, std::int64_t d, int comp,
                    typename Target::value_type v) {
      const std::int64_t t = axis == 0 ? a : (axis == 1 ? b : d);
      if (t >= first && t < last) target(a, b, d, comp) += v;
    };
    for (std::int64_t row = 0; row < rows; ++row) {
      if (span(row, 1) < first || span(row, 0) >= last) continue;
      for (std::int64_t i = 0; i < nx; ++i) contributions(i, row % ny, row / ny, emit);
    }
  }
};

// The same sums, bit-identical run to run: blocks of target planes along
// `axis`, each owned by one work item that visits the output rows reaching
// it in order.
template <class ExecutionSpace, class Contributions, class Target>
void accumulate_deterministic(const ExecutionSpace& exec, const Size3& out_size,
                              const Contributions& contributions, const Target& target, int axis) {
  using MemorySpace = typename Target::memory_space;
  using Policy = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;
  using Span = Kokkos::View<std::int64_t* [2], MemorySpace>;
  const std::int64_t nx = out_size[0], ny = out_size[1];
  const std::int64_t rows = ny * out_size[2];
  // 1. The span of target planes each output row reaches.
  Span span(Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::backward_row_span"),
            static_cast<std::size_t>(rows));
  Kokkos::parallel_for("medimg::resample_backward_spans", Policy(exec, 0, rows),
                       RowSpans<Contributions, Span, typename Target::value_type>{
                           contributions, span, nx, ny, axis});
  // 2. One work item per block of planes, rows in output order.
  constexpr std::int64_t thickness = 8;
  const std::int64_t planes = static_cast<std::int64_t>(target.extent(static_cast<unsigned>(axis)));
  const std::int64_t blocks = (planes + thickness - 1) / thickness;
  Kokkos::parallel_for("medimg::resample_backward_deterministic", Policy(exec, 0, blocks),
                       OwnedPlaneBlocks<Contributions, Span, Target>{
                           contributions, span, target, nx, ny, rows, thickness, axis});
}

template <class ExecutionSpace, class Contributions, class Target>
void accumulate(const ExecutionSpace& exec, Accumulation mode, const Size3& out_size,
                const Contributions& contributions, const Target& target, int axis) {
  if (mode == Accumulation::deterministic) {
    accumulate_deterministic(exec, out_size, contributions, target, axis);
  } else {
    accumulate_scatter(exec, out_size, contributions, target);
  }
}

// The target axis the output rows cross least: the one along which the
// input index changes least per output step.
inline int quiet_axis(const Vec3& step) {
  int best = 2;
  for (int a = 1; a >= 0; --a) {
    if (compat::fabs(step[a]) < compat::fabs(step[best])) best = a;
  }
  return best;
}

// The parameter gradient of an affine resample, in index space: with
// c = M idx + b, the reduction sums dL/dM = sum_o dL/dy(o) grad I(c) idx^T
// and dL/db = sum_o dL/dy(o) grad I(c) over output rows (12 numbers, an
// array reduction; per row the sums over i are formed first, so j and k
// multiply once per row), using the interpolator's unclamped fast
// derivative where its stencil needs no border handling. The host then
// maps them to dL/dA and dL/dt: M = Q A P, b = Q (A o + t - o_in), so
// dL/dA = Q^T dL/dM P^T + Q^T dL/db o^T and dL/dt = Q^T dL/db.
template <class Interpolator, class GradView>
struct AffineParameterReduction {
  using value_type = double[];
  unsigned value_count = 12;
  Interpolator interp;
  IndexMap map;
  Size3 in_size;
  GradView dy;
  std::int64_t nx, ny;
  std::int64_t k0 = 0;  // output plane of dy(., ., 0) (a slab of a distributed output)

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t row, value_type sum) const {
    using Real = typename Interpolator::real_type;
    const std::int64_t j = row % ny, k = row / ny;
    const Vec3 c0 = map.row_start(j, k0 + k);
    double g[3] = {0, 0, 0}, gi[3] = {0, 0, 0};
    for (std::int64_t i = 0; i < nx; ++i) {
      const double w = static_cast<double>(dy(i, j, k));
      if (w == 0.0) continue;
      const Vec3 c = map.along_row(c0, i);
      if (!within(c, in_size, -0.5, 0.5)) continue;  // ITK's inside test
      Real grad[3];
      if (within(c, in_size, Interpolator::interior_low, Interpolator::interior_high_margin)) {
        interp.interior_gradient(c, grad);
      } else {
        interp.gradient(c, grad);
      }
      const double x = static_cast<double>(i);
      for (int a = 0; a < 3; ++a) {
        const double v = w * static_cast<double>(grad[a]);
        g[a] += v;
        gi[a] += v * x;
      }
    }
    const double y = static_cast<double>(j), z = static_cast<double>(k0 + k);
    for (int a = 0; a < 3; ++a) {
      sum[3 * a + 0] += gi[a];
      sum[3 * a + 1] += g[a] * y;
      sum[3 * a + 2] += g[a] * z;
      sum[9 + a] += g[a];
    }
  }
  KOKKOS_INLINE_FUNCTION void init(value_type sum) const {
    for (unsigned n = 0; n < value_count; ++n) sum[n] = 0.0;
  }
  KOKKOS_INLINE_FUNCTION void join(MEDIMG_JOIN_VOLATILE value_type dst,
                                   const MEDIMG_JOIN_VOLATILE value_type src) const {
    for (unsigned n = 0; n < value_count; ++n) dst[n] += src[n];
  }
};

inline AffineGradient affine_gradient_from_index_sums(const double* sums, const Geometry& out,
                                                      const Geometry& in);

template <class ExecutionSpace, class Interpolator, class GradView>
AffineGradient affine_parameter_gradient(const ExecutionSpace& exec, const Interpolator& interp,
                                         const Geometry& out, const Geometry& in,
                                         const AffineTransform& transform, const GradView& dy) {
  AffineParameterReduction<Interpolator, GradView> functor{
      12, interp, index_map(out, in, transform), in.size(), dy, out.size()[0], out.size()[1]};
  Kokkos::View<double*, Kokkos::HostSpace> sums("medimg::affine_gradient", 12);
  Kokkos::parallel_reduce("medimg::resample_backward_affine",
                          Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                              exec, 0, out.size()[1] * out.size()[2]),
                          functor, sums);
  exec.fence();
  return affine_gradient_from_index_sums(sums.data(), out, in);
}

// dL/dA and dL/dt from the 12 index-space sums of AffineParameterReduction.
inline AffineGradient affine_gradient_from_index_sums(const double* sums, const Geometry& out,
                                                      const Geometry& in) {
  Mat3 dm;
  Vec3 db;
  for (int a = 0; a < 3; ++a) {
    for (int s = 0; s < 3; ++s) dm[a][s] = sums[3 * a + s];
    db[a] = sums[9 + a];
  }
  const Mat3 qt = transpose(in.physical_to_index_matrix());
  const Mat3 da = multiply(multiply(qt, dm), transpose(out.index_to_physical_matrix()));
  const Vec3 dt = multiply(qt, db);
  AffineGradient result;
  for (int r = 0; r < 3; ++r) {
    for (int s = 0; s < 3; ++s) result.matrix[r][s] = da[r][s] + dt[r] * out.origin()[s];
    result.offset[r] = dt[r];
  }
  return result;
}

template <class Real, class MemorySpace>
using GradientTarget = Kokkos::View<Real****, Kokkos::LayoutLeft, MemorySpace>;

template <class Real, class MemorySpace>
GradientTarget<Real, MemorySpace> gradient_target(const Size3& size, int components,
                                                  const char* label) {
  return GradientTarget<Real, MemorySpace>(
      std::string(label), static_cast<std::size_t>(size[0]), static_cast<std::size_t>(size[1]),
      static_cast<std::size_t>(size[2]), static_cast<std::size_t>(components));
}

template <class Real, class MemorySpace>
Kokkos::View<Real***, Kokkos::LayoutLeft, MemorySpace> component(
    const GradientTarget<Real, MemorySpace>& target, int c) {
  return Kokkos::subview(target, Kokkos::ALL, Kokkos::ALL, Kokkos::ALL, c);
}

// Calls f(interpolator) with an interpolator of kind `interp` for a grid of
// `size` and no voxels: the image adjoint needs only the stencils, which do
// not depend on the voxel values (the operator is linear).
// `offset` shifts the stencil indices (a window of a distributed image).
template <class Real, class MemorySpace, class F>
void visit_stencils(Interp interp, const Size3& size, F&& f, const Size3& offset = Size3{}) {
  using View = Kokkos::View<const Real***, Kokkos::LayoutLeft, MemorySpace>;
  switch (interp) {
    case Interp::nearest: f(NearestInterpolator<View>{View(), size, offset}); return;
    case Interp::linear: f(LinearInterpolator<View>{View(), size, offset}); return;
    case Interp::bspline: f(BSplineInterpolator<View>{View(), size, offset}); return;
  }
}

template <class Transform>
int quiet_axis_of(const OutputToInput<Transform>& locate) {
  if constexpr (std::is_same_v<Transform, AffineTransform>) {
    return quiet_axis(Vec3{locate.map.m[0][0], locate.map.m[1][0], locate.map.m[2][0]});
  } else {
    return 2;
  }
}

template <class T>
void check_gradient_size(const Geometry& output, const Size3& dy) {
  static_assert(std::is_floating_point_v<T>, "resample_backward needs a float or double image");
  for (int a = 0; a < 3; ++a) {
    if (dy[a] != output.size()[a]) {
      throw Error("resample_backward: dL/dy has size " + to_string(dy) +
                  " but the output grid has size " + to_string(output.size()));
    }
  }
}

}  // namespace impl

// dL/d(input voxels) of resample(exec, output, <image on `input`>, transform,
// interp, fill), given dLdy on `output`: A^T dLdy on the input grid.
template <class ExecutionSpace, class T, class MemorySpace, class Transform>
Image<T, MemorySpace> resample_backward_image(const ExecutionSpace& exec, const Geometry& output,
                                              const Geometry& input, Interp interp,
                                              const Transform& transform,
                                              const Image<T, MemorySpace>& dLdy,
                                              Accumulation mode = Accumulation::scatter) {
  impl::check_gradient_size<T>(output, dLdy.geometry().size());
  const auto locate = impl::output_to_input(output, input, transform);
  auto target = impl::gradient_target<T, MemorySpace>(input.size(), 1, "medimg::dL/dx");
  impl::visit_stencils<T, MemorySpace>(interp, input.size(), [&](const auto& stencils) {
    using Interpolator = std::decay_t<decltype(stencils)>;
    const auto dy = dLdy.voxels();
    impl::ImageContributions<Interpolator, std::decay_t<decltype(locate)>, decltype(dy)>
        contributions{stencils, locate, input, dy};
    impl::accumulate(exec, mode, output.size(), contributions, target, impl::quiet_axis_of(locate));
  });
  auto voxels = impl::component(target, 0);
  if (interp == Interp::bspline) bspline_coefficients_transpose(exec, voxels);
  exec.fence();
  return Image<T, MemorySpace>(input, voxels);
}

// The adjoint of resample_as(exec, output, input, transform, fill) with
// respect to the input voxels (wrt::image) and/or the transform
// (wrt::params), given dLdy on `output`. Floating-point images only.
template <class ExecutionSpace, class T, class MemorySpace, class Transform>
ResampleGradient<interp_real_t<T>, MemorySpace, Transform> resample_backward(
    const ExecutionSpace& exec, const Geometry& output, const Sampler<T, MemorySpace>& input,
    const Transform& transform, const Image<T, MemorySpace>& dLdy, unsigned what,
    Accumulation mode = Accumulation::scatter) {
  using Real = interp_real_t<T>;
  impl::check_gradient_size<T>(output, dLdy.geometry().size());
  if ((what & (wrt::image | wrt::params)) == 0) {
    throw Error("resample_backward: ask for wrt::image, wrt::params or both");
  }
  const Geometry& in = input.geometry();
  ResampleGradient<Real, MemorySpace, Transform> result;
  if (what & wrt::image) {
    result.image = resample_backward_image(exec, output, in, input.interp(), transform, dLdy, mode);
  }
  if ((what & wrt::params) == 0) return result;
  const auto dy = dLdy.voxels();
  // `if constexpr` stays outside the generic lambdas: nvcc 11.8 instantiates
  // a discarded branch inside one.
  if constexpr (std::is_same_v<Transform, AffineTransform>) {
    input.visit([&](const auto& interp) {
      result.transform = impl::affine_parameter_gradient(exec, interp, output, in, transform, dy);
    });
  } else {
    const Geometry& grid = transform.grid();
    auto target = impl::gradient_target<double, MemorySpace>(grid.size(), 3, "medimg::dL/dd");
    input.visit([&](const auto& interp) {
      using Interpolator = std::decay_t<decltype(interp)>;
      impl::FieldContributions<Interpolator, MemorySpace, decltype(dy)> contributions{
          interp, transform, output, in, dy};
      impl::accumulate(exec, mode, output.size(), contributions, target, 2);
    });
    result.transform = DisplacementFieldGradient<MemorySpace>{
        impl::component(target, 0), impl::component(target, 1), impl::component(target, 2)};
  }
  exec.fence();
  return result;
}

template <class T, class MemorySpace, class Transform>
auto resample_backward(const Geometry& output, const Sampler<T, MemorySpace>& input,
                       const Transform& transform, const Image<T, MemorySpace>& dLdy, unsigned what,
                       Accumulation mode = Accumulation::scatter) {
  return resample_backward(typename MemorySpace::execution_space(), output, input, transform, dLdy,
                           what, mode);
}

}  // namespace medimg
