// Image similarity metrics with gradients, the objective of registration.
// The transform maps fixed points to moving points (ITK's convention); the
// metric compares the fixed image F with the moving image M resampled onto
// the fixed grid, y(o) = M(T(p(o))), over the valid voxels: those whose
// T(p) is inside the moving image (ITK's "valid points"). All metrics are
// minimised:
//
//   mse     (1/N) sum (y - F)^2                      MeanSquaresImageToImageMetricv4
//   ncc     -<Fc, Mc>^2 / (|Fc|^2 |Mc|^2), Fc, Mc the CorrelationImageToImageMetricv4
//           valid voxels minus their means
//   mattes  -MI of the Parzen-windowed joint           MattesMutualInformationImageTo-
//           histogram: `bins` bins (default 50), 2     ImageMetricv4
//           padding bins each side, fixed intensities
//           binned with a box kernel, moving ones with
//           a cubic B-spline kernel; moving values
//           outside the moving image's [min, max] are
//           not valid points.
//
// Gradients: the metric's dL/dy (an image on the fixed grid, 0 off the
// valid set) goes through resample_backward(wrt::params), and
// ParametricTransform::gradient turns dL/dA, dL/dt into dL/dtheta. Sums
// over the voxel arrays (counts, means, dot products) accumulate in double
// (core/sums.hpp: the same on every Kokkos Kernels version); scaled
// differences run through Kokkos Kernels' BLAS-1 (scal, axpby); the
// histogram is a ScatterView.
#pragma once

#include <KokkosBlas1_axpby.hpp>
#include <KokkosBlas1_scal.hpp>
#include <Kokkos_Core.hpp>
#include <Kokkos_ScatterView.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/image.hpp"
#include "medimg/core/sums.hpp"
#include "medimg/ops/statistics.hpp"
#include "medimg/resample/backward.hpp"
#include "medimg/resample/resample.hpp"
#include "medimg/transform/parametric.hpp"

namespace medimg {

enum class Metric { mse, ncc, mattes };

std::string_view to_string(Metric metric);
// "mse" | "ncc" | "mattes"; throws medimg::Error otherwise.
Metric parse_metric(std::string_view name);

struct MetricSettings {
  Metric metric = Metric::mse;
  int bins = 50;  // mattes
};

namespace impl {

// The cubic B-spline kernel and its derivative (Parzen windows).
KOKKOS_INLINE_FUNCTION double cubic_bspline(double x) {
  const double a = x < 0 ? -x : x;
  if (a < 1.0) return 2.0 / 3.0 - a * a + 0.5 * a * a * a;
  if (a < 2.0) return (2.0 - a) * (2.0 - a) * (2.0 - a) / 6.0;
  return 0.0;
}
KOKKOS_INLINE_FUNCTION double cubic_bspline_derivative(double x) {
  const double a = x < 0 ? -x : x;
  const double sign = x < 0 ? -1.0 : 1.0;
  if (a < 1.0) return sign * a * (1.5 * a - 2.0);
  if (a < 2.0) return -0.5 * sign * (2.0 - a) * (2.0 - a);
  return 0.0;
}

// ITK's Parzen window bins (MattesMutualInformationImageToImageMetricv4).
struct ParzenBins {
  int bins;
  double fixed_bin_size, fixed_normalized_min;
  double moving_bin_size, moving_normalized_min;
  double moving_min, moving_max;

  KOKKOS_INLINE_FUNCTION std::int64_t clamp_bin(double term) const {
    std::int64_t index = static_cast<std::int64_t>(term);
    if (index < 2) index = 2;
    if (index > bins - 3) index = bins - 3;
    return index;
  }
  KOKKOS_INLINE_FUNCTION std::int64_t fixed_bin(double f) const {
    return clamp_bin(f / fixed_bin_size - fixed_normalized_min);
  }
  KOKKOS_INLINE_FUNCTION double moving_term(double m) const {
    return m / moving_bin_size - moving_normalized_min;
  }
};

}  // namespace impl

namespace impl {

// MetricCore's kernels, as named functors (nvcc 11.8 writes host stubs that
// do not compile for extended lambdas in class templates like it). W: a
// managed float view, V: an unmanaged one (the callers' voxels).

// valid = 1 where y is a number (and, for Mattes, within the moving range),
// else 0; y0 = y where valid, else 0.
template <class V>
struct MaskOverlap {
  V y, valid, y0;
  bool mattes;
  double lo, hi;
  KOKKOS_INLINE_FUNCTION void operator()(const std::size_t v) const {
    const float m = y(v);
    const bool ok = !compat::isnan(m) && (!mattes || (m >= lo && m <= hi));
    valid(v) = ok ? 1.0f : 0.0f;
    y0(v) = ok ? m : 0.0f;
  }
};

template <class W, class V>
struct SubtractMaskedFixed {
  W work, valid;
  V f;
  KOKKOS_INLINE_FUNCTION void operator()(const std::size_t v) const { work(v) -= valid(v) * f(v); }
};

// work = valid (f - fb); g = valid (y0 - mb).
template <class W, class V>
struct CentreOverlap {
  W work;
  V g;
  W valid;
  V f;
  W y0;
  float fb, mb;
  KOKKOS_INLINE_FUNCTION void operator()(const std::size_t v) const {
    work(v) = valid(v) * (f(v) - fb);
    g(v) = valid(v) * (y0(v) - mb);
  }
};

// Mattes' joint histogram: cubic B-spline Parzen window along the moving
// bins, a box along the fixed bins, and the fixed marginal's count column.
template <class Scatter, class W, class V>
struct ParzenJointHistogram {
  Scatter scatter;
  W valid;
  V f;
  W y0;
  ParzenBins b;
  KOKKOS_INLINE_FUNCTION void operator()(const std::size_t v) const {
    if (valid(v) == 0.0f) return;
    auto access = scatter.access();
    const std::int64_t fb = b.fixed_bin(static_cast<double>(f(v)));
    const double term = b.moving_term(static_cast<double>(y0(v)));
    const std::int64_t mb = b.clamp_bin(term);
    for (std::int64_t p = mb - 1; p <= mb + 2; ++p) {
      access(fb, p) += cubic_bspline(static_cast<double>(p) - term);
    }
    access(fb, b.bins) += 1.0;
  }
};

// dL/dy(o) = factor sum_p log(P/pm)(fbin, p) beta3'(p - term).
template <class Ratio, class W, class V>
struct MattesGradient {
  Ratio ratio;
  W valid;
  V f;
  W y0;
  V g;
  ParzenBins b;
  double factor;
  KOKKOS_INLINE_FUNCTION void operator()(const std::size_t v) const {
    if (valid(v) == 0.0f) {
      g(v) = 0.0f;
      return;
    }
    const std::int64_t fb = b.fixed_bin(static_cast<double>(f(v)));
    const double term = b.moving_term(static_cast<double>(y0(v)));
    const std::int64_t mb = b.clamp_bin(term);
    double d = 0.0;
    for (std::int64_t p = mb - 1; p <= mb + 2; ++p) {
      d += ratio(fb, p) * cubic_bspline_derivative(static_cast<double>(p) - term);
    }
    g(v) = static_cast<float>(factor * d);
  }
};

// The arithmetic of every metric on flat voxel arrays, with every global
// sum passed through a reducer (none on one process, MPI_Allreduce for a
// distributed image), so one code serves both.
template <class ExecutionSpace, class MemorySpace>
class MetricCore {
 public:
  using Vector = Kokkos::View<float*, MemorySpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using View = Kokkos::View<float*, MemorySpace>;
  // Sums `count` doubles in place over every process holding a part.
  using Reducer = std::function<void(double*, int)>;

  // f, m: the fixed and moving images' statistics (min and max set Mattes' bins).
  MetricCore(const ExecutionSpace& exec, const MetricSettings& settings, const Statistics& f,
             const Statistics& m, Reducer reduce = {})
      : m_exec(exec), m_settings(settings), m_reduce(std::move(reduce)) {
    if (!m_reduce) m_reduce = [](double*, int) {};
    if (settings.metric == Metric::mattes) {
      if (settings.bins < 6) throw Error("mattes: at least 6 histogram bins are needed");
      if (!(f.max > f.min) || !(m.max > m.min)) {
        throw Error("mattes: an image is constant; mutual information needs contrast");
      }
      const double usable = static_cast<double>(settings.bins - 4);
      m_bins.bins = settings.bins;
      m_bins.fixed_bin_size = (f.max - f.min) / usable;
      m_bins.fixed_normalized_min = f.min / m_bins.fixed_bin_size - 2.0;
      m_bins.moving_bin_size = (m.max - m.min) / usable;
      m_bins.moving_normalized_min = m.min / m_bins.moving_bin_size - 2.0;
      m_bins.moving_min = m.min;
      m_bins.moving_max = m.max;
    }
  }

  // The valid mask (1/0) and y with its invalid voxels zeroed; returns the count.
  std::int64_t mask(const Vector& y, const Vector& valid, const Vector& y0) const {
    const bool mattes = m_settings.metric == Metric::mattes;
    const double lo = m_bins.moving_min, hi = m_bins.moving_max;
    Kokkos::parallel_for("medimg::metric_mask",
                         Kokkos::RangePolicy<ExecutionSpace>(m_exec, 0, y.extent(0)),
                         MaskOverlap<Vector>{y, valid, y0, mattes, lo, hi});
    const double count = sum(sum_of(m_exec, valid));
    if (!(count > 0.0)) {
      throw Error(
          "registration: no fixed voxel maps inside the moving image; the images do "
          "not overlap (initialise them closer, e.g. by their centres)");
    }
    return static_cast<std::int64_t>(count);
  }

  // The metric of y (the moved image, NaN off the moving image) against f,
  // and g = dL/dy; f, y, g are this process's voxels (all of them, or a
  // rank's slab: every sum then goes through the reducer).
  double value_and_dy(const Vector& f, const Vector& y, const Vector& g,
                      std::int64_t& valid_count) const {
    const std::size_t n = f.extent(0);
    Kokkos::View<float*, MemorySpace> valid("medimg::valid", n), y0("medimg::y_valid", n),
        work("medimg::metric_work", n);
    valid_count = mask(y, valid, y0);
    const double count = static_cast<double>(valid_count);
    switch (m_settings.metric) {
      case Metric::mse: {
        // work = valid (y - F); L = |work|^2 / N; dL/dy = 2 work / N.
        Kokkos::deep_copy(m_exec, work, y0);
        Kokkos::parallel_for("medimg::mse_difference",
                             Kokkos::RangePolicy<ExecutionSpace>(m_exec, 0, n),
                             SubtractMaskedFixed<View, Vector>{work, valid, f});
        const double value = sum(sum_of_products(m_exec, work, work)) / count;
        KokkosBlas::scal(g, static_cast<float>(2.0 / count), work);
        return value;
      }
      case Metric::ncc: {
        double means[2] = {sum_of_products(m_exec, f, valid), sum_of_products(m_exec, y0, valid)};
        m_reduce(means, 2);
        const double fbar = means[0] / count;
        const double mbar = means[1] / count;
        // work = valid (F - mean F); g = valid (y - mean y).
        const float fb = static_cast<float>(fbar), mb = static_cast<float>(mbar);
        Kokkos::parallel_for("medimg::ncc_centre",
                             Kokkos::RangePolicy<ExecutionSpace>(m_exec, 0, n),
                             CentreOverlap<View, Vector>{work, g, valid, f, y0, fb, mb});
        double dots[3] = {sum_of_products(m_exec, work, g), sum_of_products(m_exec, work, work),
                          sum_of_products(m_exec, g, g)};
        m_reduce(dots, 3);
        const double fm = dots[0], ff = dots[1], mm = dots[2];
        if (!(ff > 0.0) || !(mm > 0.0)) {
          throw Error("ncc: an image is constant over the overlap; correlation is undefined");
        }
        // dL/dy = -2 fm / (ff mm) Fc + 2 fm^2 / (ff mm^2) Mc.
        KokkosBlas::axpby(static_cast<float>(-2.0 * fm / (ff * mm)), work,
                          static_cast<float>(2.0 * fm * fm / (ff * mm * mm)), g);
        return -fm * fm / (ff * mm);
      }
      case Metric::mattes: return mattes(f, y0, valid, g);
    }
    return 0.0;
  }

  double mattes(const Vector& f, const Kokkos::View<float*, MemorySpace>& y0,
                const Kokkos::View<float*, MemorySpace>& valid, const Vector& g) const {
    const int bins = m_bins.bins;
    const std::size_t n = f.extent(0);
    // Joint histogram (fixed bin, moving bin) plus a last column counting
    // the samples per fixed bin (ITK's box-kernel fixed marginal).
    Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> joint("medimg::joint_pdf", bins,
                                                                   bins + 1);
    {
      using Device = Kokkos::Device<ExecutionSpace, MemorySpace>;
      Kokkos::Experimental::ScatterView<double**, Kokkos::LayoutRight, Device> scatter(joint);
      const impl::ParzenBins b = m_bins;
      Kokkos::parallel_for(
          "medimg::mattes_histogram", Kokkos::RangePolicy<ExecutionSpace>(m_exec, 0, n),
          ParzenJointHistogram<decltype(scatter), View, Vector>{scatter, valid, f, y0, b});
      Kokkos::Experimental::contribute(joint, scatter);
    }
    const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), joint);
    m_reduce(host.data(), bins * (bins + 1));
    const std::size_t nb = static_cast<std::size_t>(bins);
    double total = 0.0;
    for (std::size_t i = 0; i < nb; ++i) {
      for (std::size_t j = 0; j < nb; ++j) total += host(i, j);
    }
    if (!(total > 0.0)) throw Error("mattes: the joint histogram is empty");
    std::vector<double> pf(nb, 0.0), pm(nb, 0.0);
    for (std::size_t i = 0; i < nb; ++i) {
      pf[i] = host(i, nb) / total;
      for (std::size_t j = 0; j < nb; ++j) pm[j] += host(i, j) / total;
    }
    // Value and the table log(P / pm) of ITK's derivative (pRatio).
    const double tiny = std::numeric_limits<double>::epsilon();
    Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> ratio("medimg::mattes_ratio", bins,
                                                                   bins);
    auto ratio_host = Kokkos::create_mirror_view(ratio);
    double sum = 0.0;
    for (std::size_t i = 0; i < nb; ++i) {
      for (std::size_t j = 0; j < nb; ++j) {
        const double p = host(i, j) / total;
        ratio_host(i, j) = 0.0;
        if (pf[i] > tiny && pm[j] > tiny && p > tiny) {
          const double r = std::log(p / pm[j]);
          sum += p * (r - std::log(pf[i]));
          ratio_host(i, j) = r;
        }
      }
    }
    Kokkos::deep_copy(ratio, ratio_host);
    // dL/dy(o) = 1 / (S binsize) sum_p log(P/pm)(fbin, p) beta3'(p - term).
    const impl::ParzenBins b = m_bins;
    const double factor = 1.0 / (total * b.moving_bin_size);
    Kokkos::parallel_for(
        "medimg::mattes_dy", Kokkos::RangePolicy<ExecutionSpace>(m_exec, 0, n),
        MattesGradient<decltype(ratio), View, Vector>{ratio, valid, f, y0, g, b, factor});
    return -sum;
  }

 private:
  double sum(double local) const {
    m_reduce(&local, 1);
    return local;
  }

  ExecutionSpace m_exec;
  MetricSettings m_settings;
  Reducer m_reduce;
  impl::ParzenBins m_bins{};
};

}  // namespace impl

namespace impl {

// evaluate() of the single-process and the distributed metric: the moving
// image resampled onto the fixed grid (NaN off the moving image), the
// metric and dL/dy, then dL/dtheta through resample_backward(wrt::params).
// `voxels(image)` is the contiguous View of this process's voxels,
// `make_dy(grid)` an uninitialised image on the fixed grid.
template <class ExecutionSpace, class Core, class FixedImage, class MovingSampler, class Voxels,
          class MakeDy>
double evaluate_metric(const ExecutionSpace& exec, const Core& core, const FixedImage& fixed,
                       const MovingSampler& moving, const ParametricTransform& transform,
                       std::vector<double>* gradient, std::int64_t* valid_points, Voxels voxels,
                       MakeDy make_dy) {
  using Vector = typename Core::Vector;
  auto flat = [&](const auto& image) {
    const auto v = voxels(image);
    return Vector(v.data(), v.size());
  };
  const Geometry& grid = fixed.geometry();
  const AffineTransform map = transform.affine();
  const auto moved =
      resample_as<float>(exec, grid, moving, map, std::numeric_limits<double>::quiet_NaN());
  auto dy = make_dy(grid);
  std::int64_t valid = 0;
  const double value = core.value_and_dy(flat(fixed), flat(moved), flat(dy), valid);
  if (valid_points) *valid_points = valid;
  if (gradient) {
    const auto g =
        resample_backward(exec, grid, moving, map, dy, wrt::params, Accumulation::scatter);
    *gradient = transform.gradient(*g.transform);
  }
  return value;
}

}  // namespace impl

// The metric of one fixed image against one moving image, evaluated for any
// ParametricTransform (value, and gradient with respect to its parameters).
template <class ExecutionSpace, class MemorySpace>
class MetricFunction {
 public:
  MetricFunction(const ExecutionSpace& exec, const Image<float, MemorySpace>& fixed,
                 const Sampler<float, MemorySpace>& moving, const MetricSettings& settings)
      : m_exec(exec),
        m_fixed(fixed),
        m_moving(moving),
        m_core(
            exec, settings,
            settings.metric == Metric::mattes ? statistics(exec, fixed) : Statistics{},
            settings.metric == Metric::mattes ? statistics(exec, moving.image()) : Statistics{}) {}

  const Geometry& fixed_geometry() const { return m_fixed.geometry(); }

  // The metric at `transform`; with `gradient`, also dL/dtheta.
  double evaluate(const ParametricTransform& transform, std::vector<double>* gradient,
                  std::int64_t* valid_points = nullptr) const {
    return impl::evaluate_metric(
        m_exec, m_core, m_fixed, m_moving, transform, gradient, valid_points,
        [](const Image<float, MemorySpace>& image) { return image.voxels(); },
        [](const Geometry& grid) {
          return Image<float, MemorySpace>::uninitialized(grid, "medimg::dL/dy");
        });
  }

 private:
  ExecutionSpace m_exec;
  Image<float, MemorySpace> m_fixed;
  Sampler<float, MemorySpace> m_moving;
  impl::MetricCore<ExecutionSpace, MemorySpace> m_core;
};

}  // namespace medimg
