// Sums that users see accumulate in double on every backend and every
// Kokkos / Kokkos Kernels version (core/sums.hpp): a float accumulator
// (Kokkos Kernels >= 4.3's KokkosBlas::dot of float Views) fails these.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "backends.hpp"
#include "medimg/core/sums.hpp"
#include "medimg/register/metric.hpp"

namespace medimg::test {
namespace {

template <class ExecutionSpace>
class Sums : public ::testing::Test {};
TYPED_TEST_SUITE(Sums, Backends);

// 10^6 positive floats spanning six decades, and their products: a float
// accumulator loses about 3 digits on these.
struct MixedMagnitudes {
  std::vector<float> x, y;
  double reference = 0.0;  // sum x y in double, compensated (Neumaier)
  double sum_x = 0.0;      // sum x, likewise
};

double compensated(const std::vector<double>& terms) {
  double sum = 0.0, carry = 0.0;
  for (double t : terms) {
    const double s = sum + t;
    carry += std::fabs(sum) >= std::fabs(t) ? (sum - s) + t : (t - s) + sum;
    sum = s;
  }
  return sum + carry;
}

MixedMagnitudes mixed_magnitudes(std::size_t n) {
  MixedMagnitudes m;
  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<double> decade(-3.0, 3.0);
  m.x.resize(n);
  m.y.resize(n);
  std::vector<double> products(n), xs(n);
  for (std::size_t i = 0; i < n; ++i) {
    m.x[i] = static_cast<float>(std::pow(10.0, decade(rng)));
    m.y[i] = static_cast<float>(std::pow(10.0, decade(rng) / 3.0));
    products[i] = static_cast<double>(m.x[i]) * static_cast<double>(m.y[i]);
    xs[i] = m.x[i];
  }
  m.reference = compensated(products);
  m.sum_x = compensated(xs);
  return m;
}

template <class MemorySpace>
Kokkos::View<float*, MemorySpace> device_copy(const std::vector<float>& values) {
  Kokkos::View<float*, MemorySpace> view(Kokkos::view_alloc("values", Kokkos::WithoutInitializing),
                                         values.size());
  Kokkos::View<const float*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> host(
      values.data(), values.size());
  Kokkos::deep_copy(view, host);
  return view;
}

TYPED_TEST(Sums, DotOfAMillionMixedMagnitudeFloatsMatchesDoubleTo1e7) {
  using MS = typename TypeParam::memory_space;
  const MixedMagnitudes m = mixed_magnitudes(1000000);
  // The data is hard enough: a float accumulator, in order, misses by far
  // more than the tolerance below.
  float naive = 0.0f;
  for (std::size_t i = 0; i < m.x.size(); ++i) naive += m.x[i] * m.y[i];
  const double naive_error = std::fabs(naive - m.reference) / m.reference;
  EXPECT_GT(naive_error, 1e-5);

  const auto x = device_copy<MS>(m.x), y = device_copy<MS>(m.y);
  const double dot = sum_of_products(TypeParam(), x, y);
  const double sum = sum_of(TypeParam(), x);
  std::printf("[sums] dot %.17g reference %.17g relative error %.2e (float in order: %.2e)\n", dot,
              m.reference, std::fabs(dot - m.reference) / m.reference, naive_error);
  EXPECT_LE(std::fabs(dot - m.reference), 1e-7 * m.reference);
  EXPECT_LE(std::fabs(sum - m.sum_x), 1e-7 * m.sum_x);
  // In double the error is round-off of the double sum alone.
  EXPECT_LE(std::fabs(dot - m.reference), 1e-12 * m.reference);
}

TYPED_TEST(Sums, CountsBeyondTwoToThe24AreExact) {
  // A float accumulator stops growing at 2^24 = 16777216 (adding 1 rounds
  // back); a valid-voxel count of a 512^3 image is 8x that.
  using MS = typename TypeParam::memory_space;
  const std::int64_t n = (std::int64_t(1) << 24) + 1001;
  Kokkos::View<float*, MS> ones("ones", n);
  Kokkos::deep_copy(ones, 1.0f);
  EXPECT_EQ(sum_of(TypeParam(), ones), static_cast<double>(n));
  EXPECT_EQ(sum_of_products(TypeParam(), ones, ones), static_cast<double>(n));
}

// The registration metrics' sums (MetricCore, the arithmetic the single-
// process and the distributed metric share) on 10^6 voxels, against the
// same formulas in compensated double on the host.
TYPED_TEST(Sums, MetricValuesOfAMillionVoxelsMatchDouble) {
  using MS = typename TypeParam::memory_space;
  const MixedMagnitudes m = mixed_magnitudes(1000000);
  const std::size_t n = m.x.size();
  // f = x; y = x + a smooth offset, so MSE and NCC are far from 0 and 1.
  std::vector<float> f = m.x, y(n);
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = m.x[i] * 0.75f + 3.0f * m.y[i] + static_cast<float>(i % 97);
  }
  std::vector<double> sq(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(y[i]) - static_cast<double>(f[i]);
    sq[i] = d * d;
  }
  const double mse = compensated(sq) / static_cast<double>(n);
  std::vector<double> fv(f.begin(), f.end()), yv(y.begin(), y.end());
  const double fbar = compensated(fv) / static_cast<double>(n);
  const double ybar = compensated(yv) / static_cast<double>(n);
  std::vector<double> fm(n), ff(n), mm(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double a = fv[i] - fbar, b = yv[i] - ybar;
    fm[i] = a * b;
    ff[i] = a * a;
    mm[i] = b * b;
  }
  const double cross = compensated(fm);
  const double ncc = -cross * cross / (compensated(ff) * compensated(mm));

  using Core = impl::MetricCore<TypeParam, MS>;
  auto fd = device_copy<MS>(f), yd = device_copy<MS>(y);
  Kokkos::View<float*, MS> g("dL/dy", n);
  const typename Core::Vector fvec(fd.data(), n), yvec(yd.data(), n), gvec(g.data(), n);
  for (const auto& [metric, expected] :
       {std::pair{Metric::mse, mse}, std::pair{Metric::ncc, ncc}}) {
    const Core core(TypeParam(), MetricSettings{metric, 50}, Statistics{}, Statistics{});
    std::int64_t valid = 0;
    const double value = core.value_and_dy(fvec, yvec, gvec, valid);
    EXPECT_EQ(valid, static_cast<std::int64_t>(n));
    std::printf("[sums] %s %.17g reference %.17g relative error %.2e\n",
                std::string(to_string(metric)).c_str(), value, expected,
                std::fabs(value - expected) / std::fabs(expected));
    EXPECT_LE(std::fabs(value - expected), 1e-7 * std::fabs(expected)) << to_string(metric);
  }
}

}  // namespace
}  // namespace medimg::test
