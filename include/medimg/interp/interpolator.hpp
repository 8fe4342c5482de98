// What every interpolator shares. An interpolator is a device functor that,
// for a continuous index c inside the image (ITK's inside test), returns a
// value as a tensor product of per-axis stencils:
//   value = sum_{a,b,d} w0[a] w1[b] w2[d] * data(i0[a], i1[b], i2[d]).
// The stencil (indices + weights, `axis_stencil`) is public so the adjoint
// can scatter through exactly the weights the forward pass used, and
// `gradient(c, g)` is the derivative of the value with respect to c (the
// interpolated function's own derivative: 0 for nearest, piecewise constant
// for linear, the analytic derivative of the cubic basis for B-splines).
//
// Interpolation runs in float for float and integer images, in double for
// double images (DESIGN.md section 3): `interp_real_t<T>`.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "medimg/core/geometry.hpp"
#include "medimg/core/host_hints.hpp"

namespace medimg {

enum class Interp { nearest, linear, bspline };

std::string_view to_string(Interp interp);
// "nearest" | "linear" | "bspline" (also "bspline3", "cubic"); throws
// medimg::Error naming the accepted names otherwise.
Interp parse_interp(std::string_view name);

// std::is_same<>::value, not is_same_v: nvcc 11 cannot write the host stub of
// a device lambda whose enclosing function's type names a variable template.
template <class T>
using interp_real_t = std::conditional_t<std::is_same<T, double>::value, double, float>;

// One axis of a stencil: K voxel indices along that axis and their weights.
template <int K, class Real>
struct AxisStencil {
  static constexpr int size = K;
  std::int64_t index[K];
  Real weight[K];
};

namespace impl {

// Asks the cache for the input voxels a host row kernel will read along
// c = c0 + (i0 + i) step, i in [a, b): one voxel in eight, at the index
// floor(c + shift) clamped into `data` (offset: the image index of
// data(0, 0, 0)), with, when `cell`, its neighbours at +1 in y, z and both
// (the rows of a trilinear cell). Interpolators' `prefetch_steps`.
template <class View>
KOKKOS_INLINE_FUNCTION void prefetch_along(const View& data, const Size3& offset, const Vec3& c0,
                                           const Vec3& step, std::int64_t i0, std::int64_t a,
                                           std::int64_t b, double shift, bool cell) {
  const auto nx = static_cast<std::int64_t>(data.extent(0));
  const auto ny = static_cast<std::int64_t>(data.extent(1));
  const auto nz = static_cast<std::int64_t>(data.extent(2));
  if (nx < 2 || ny < 2 || nz < 2) return;
  using Value = typename View::value_type;
  const auto* base = reinterpret_cast<const char*>(data.data());
  const std::int64_t sx = static_cast<std::int64_t>(sizeof(Value));
  const std::int64_t sy = nx * sx, sz = sy * ny;
  auto clamp = [](double c, std::int64_t n) {
    const double last = static_cast<double>(n - 2);
    return static_cast<std::int64_t>(c > 0.0 ? (c < last ? c : last) : 0.0);
  };
  for (std::int64_t i = a; i < b; i += 8) {
    const double x = static_cast<double>(i0 + i);
    const std::int64_t ix = clamp(c0[0] + x * step[0] + shift - static_cast<double>(offset[0]), nx);
    const std::int64_t iy = clamp(c0[1] + x * step[1] + shift - static_cast<double>(offset[1]), ny);
    const std::int64_t iz = clamp(c0[2] + x * step[2] + shift - static_cast<double>(offset[2]), nz);
    const char* p = base + ix * sx + iy * sy + iz * sz;
    hint::prefetch_line(p);
    if (cell) {
      hint::prefetch_line(p + sy);
      hint::prefetch_line(p + sz);
      hint::prefetch_line(p + sz + sy);
    }
  }
}

// The tensor-product sum over three axis stencils.
template <int K, class Real, class View>
KOKKOS_INLINE_FUNCTION Real tensor_sum(const View& data, const AxisStencil<K, Real>& s0,
                                       const AxisStencil<K, Real>& s1,
                                       const AxisStencil<K, Real>& s2) {
  Real value = 0;
  for (int d = 0; d < K; ++d) {
    Real plane = 0;
    for (int b = 0; b < K; ++b) {
      Real line = 0;
      for (int a = 0; a < K; ++a) {
        line += s0.weight[a] * static_cast<Real>(data(s0.index[a], s1.index[b], s2.index[d]));
      }
      plane += s1.weight[b] * line;
    }
    value += s2.weight[d] * plane;
  }
  return value;
}

// The gradient of the tensor-product sum with respect to the continuous
// index: axis a uses its derivative weights dw[a] in place of its weights.
template <int K, class Real, class View>
KOKKOS_INLINE_FUNCTION void tensor_gradient(const View& data, const AxisStencil<K, Real> (&s)[3],
                                            const Real (&dw)[3][K], Real (&g)[3]) {
  g[0] = g[1] = g[2] = 0;
  for (int d = 0; d < K; ++d) {
    Real plane[3] = {0, 0, 0};
    for (int b = 0; b < K; ++b) {
      Real line = 0, dline = 0;
      for (int a = 0; a < K; ++a) {
        const Real v = static_cast<Real>(data(s[0].index[a], s[1].index[b], s[2].index[d]));
        line += s[0].weight[a] * v;
        dline += dw[0][a] * v;
      }
      plane[0] += s[1].weight[b] * dline;
      plane[1] += dw[1][b] * line;
      plane[2] += s[1].weight[b] * line;
    }
    g[0] += s[2].weight[d] * plane[0];
    g[1] += s[2].weight[d] * plane[1];
    g[2] += dw[2][d] * plane[2];
  }
}

}  // namespace impl
}  // namespace medimg
