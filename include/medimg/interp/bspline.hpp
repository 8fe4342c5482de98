// Cubic B-spline interpolation, as ITK's BSplineInterpolateImageFunction
// (order 3) over the coefficients of ITK's BSplineDecompositionImageFilter.
//
// Prefilter (bspline_coefficients): per axis, per line, the recursive IIR
// filter of Unser 1999 with the pole z = sqrt(3) - 2, gain (1 - z)(1 - 1/z),
// mirror-boundary causal initialisation truncated at ITK's tolerance 1e-10
// (horizon ceil(log 1e-10 / log|z|) = 18 samples) or summed in full for
// shorter lines, and the mirror anticausal initialisation. Lines of length 1
// are left as they are. Runs on the device, parallel over lines; on host
// backends a work item filters a block of adjacent lines at once so memory
// is read contiguously. Computed once per image (see Sampler).
//
// Evaluation: start index floor((float)c) - 1 (ITK casts to float first),
// cubic weights of w = c - (start + 1), indices mirrored at the borders
// (i < 0 -> -i, i > n-1 -> 2(n-1) - i, then clamped: ITK would read outside
// the buffer for images of 2 voxels), size-1 axes use index 0.
#pragma once

#include <Kokkos_Core.hpp>
#include <cmath>
#include <type_traits>

#include "medimg/core/image.hpp"
#include "medimg/core/kokkos_compat.hpp"
#include "medimg/core/pixel_cast.hpp"
#include "medimg/core/read_only.hpp"
#include "medimg/interp/interpolator.hpp"

namespace medimg {

template <class View>
struct BSplineInterpolator {
  using value_type = typename View::non_const_value_type;  // the coefficients' type
  using real_type = value_type;
  using stencil_type = AxisStencil<4, real_type>;
  static constexpr int support = 4;

  View coefficients;
  Size3 size;
  Size3 offset{};  // the image index of coefficients(0, 0, 0) (a window of a distributed image)

  KOKKOS_INLINE_FUNCTION void axis_stencil(int axis, double c, stencil_type& s) const {
    const std::int64_t n = size[axis];
    const std::int64_t start =
        static_cast<std::int64_t>(compat::floor(static_cast<double>(static_cast<float>(c)))) - 1;
    cubic_weights(c - static_cast<double>(start + 1), s.weight);
    for (int k = 0; k < 4; ++k) {
      std::int64_t i = start + k;
      if (n == 1) {
        i = 0;
      } else {
        if (i < 0) i = -i;
        if (i >= n - 1) i = 2 * (n - 1) - i;
        if (i < 0) i = 0;
        if (i > n - 1) i = n - 1;
      }
      s.index[k] = i - offset[axis];
    }
  }

  // The stencil and the derivative of its weights with respect to c.
  KOKKOS_INLINE_FUNCTION void axis_derivative(int axis, double c, stencil_type& s,
                                              real_type (&dw)[4]) const {
    axis_stencil(axis, c, s);
    const std::int64_t start =
        static_cast<std::int64_t>(compat::floor(static_cast<double>(static_cast<float>(c)))) - 1;
    if (size[axis] == 1) {
      dw[0] = dw[1] = dw[2] = dw[3] = real_type(0);
    } else {
      cubic_weight_derivatives(c - static_cast<double>(start + 1), dw);
    }
  }

  KOKKOS_INLINE_FUNCTION void gradient(const Vec3& c, real_type (&g)[3]) const {
    stencil_type s[3];
    real_type dw[3][4];
    for (int a = 0; a < 3; ++a) axis_derivative(a, c[a], s[a], dw[a]);
    impl::tensor_gradient(coefficients, s, dw, g);
  }

  // d/dw of cubic_weights.
  KOKKOS_INLINE_FUNCTION static void cubic_weight_derivatives(double w, real_type (&out)[4]) {
    out[0] = static_cast<real_type>(-0.5 * (1.0 - w) * (1.0 - w));
    out[1] = static_cast<real_type>(w * (1.5 * w - 2.0));
    out[2] = static_cast<real_type>(0.5 + w * (1.0 - 1.5 * w));
    out[3] = static_cast<real_type>(0.5 * w * w);
  }

  // Where no mirroring is needed: 1 <= c < n - 2 on every axis (with room
  // for the float cast of the start index).
  static constexpr double interior_low = 1.0;
  static constexpr double interior_high_margin = 2.01;

  KOKKOS_INLINE_FUNCTION static void cubic_weights(double w, real_type* out) {
    const double w3 = (1.0 / 6.0) * w * w * w;
    const double w0 = (1.0 / 6.0) + 0.5 * w * (w - 1.0) - w3;
    const double w2 = w + w0 - 2.0 * w3;
    out[0] = static_cast<real_type>(w0);
    out[1] = static_cast<real_type>(1.0 - w0 - w2 - w3);
    out[2] = static_cast<real_type>(w2);
    out[3] = static_cast<real_type>(w3);
  }

  // The first of the 4x4x4 coefficients around c and the per-axis weights
  // (and, with dw, their derivatives), for c where no mirroring is needed
  // (c >= 1, so truncation is floor).
  KOKKOS_INLINE_FUNCTION const real_type* interior_block(const Vec3& c, real_type (&w)[3][4],
                                                         real_type (*dw)[4] = nullptr) const {
    std::int64_t start[3];
    for (int a = 0; a < 3; ++a) {
      start[a] = static_cast<std::int64_t>(static_cast<float>(c[a])) - 1;
      const double t = c[a] - static_cast<double>(start[a] + 1);
      cubic_weights(t, w[a]);
      if (dw) cubic_weight_derivatives(t, dw[a]);
      start[a] -= offset[a];
    }
    const auto sy = static_cast<std::int64_t>(coefficients.extent(0));
    const auto sz = static_cast<std::int64_t>(coefficients.extent(1));
    return coefficients.data() + start[0] + sy * (start[1] + sz * start[2]);
  }

  KOKKOS_INLINE_FUNCTION real_type interior(const Vec3& c) const {
    real_type w[3][4];
    const real_type* p = interior_block(c, w);
    const auto sy = static_cast<std::int64_t>(coefficients.extent(0));
    const std::int64_t sz = sy * static_cast<std::int64_t>(coefficients.extent(1));
    real_type value = 0;
    for (int d = 0; d < 4; ++d) {
      real_type plane = 0;
      for (int b = 0; b < 4; ++b) {
        const real_type* q = p + d * sz + b * sy;
        plane += w[1][b] * (w[0][0] * read_only(q) + w[0][1] * read_only(q + 1) +
                            w[0][2] * read_only(q + 2) + w[0][3] * read_only(q + 3));
      }
      value += w[2][d] * plane;
    }
    return value;
  }

  // interior() along output row voxels [a, b) at any affine step, c =
  // c0 + (i0 + i) step, in chunks of `row_chunk`: first every voxel's first
  // coefficient and its 12 weights (interior_block's arithmetic, in a loop
  // compilers vectorise: the cubic weights are most of the work), then the
  // 4x4x4 sums from those, in interior()'s order. Bit for bit interior().
  // The host resample kernel uses it.
  static constexpr bool has_interior_steps = true;
  static constexpr int row_chunk = 128;
  template <class Out, class Cast>
  KOKKOS_INLINE_FUNCTION void interior_steps(const Vec3& c0, const Vec3& step, std::int64_t i0,
                                             std::int64_t a, std::int64_t b,
                                             Out* KOKKOS_RESTRICT out, Cast cast) const {
    const auto sy = static_cast<std::int64_t>(coefficients.extent(0));
    const std::int64_t sz = sy * static_cast<std::int64_t>(coefficients.extent(1));
    const real_type* KOKKOS_RESTRICT base =
        coefficients.data() - offset[0] - sy * offset[1] - sz * offset[2];
    const std::int64_t stride[3] = {1, sy, sz};
    std::int64_t at[row_chunk];
    real_type w[3][4][row_chunk];
    for (std::int64_t first = a; first < b; first += row_chunk) {
      const int n = static_cast<int>(b - first < row_chunk ? b - first : row_chunk);
      for (int m = 0; m < n; ++m) at[m] = 0;
      for (int axis = 0; axis < 3; ++axis) {
        for (int m = 0; m < n; ++m) {
          const double x = static_cast<double>(i0 + first + m);
          const double c = c0[axis] + x * step[axis];
          // interior c >= 1: the truncation is floor, and fits 32 bits.
          const std::int32_t start = static_cast<std::int32_t>(static_cast<float>(c)) - 1;
          const double t = c - static_cast<double>(start + 1);
          const double w3 = (1.0 / 6.0) * t * t * t;
          const double w0 = (1.0 / 6.0) + 0.5 * t * (t - 1.0) - w3;
          const double w2 = t + w0 - 2.0 * w3;
          w[axis][0][m] = static_cast<real_type>(w0);
          w[axis][1][m] = static_cast<real_type>(1.0 - w0 - w2 - w3);
          w[axis][2][m] = static_cast<real_type>(w2);
          w[axis][3][m] = static_cast<real_type>(w3);
          at[m] += stride[axis] * start;
        }
      }
      Out* KOKKOS_RESTRICT o = out + first;
      for (int m = 0; m < n; ++m) {
        const real_type* p = base + at[m];
        real_type value = 0;
        for (int d = 0; d < 4; ++d) {
          real_type plane = 0;
          for (int e = 0; e < 4; ++e) {
            const real_type* q = p + d * sz + e * sy;
            plane += w[1][e][m] * (w[0][0][m] * read_only(q) + w[0][1][m] * read_only(q + 1) +
                                   w[0][2][m] * read_only(q + 2) + w[0][3][m] * read_only(q + 3));
          }
          value += w[2][d][m] * plane;
        }
        o[m] = cast(value);
      }
    }
  }

  // gradient() where interior() applies.
  KOKKOS_INLINE_FUNCTION void interior_gradient(const Vec3& c, real_type (&grad)[3]) const {
    real_type w[3][4], dw[3][4];
    const real_type* p = interior_block(c, w, dw);
    const auto sy = static_cast<std::int64_t>(coefficients.extent(0));
    const std::int64_t sz = sy * static_cast<std::int64_t>(coefficients.extent(1));
    real_type g0 = 0, g1 = 0, g2 = 0;
    for (int d = 0; d < 4; ++d) {
      real_type p0 = 0, p1 = 0, p2 = 0;
      for (int b = 0; b < 4; ++b) {
        const real_type* q = p + d * sz + b * sy;
        const real_type q0 = read_only(q), q1 = read_only(q + 1), q2 = read_only(q + 2),
                        q3 = read_only(q + 3);
        const real_type line = w[0][0] * q0 + w[0][1] * q1 + w[0][2] * q2 + w[0][3] * q3;
        const real_type dline = dw[0][0] * q0 + dw[0][1] * q1 + dw[0][2] * q2 + dw[0][3] * q3;
        p0 += w[1][b] * dline;
        p1 += dw[1][b] * line;
        p2 += w[1][b] * line;
      }
      g0 += w[2][d] * p0;
      g1 += w[2][d] * p1;
      g2 += dw[2][d] * p2;
    }
    grad[0] = g0;
    grad[1] = g1;
    grad[2] = g2;
  }

  KOKKOS_INLINE_FUNCTION real_type operator()(const Vec3& c) const {
    stencil_type s0, s1, s2;
    axis_stencil(0, c[0], s0);
    axis_stencil(1, c[1], s1);
    axis_stencil(2, c[2], s2);
    return impl::tensor_sum(coefficients, s0, s1, s2);
  }
};

namespace impl {

// The constants of the cubic prefilter, computed on the host as ITK does.
struct BSplinePole {
  double z = std::sqrt(3.0) - 2.0;
  double gain = (1.0 - z) * (1.0 - 1.0 / z);
  std::int64_t horizon =
      static_cast<std::int64_t>(std::ceil(std::log(1e-10) / std::log(std::fabs(z))));
};

// Filters lines along one axis in place. A work item takes `count` lines
// whose first samples are `line_stride` apart, and filters them together:
// the inner loops run over independent lines, so the recursion's serial
// dependency is spread over many lines (ILP/SIMD) and, along j and k,
// neighbouring lines are neighbouring i (contiguous reads).
template <class Real>
struct BSplinePrefilterLines {
  Real* c;
  int axis;
  std::int64_t n;       // line length (size along the axis)
  std::int64_t nx, ny;  // image extents
  std::int64_t width;   // lines per work item
  std::int64_t chunks;  // work items per row of lines
  BSplinePole pole;
  bool transpose = false;  // apply the filter's transpose (the adjoint)

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t item) const {
    // axis 0: lines are (j, k); a work item takes `width` consecutive j.
    // axes 1, 2: lines are (i, k) or (i, j); a work item takes `width` consecutive i.
    const std::int64_t lines_per_row = axis == 0 ? ny : nx;
    const std::int64_t chunk = item % chunks;
    const std::int64_t outer = item / chunks;
    const std::int64_t first = chunk * width;
    const std::int64_t count = lines_per_row - first < width ? lines_per_row - first : width;
    std::int64_t base, stride, line_stride;
    if (axis == 0) {
      base = nx * (first + ny * outer);
      stride = 1;
      line_stride = nx;
    } else {
      base = first + outer * (axis == 1 ? nx * ny : nx);
      stride = axis == 1 ? nx : nx * ny;
      line_stride = 1;
    }
    Real* line = c + base;
    auto at = [&](std::int64_t s, std::int64_t l) -> Real& {
      return line[s * stride + l * line_stride];
    };
    if (transpose) {
      adjoint(at, count);
    } else {
      forward(at, count);
    }
  }

  template <class At>
  KOKKOS_INLINE_FUNCTION void forward(At& at, const std::int64_t count) const {
    const Real z = static_cast<Real>(pole.z);
    const Real gain = static_cast<Real>(pole.gain);
    for (std::int64_t s = 0; s < n; ++s) {
      for (std::int64_t l = 0; l < count; ++l) at(s, l) *= gain;
    }
    // Causal initialisation (mirror boundary), accelerated or full as ITK.
    for (std::int64_t l = 0; l < count; ++l) {
      if (pole.horizon < n) {
        Real sum = at(0, l);
        double zn = pole.z;
        for (std::int64_t s = 1; s < pole.horizon; ++s) {
          sum += static_cast<Real>(zn) * at(s, l);
          zn *= pole.z;
        }
        at(0, l) = sum;
      } else {
        const double iz = 1.0 / pole.z;
        double zn = pole.z;
        double z2n = 1.0;
        for (std::int64_t p = 0; p < n - 1; ++p) z2n *= pole.z;  // pow(z, n - 1)
        double sum = static_cast<double>(at(0, l)) + z2n * static_cast<double>(at(n - 1, l));
        z2n *= z2n * iz;
        for (std::int64_t s = 1; s <= n - 2; ++s) {
          sum += (zn + z2n) * static_cast<double>(at(s, l));
          zn *= pole.z;
          z2n *= iz;
        }
        at(0, l) = static_cast<Real>(sum / (1.0 - zn * zn));
      }
    }
    for (std::int64_t s = 1; s < n; ++s) {
      for (std::int64_t l = 0; l < count; ++l) at(s, l) += z * at(s - 1, l);
    }
    const Real anti = static_cast<Real>(pole.z / (pole.z * pole.z - 1.0));
    for (std::int64_t l = 0; l < count; ++l)
      at(n - 1, l) = anti * (z * at(n - 2, l) + at(n - 1, l));
    for (std::int64_t s = n - 2; s >= 0; --s) {
      for (std::int64_t l = 0; l < count; ++l) at(s, l) = z * (at(s + 1, l) - at(s, l));
    }
  }

  // The transpose of `forward`: its steps in reverse order, each replaced
  // by its transpose (reverse-mode differentiation of the in-place filter).
  template <class At>
  KOKKOS_INLINE_FUNCTION void adjoint(At& at, const std::int64_t count) const {
    const Real z = static_cast<Real>(pole.z);
    const Real gain = static_cast<Real>(pole.gain);
    const Real anti = static_cast<Real>(pole.z / (pole.z * pole.z - 1.0));
    // c[s] = z (c[s + 1] - c[s]), s = n - 2 .. 0.
    for (std::int64_t s = 0; s <= n - 2; ++s) {
      for (std::int64_t l = 0; l < count; ++l) {
        const Real t = at(s, l);
        at(s, l) = -z * t;
        at(s + 1, l) += z * t;
      }
    }
    // c[n - 1] = anti (z c[n - 2] + c[n - 1]).
    for (std::int64_t l = 0; l < count; ++l) {
      const Real t = at(n - 1, l);
      at(n - 1, l) = anti * t;
      at(n - 2, l) += anti * z * t;
    }
    // c[s] += z c[s - 1], s = 1 .. n - 1.
    for (std::int64_t s = n - 1; s >= 1; --s) {
      for (std::int64_t l = 0; l < count; ++l) at(s - 1, l) += z * at(s, l);
    }
    // Causal initialisation: c[0] = sum_s h[s] c[s].
    for (std::int64_t l = 0; l < count; ++l) {
      if (pole.horizon < n) {
        const Real t = at(0, l);
        double zn = pole.z;
        for (std::int64_t s = 1; s < pole.horizon; ++s) {
          at(s, l) += static_cast<Real>(zn) * t;
          zn *= pole.z;
        }
      } else {
        const double iz = 1.0 / pole.z;
        double zn = pole.z;
        double z2n = 1.0;
        for (std::int64_t p = 0; p < n - 1; ++p) z2n *= pole.z;
        const double last = z2n;  // pow(z, n - 1)
        double zlast = pole.z;
        for (std::int64_t p = 1; p < n - 1; ++p) zlast *= pole.z;  // the forward's final zn
        const double t = static_cast<double>(at(0, l)) / (1.0 - zlast * zlast);
        at(0, l) = static_cast<Real>(t);
        at(n - 1, l) += static_cast<Real>(last * t);
        z2n *= z2n * iz;
        for (std::int64_t s = 1; s <= n - 2; ++s) {
          at(s, l) += static_cast<Real>((zn + z2n) * t);
          zn *= pole.z;
          z2n *= iz;
        }
      }
    }
    for (std::int64_t s = 0; s < n; ++s) {
      for (std::int64_t l = 0; l < count; ++l) at(s, l) *= gain;
    }
  }
};

// Runs the prefilter (transpose = false: axes i, j, k) or its transpose
// (transpose = true: axes k, j, i, each line filter transposed) in place over
// an (nx, ny, nz) LayoutLeft array; `axes` (bit a = axis a) selects passes
// (a distributed image filters i and j in its slabs and k after a transpose). On host backends a
// work item takes a block of adjacent lines (contiguous reads); on GPUs one line per thread keeps
// neighbouring threads coalesced.
template <class ExecutionSpace, class Real>
void bspline_filter(const ExecutionSpace& exec, Real* data, const Size3& size, bool transpose,
                    unsigned axes = 7u) {
  constexpr bool host = Kokkos::SpaceAccessibility<ExecutionSpace, Kokkos::HostSpace>::accessible;
  for (int pass = 0; pass < 3; ++pass) {
    const int axis = transpose ? 2 - pass : pass;
    const std::int64_t n = size[axis];
    if (n < 2 || !(axes & (1u << axis)) || size[0] * size[1] * size[2] == 0) continue;
    const std::int64_t width = host ? (axis == 0 ? 16 : 32) : 1;
    const std::int64_t lines_per_row = axis == 0 ? size[1] : size[0];
    const std::int64_t chunks = (lines_per_row + width - 1) / width;
    const std::int64_t items = chunks * (axis == 2 ? size[1] : size[2]);
    BSplinePrefilterLines<Real> functor{data,  axis,   n,  size[0],  size[1],
                                        width, chunks, {}, transpose};
    Kokkos::parallel_for(
        transpose ? "medimg::bspline_prefilter_transpose" : "medimg::bspline_prefilter",
        Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(exec, 0, items),
        functor);
  }
}

}  // namespace impl

// The cubic B-spline coefficients of `image`, in interp_real_t<T>.
template <class ExecutionSpace, class T, class MemorySpace>
Kokkos::View<interp_real_t<T>***, Kokkos::LayoutLeft, MemorySpace> bspline_coefficients(
    const ExecutionSpace& exec, const Image<T, MemorySpace>& image) {
  using Real = interp_real_t<T>;
  using CoefficientView = Kokkos::View<Real***, Kokkos::LayoutLeft, MemorySpace>;
  const Size3& size = image.geometry().size();
  CoefficientView c(Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::bspline_coefficients"),
                    static_cast<std::size_t>(size[0]), static_cast<std::size_t>(size[1]),
                    static_cast<std::size_t>(size[2]));
  Kokkos::parallel_for("medimg::bspline_copy",
                       Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                           exec, 0, image.geometry().voxel_count()),
                       impl::CastVoxels<Real, T>{image.voxels().data(), c.data()});
  impl::bspline_filter(exec, c.data(), size, false);
  return c;
}

// The transpose of the prefilter, in place: given dL/d(coefficients),
// leaves dL/d(voxels) (the prefilter is linear; its transpose runs the
// recursions backwards, see BSplinePrefilterLines::adjoint).
template <class ExecutionSpace, class Real, class MemorySpace>
void bspline_coefficients_transpose(
    const ExecutionSpace& exec, const Kokkos::View<Real***, Kokkos::LayoutLeft, MemorySpace>& c) {
  const Size3 size{static_cast<std::int64_t>(c.extent(0)), static_cast<std::int64_t>(c.extent(1)),
                   static_cast<std::int64_t>(c.extent(2))};
  impl::bspline_filter(exec, c.data(), size, true);
}

}  // namespace medimg
