// Intensity ops on every backend, against values computed here on the host
// (sorting for order statistics, plain loops for moments). numpy on real
// data: tests/python/test_intensity.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "backends.hpp"
#include "medimg/ops/intensity.hpp"

namespace medimg {
namespace {

template <class Space>
class Intensity : public ::testing::Test {};
TYPED_TEST_SUITE(Intensity, test::Backends);

template <class T, class Space>
Image<T, typename Space::memory_space> image_of(const std::vector<T>& values, Size3 size) {
  Image<T, HostMemory> host(Geometry(size, Vec3{0, 0, 0}, Vec3{1, 1, 1}, identity_matrix()));
  std::copy(values.begin(), values.end(), host.voxels().data());
  return to_memory_space<typename Space::memory_space>(host);
}

template <class T, class MemorySpace>
std::vector<T> values_of(const Image<T, MemorySpace>& image) {
  const auto host = to_host(image);
  return std::vector<T>(host.voxels().data(), host.voxels().data() + host.geometry().voxel_count());
}

// numpy.percentile(x, q), "linear", from a sorted copy.
double reference_percentile(std::vector<double> x, double q) {
  std::sort(x.begin(), x.end());
  const double h = static_cast<double>(x.size() - 1) * (q / 100.0);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, x.size() - 1);
  const double t = h - std::floor(h);
  const double d = x[hi] - x[lo];
  return t >= 0.5 ? x[hi] - d * (1.0 - t) : x[lo] + d * t;
}

TYPED_TEST(Intensity, PercentilesEqualSortedOrderStatisticsForEveryKeyRange) {
  std::mt19937 rng(7);
  std::normal_distribution<double> normal(0.0, 1e3);
  std::vector<double> x(30 * 20 * 7);
  for (double& v : x) v = normal(rng);
  x[3] = -0.0;
  x[4] = 0.0;
  x[5] = 1e300;
  x[6] = -1e-300;
  x[7] = x[8] = x[9] = 12.5;  // ties
  const auto image = image_of<double, TypeParam>(x, Size3{30, 20, 7});
  const std::vector<double> q{0.0, 0.5, 25.0, 50.0, 62.5, 99.5, 100.0};
  const std::vector<double> got = percentiles(TypeParam(), image, q);
  for (std::size_t i = 0; i < q.size(); ++i) {
    EXPECT_EQ(got[i], reference_percentile(x, q[i])) << "q = " << q[i];
  }
}

TYPED_TEST(Intensity, PercentilesSkipNanAndHonourTheSelection) {
  std::vector<float> x(10 * 10 * 3);
  for (std::size_t n = 0; n < x.size(); ++n) x[n] = static_cast<float>((n * 37) % 101) - 20.0f;
  x[0] = std::numeric_limits<float>::quiet_NaN();
  const auto image = image_of<float, TypeParam>(x, Size3{10, 10, 3});
  std::vector<double> valid, nonzero, masked;
  std::vector<std::uint8_t> mask(x.size());
  for (std::size_t n = 0; n < x.size(); ++n) {
    mask[n] = (n % 3 == 0) ? 1 : 0;
    if (std::isnan(x[n])) continue;
    valid.push_back(x[n]);
    if (x[n] != 0.0f) nonzero.push_back(x[n]);
    if (mask[n]) masked.push_back(x[n]);
  }
  using MS = typename TypeParam::memory_space;
  EXPECT_EQ(percentiles(TypeParam(), image, {37.0})[0], reference_percentile(valid, 37.0));
  EXPECT_EQ(percentiles(TypeParam(), image, {37.0}, Selection<MS>::nonzero())[0],
            reference_percentile(nonzero, 37.0));
  const auto mask_image = image_of<std::uint8_t, TypeParam>(mask, Size3{10, 10, 3});
  EXPECT_EQ(percentiles(TypeParam(), image, {37.0}, Selection<MS>::inside(mask_image))[0],
            reference_percentile(masked, 37.0));
  EXPECT_THROW(percentiles(TypeParam(), image, {101.0}), Error);
}

TYPED_TEST(Intensity, ClipKeepsTheTypeAndRoundsIntegerBoundsInward) {
  const auto image =
      image_of<std::int16_t, TypeParam>({-1000, -161, -160, 0, 240, 241, 3000, 5}, Size3{8, 1, 1});
  EXPECT_EQ(values_of(clip(TypeParam(), image, -160.5, 240.5)),
            (std::vector<std::int16_t>{-160, -160, -160, 0, 240, 240, 240, 5}));
  EXPECT_EQ(values_of(window(TypeParam(), image, 40.0, 400.0)),
            (std::vector<std::int16_t>{-160, -160, -160, 0, 240, 240, 240, 5}));
  // ITK IntensityWindowingImageFilter: [-160, 240] -> [0, 1].
  const std::vector<float> w = values_of(window(TypeParam(), image, 40.0, 400.0, 0.0, 1.0));
  EXPECT_EQ(w[0], 0.0f);
  EXPECT_FLOAT_EQ(w[3], 0.4f);
  EXPECT_EQ(w[6], 1.0f);
  EXPECT_THROW(clip(TypeParam(), image, 3.0, 2.0), Error);
  EXPECT_THROW(window(TypeParam(), image, 40.0, 0.0), Error);
}

TYPED_TEST(Intensity, PercentileClipClipsToTheImagesOwnPercentiles) {
  std::vector<std::int32_t> x(1000);
  for (std::size_t n = 0; n < x.size(); ++n) x[n] = static_cast<std::int32_t>((n * 7919) % 1000);
  const auto clipped = values_of(percentile_clip(
      TypeParam(), image_of<std::int32_t, TypeParam>(x, Size3{10, 10, 10}), 1.0, 99.0));
  // Percentiles 9.99 and 989.01 of 0..999; integers clip to 10 and 989.
  EXPECT_EQ(*std::min_element(clipped.begin(), clipped.end()), 10);
  EXPECT_EQ(*std::max_element(clipped.begin(), clipped.end()), 989);
}

TYPED_TEST(Intensity, ZScoreOverAllNonZeroAndMaskedVoxels) {
  const std::vector<float> x{0, 0, 2, 4, 4, 4, 5, 5, 7, 9};
  const auto image = image_of<float, TypeParam>(x, Size3{10, 1, 1});
  using MS = typename TypeParam::memory_space;
  // All: mean 4, population std sqrt(7.2).
  const auto all = values_of(z_score(TypeParam(), image));
  for (std::size_t n = 0; n < x.size(); ++n) {
    EXPECT_NEAR(all[n], (x[n] - 4.0) / std::sqrt(7.2), 1e-6);
  }
  // Non-zero: mean 5, std 2 (the textbook example); zeros stay 0.
  const auto nz = values_of(z_score(TypeParam(), image, Selection<MS>::nonzero()));
  EXPECT_EQ(nz[0], 0.0f);
  for (std::size_t n = 2; n < x.size(); ++n) EXPECT_NEAR(nz[n], (x[n] - 5.0) / 2.0, 1e-6);
  // Mask: the last two voxels only (7, 9): mean 8, std 1; the rest keep their value.
  const auto mask =
      image_of<std::uint8_t, TypeParam>({0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, Size3{10, 1, 1});
  const auto masked = values_of(z_score(TypeParam(), image, Selection<MS>::inside(mask)));
  EXPECT_EQ(masked[3], 4.0f);
  EXPECT_EQ(masked[8], -1.0f);
  EXPECT_EQ(masked[9], 1.0f);
  // A flat image: x - mean.
  const auto flat =
      values_of(z_score(TypeParam(), image_of<std::uint8_t, TypeParam>({3, 3, 3}, Size3{3, 1, 1})));
  EXPECT_EQ(flat, (std::vector<float>{0, 0, 0}));
}

TYPED_TEST(Intensity, MinMaxRescaleAndMaskOf) {
  const auto image = image_of<std::int16_t, TypeParam>({-100, 0, 100, 300}, Size3{4, 1, 1});
  EXPECT_EQ(values_of(min_max(TypeParam(), image)), (std::vector<float>{0, 0.25f, 0.5f, 1}));
  EXPECT_EQ(values_of(rescale_slope_intercept(TypeParam(), image, 2.0, -1024.0)),
            (std::vector<float>{-1224, -1024, -824, -424}));
  EXPECT_EQ(values_of(mask_of(TypeParam(), image)), (std::vector<std::uint8_t>{1, 0, 1, 1}));
  const auto flat = image_of<double, TypeParam>({2, 2}, Size3{2, 1, 1});
  EXPECT_EQ(values_of(min_max(TypeParam(), flat)), (std::vector<double>{0, 0}));
  EXPECT_THROW(rescale_slope_intercept(TypeParam(), image, 0.0, 1.0), Error);
}

TYPED_TEST(Intensity, HistogramMatchOntoAnAffineCopyIsThatAffineMap) {
  // Landmarks of 3x + 50 are 3 * landmarks + 50, so matching x onto it must
  // give 3x + 50 (between landmarks the map is linear).
  std::mt19937 rng(3);
  std::gamma_distribution<double> gamma(2.0, 30.0);
  std::vector<double> x(20 * 20 * 5), y(x.size());
  for (std::size_t n = 0; n < x.size(); ++n) {
    x[n] = gamma(rng);
    y[n] = 3.0 * x[n] + 50.0;
  }
  const auto source = image_of<double, TypeParam>(x, Size3{20, 20, 5});
  const auto reference = image_of<double, TypeParam>(y, Size3{20, 20, 5});
  for (const bool at_mean : {true, false}) {
    const auto matched = values_of(histogram_match(TypeParam(), source, reference, {7, at_mean}));
    for (std::size_t n = 0; n < x.size(); ++n) ASSERT_NEAR(matched[n], y[n], 1e-9 * y[n]);
  }
  // Its landmarks are the minimum, the quantiles above the mean, the maximum.
  const std::vector<double> landmarks = histogram_landmarks(TypeParam(), source, {3, true});
  double mean = 0;
  for (const double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  std::vector<double> above;
  for (const double v : x) {
    if (v > mean) above.push_back(v);
  }
  ASSERT_EQ(landmarks.size(), 5u);
  EXPECT_EQ(landmarks[0], *std::min_element(x.begin(), x.end()));
  EXPECT_EQ(landmarks[2], reference_percentile(above, 50.0));
  EXPECT_EQ(landmarks[4], *std::max_element(x.begin(), x.end()));
}

}  // namespace
}  // namespace medimg
