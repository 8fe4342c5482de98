// BatchedImage, the batched ops and the seeded augmentations
// (core/batched_image.hpp, resample/batched.hpp, ops/batched.hpp,
// ops/augment.hpp, core/random.hpp). Needs no ITK and no data file, so the
// GPU bundle runs it with medimg_test_backends:
//   - one launch over a batch gives each item bit for bit the single-image
//     op on that item (resample with the three interpolators, float and
//     int16, items on different oblique grids; flip, crop, pad);
//   - Philox4x32-10 gives Random123's known answers;
//   - augmentation draws depend on (seed, item, step) only: the same item in
//     batches of other sizes and positions, on every backend, gives the
//     same voxels; the draws cover the ranges asked with the expected mean.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "backends.hpp"
#include "medimg/core/batched_image.hpp"
#include "medimg/core/random.hpp"
#include "medimg/ops/augment.hpp"
#include "medimg/ops/augment_elastic.hpp"
#include "medimg/ops/augment_intensity.hpp"
#include "medimg/ops/batched.hpp"
#include "medimg/ops/change_orientation.hpp"
#include "medimg/ops/crop.hpp"
#include "medimg/ops/flip.hpp"
#include "medimg/ops/pad.hpp"
#include "medimg/ops/resize.hpp"
#include "medimg/ops/rotate.hpp"
#include "medimg/ops/scale.hpp"
#include "medimg/ops/translate.hpp"
#include "medimg/resample/backward.hpp"
#include "medimg/resample/batched.hpp"
#include "medimg/resample/batched_backward.hpp"
#include "medimg/resample/resample.hpp"
#include "test_support.hpp"

namespace medimg::test {
namespace {

using Exec = Kokkos::DefaultExecutionSpace;
using Memory = Exec::memory_space;

// Three items of one size on different oblique grids, each its own content.
std::vector<Image<float, HostMemory>> three_items() {
  const Size3 size{31, 24, 17};
  std::vector<Image<float, HostMemory>> items;
  for (int n = 0; n < 3; ++n) {
    const Mat3 d = multiply(rotation(Vec3{0.2, 1.0, -0.4}, 9.0 * n), oblique_direction());
    const Geometry g(size, Vec3{-10.0 + 3.0 * n, 5.5 - n, 2.0 * n},
                     Vec3{0.9 + 0.1 * n, 1.2, 2.1 - 0.3 * n}, d);
    auto image = smooth_volume(g);
    for (std::int64_t v = 0; v < g.voxel_count(); ++v) image.voxels().data()[v] += 100.0f * n;
    items.push_back(image);
  }
  return items;
}

template <class T>
Image<T, HostMemory> as_type(const Image<float, HostMemory>& image) {
  auto out = Image<T, HostMemory>::uninitialized(image.geometry());
  for (std::int64_t v = 0; v < image.geometry().voxel_count(); ++v) {
    out.voxels().data()[v] = static_cast<T>(std::lround(image.voxels().data()[v]));
  }
  return out;
}

template <class T, class M>
BatchedImage<T, M> on_memory(const std::vector<Image<T, HostMemory>>& items) {
  std::vector<Image<T, M>> moved;
  for (const auto& item : items) moved.push_back(to_memory_space<M>(item));
  return BatchedImage<T, M>::stack(moved);
}

// The voxels of a and b are the same bits (and the grids the same).
template <class T, class M1, class M2>
void expect_identical(const Image<T, M1>& a_any, const Image<T, M2>& b_any,
                      const std::string& what) {
  const auto a = to_host(a_any);
  const auto b = to_host(b_any);
  expect_same_geometry(a.geometry(), b.geometry(), 0.0);
  std::int64_t differ = 0, first = -1;
  double worst = 0.0;
  for (std::int64_t v = 0; v < a.geometry().voxel_count(); ++v) {
    const T x = a.voxels().data()[v], y = b.voxels().data()[v];
    if (std::memcmp(&x, &y, sizeof(T)) != 0) {
      if (differ++ == 0) first = v;
      worst = std::max(worst, std::fabs(double(x) - double(y)));
    }
  }
  EXPECT_EQ(differ, 0) << what << ": largest difference " << worst << ", first at voxel " << first;
}

std::vector<AffineTransform> item_transforms(const std::vector<Geometry>& grids) {
  std::vector<AffineTransform> out;
  for (std::size_t n = 0; n < grids.size(); ++n) {
    const Vec3 c = grids[n].center();
    out.push_back(AffineTransform(multiply(rotation(Vec3{0.3, -0.5, 0.8}, 7.0 + 6.0 * n),
                                           Mat3{Vec3{1.0 + 0.04 * n, 0.03, 0.0},
                                                Vec3{0.0, 0.97, 0.02}, Vec3{0.01, 0.0, 1.05}}),
                                  Vec3{1.5 * n, -0.7, 0.3 * n}, c));
  }
  return out;
}

TEST(Philox, KnownAnswersOfRandom123) {
  const auto check = [](Philox4x32 counter, std::uint32_t k0, std::uint32_t k1,
                        std::array<std::uint32_t, 4> want) {
    const Philox4x32 got = philox4x32_10(counter, k0, k1);
    for (int w = 0; w < 4; ++w) EXPECT_EQ(got.v[w], want[static_cast<std::size_t>(w)]) << w;
  };
  check(Philox4x32{{0, 0, 0, 0}}, 0, 0, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  check(Philox4x32{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu,
        {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  check(Philox4x32{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u,
        {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST(Philox, UniformAndNormalMoments) {
  const int n = 200000;
  double sum = 0, sum2 = 0, lo = 1, hi = 0, nsum = 0, nsum2 = 0;
  for (int d = 0; d < n; ++d) {
    const double u = random_uniform(42, 7, static_cast<std::uint64_t>(d));
    sum += u;
    sum2 += u * u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    const double g = random_normal(42, 7, static_cast<std::uint64_t>(d));
    nsum += g;
    nsum2 += g * g;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.003);
  EXPECT_NEAR(sum2 / n - 0.25, 1.0 / 12.0, 0.002);
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
  EXPECT_NEAR(nsum / n, 0.0, 0.01);
  EXPECT_NEAR(nsum2 / n, 1.0, 0.01);
}

TEST(BatchedImage, ItemsShareTheBatchVoxelsAndKeepTheirGeometry) {
  const auto items = three_items();
  const auto batch = on_memory<float, HostMemory>(items);
  ASSERT_EQ(batch.count(), 3u);
  for (std::size_t n = 0; n < 3; ++n) {
    const auto item = batch.item(n);
    EXPECT_EQ(item.voxels().data(), batch.voxels().data() + n * 31 * 24 * 17);
    expect_identical(item, items[n], "item " + std::to_string(n));
  }
  const std::vector<Geometry> mixed{items[0].geometry(), synthetic_grid()};
  EXPECT_THROW((BatchedImage<float, HostMemory>::uninitialized(mixed)), Error);
}

template <class T>
void check_resample_batch(const std::vector<Image<float, HostMemory>>& floats) {
  std::vector<Image<T, HostMemory>> items;
  for (const auto& f : floats) items.push_back(as_type<T>(f));
  const auto batch = on_memory<T, Memory>(items);
  std::vector<Geometry> outputs;
  for (const auto& item : items) outputs.push_back(other_grid(item.geometry()));
  const auto transforms = item_transforms(batch.geometries());
  for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
    const auto batched = resample_batch(Exec(), outputs, batch, transforms, interp, -3.0);
    for (std::size_t n = 0; n < items.size(); ++n) {
      const auto single = resample(Exec(), outputs[n], to_memory_space<Memory>(items[n]),
                                   transforms[n], interp, -3.0);
      expect_identical(batched.item(n), single,
                       std::string(to_string(interp)) + " item " + std::to_string(n));
    }
  }
}

TEST(BatchedOps, ResampleIsOneLaunchAndEachItemIsTheSingleResampleBitForBit) {
  const auto floats = three_items();
  check_resample_batch<float>(floats);
  check_resample_batch<std::int16_t>(floats);
}

TEST(BatchedOps, InterpolatingOpsTakeOneValuePerItemBitForBit) {
  const auto items = three_items();
  const auto batch = on_memory<float, Memory>(items);
  const std::vector<double> degrees{5.0, -12.5, 30.0};
  const std::vector<Vec3> factors{Vec3{1.1, 0.9, 1.0}, Vec3{0.8, 1.2, 1.05}, Vec3{1, 1, 1}};
  const std::vector<Vec3> offsets{Vec3{1.5, -2, 0.5}, Vec3{0, 0, 3}, Vec3{-4, 1, 0}};
  const Size3 size{25, 30, 12};
  const auto rotated = rotate_batch(Exec(), batch, Axis::j, degrees, Interp::bspline, -1.0);
  const auto scaled = scale_batch(Exec(), batch, factors, Interp::linear);
  const auto moved = translate_resample_batch(Exec(), batch, offsets, Interp::nearest);
  const auto resized = resize_batch(Exec(), batch, size, Interp::linear);
  for (std::size_t n = 0; n < 3; ++n) {
    const auto one = to_memory_space<Memory>(items[n]);
    const std::string item = " item " + std::to_string(n);
    expect_identical(rotated.item(n),
                     rotate(Exec(), one, Axis::j, degrees[n], Interp::bspline, -1.0),
                     "rotate" + item);
    expect_identical(scaled.item(n), scale(Exec(), one, factors[n], Interp::linear),
                     "scale" + item);
    expect_identical(moved.item(n), translate_resample(Exec(), one, offsets[n], Interp::nearest),
                     "translate_resample" + item);
    expect_identical(resized.item(n), resize(Exec(), one, size, Interp::linear), "resize" + item);
  }
  // The items' spacings differ, so 1 mm grids differ in size: refused.
  EXPECT_THROW(resample_to_spacing_batch(Exec(), batch, Vec3{1, 1, 1}, Interp::linear), Error);
  EXPECT_THROW(rotate_batch(Exec(), batch, Axis::i, {1.0, 2.0}, Interp::linear), Error);
}

TEST(BatchedOps, FlipCropPadAreTheSingleOpsBitForBit) {
  const auto items = three_items();
  const auto batch = on_memory<float, Memory>(items);
  const std::vector<std::array<bool, 3>> flips{
      {{true, false, false}}, {{false, false, false}}, {{true, true, true}}};
  const auto flipped = flip_batch(Exec(), batch, flips);
  const std::vector<Size3> starts{Size3{0, 0, 0}, Size3{5, 3, 2}, Size3{11, 9, 6}};
  const Size3 size{20, 15, 11};
  const auto cropped = crop_batch(Exec(), batch, starts, size);
  const auto padded = pad_batch(Exec(), batch, Size3{2, 0, 3}, Size3{1, 4, 0}, -5.0);
  for (std::size_t n = 0; n < 3; ++n) {
    auto single = to_memory_space<Memory>(items[n]);
    auto f = clone(single);
    for (int a = 0; a < 3; ++a) {
      if (flips[n][static_cast<std::size_t>(a)]) f = flip(Exec(), f, static_cast<Axis>(a));
    }
    expect_identical(flipped.item(n), f, "flip " + std::to_string(n));
    expect_identical(cropped.item(n), crop(Exec(), single, starts[n], size),
                     "crop " + std::to_string(n));
    expect_identical(padded.item(n), pad(Exec(), single, Size3{2, 0, 3}, Size3{1, 4, 0}, -5.0),
                     "pad " + std::to_string(n));
  }
  for (const char* code : {"RAS", "PIL", "SLA"}) {
    const auto reoriented = change_orientation_batch(Exec(), batch, code);
    for (std::size_t n = 0; n < 3; ++n) {
      expect_identical(reoriented.item(n),
                       change_orientation(Exec(), to_memory_space<Memory>(items[n]), code),
                       std::string("reorient ") + code);
    }
  }
}

template <class M>
double dot(const BatchedImage<double, M>& a_any, const BatchedImage<double, M>& b_any) {
  double sum = 0.0;
  for (std::size_t n = 0; n < a_any.count(); ++n) {
    const auto a = to_host(a_any.item(n));
    const auto b = to_host(b_any.item(n));
    for (std::int64_t v = 0; v < a.geometry().voxel_count(); ++v) {
      sum += a.voxels().data()[v] * b.voxels().data()[v];
    }
  }
  return sum;
}

// Random values on the items' grids (a gradient to push back).
template <class M>
BatchedImage<double, M> random_like(const std::vector<Geometry>& grids, std::uint64_t seed) {
  std::vector<Image<double, HostMemory>> items;
  for (std::size_t n = 0; n < grids.size(); ++n) {
    auto image = Image<double, HostMemory>::uninitialized(grids[n]);
    for (std::int64_t v = 0; v < grids[n].voxel_count(); ++v) {
      image.voxels().data()[v] = random_uniform(seed, n, static_cast<std::uint64_t>(v)) - 0.5;
    }
    items.push_back(image);
  }
  return on_memory<double, M>(items);
}

TEST(BatchedBackward, EachItemIsTheSingleAdjointAndTheDotTestHolds) {
  std::vector<Image<double, HostMemory>> items;
  for (const auto& f : three_items()) {
    auto d = Image<double, HostMemory>::uninitialized(f.geometry());
    for (std::int64_t v = 0; v < f.geometry().voxel_count(); ++v) {
      d.voxels().data()[v] = f.voxels().data()[v];
    }
    items.push_back(d);
  }
  const auto batch = on_memory<double, Memory>(items);
  std::vector<Geometry> outputs;
  for (const auto& item : items) outputs.push_back(other_grid(item.geometry()));
  // other_grid keeps each item's size change, so the outputs share a size.
  const auto transforms = item_transforms(batch.geometries());
  const auto dy = random_like<Memory>(outputs, 17);
  for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
    const std::string what(to_string(interp));
    const auto g = resample_batch_backward(Exec(), outputs, batch, transforms, interp, dy,
                                           wrt::image | wrt::params, Accumulation::deterministic);
    ASSERT_TRUE(g.image.has_value());
    ASSERT_EQ(g.transforms.size(), 3u);
    for (std::size_t n = 0; n < 3; ++n) {
      const auto one = to_memory_space<Memory>(items[n]);
      const Sampler<double, Memory> sampler(Exec(), one, interp);
      const auto single = resample_backward(Exec(), outputs[n], sampler, transforms[n], dy.item(n),
                                            wrt::image | wrt::params, Accumulation::deterministic);
      // The same sums in the same order; the compiler may fuse a multiply
      // into an add in one instantiation and not the other (with
      // -ffp-contract=off the two are bit for bit equal: tried), so the
      // last bit may differ (seen: 1.1e-16 on values of order 1).
      const auto a = to_host(g.image->item(n));
      const auto b = to_host(*single.image);
      double worst = 0.0, scale = 0.0;
      for (std::int64_t v = 0; v < a.geometry().voxel_count(); ++v) {
        worst = std::max(worst, std::fabs(a.voxels().data()[v] - b.voxels().data()[v]));
        scale = std::max(scale, std::fabs(b.voxels().data()[v]));
      }
      EXPECT_LE(worst, 8 * std::numeric_limits<double>::epsilon() * scale)
          << what << " dL/dx item " << n;
      EXPECT_GT(scale, 0.0);
      for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 3; ++c) {
          const double want = single.transform->matrix[r][c];
          EXPECT_NEAR(g.transforms[n].matrix[r][c], want, 1e-10 * (1.0 + std::fabs(want))) << what;
        }
        const double want = single.transform->offset[r];
        EXPECT_NEAR(g.transforms[n].offset[r], want, 1e-10 * (1.0 + std::fabs(want))) << what;
      }
    }
    // <A x, y> = <x, A^T y> over the batch (scatter accumulation).
    const auto x = random_like<Memory>(batch.geometries(), 23);
    const auto ax = resample_batch(Exec(), outputs, x, transforms, interp, 0.0);
    const auto aty =
        resample_batch_backward(Exec(), outputs, x, transforms, interp, dy, wrt::image);
    const double left = dot(ax, dy), right = dot(x, *aty.image);
    EXPECT_NEAR(left, right, 1e-10 * std::fabs(left)) << what;
  }
  // The index ops: <P x, y> = <x, P^T y>.
  const auto x = random_like<Memory>(batch.geometries(), 29);
  const std::vector<Size3> starts{Size3{0, 0, 0}, Size3{5, 3, 2}, Size3{11, 9, 6}};
  std::vector<Geometry> crops;
  std::vector<IndexMapping> mappings;
  for (std::size_t n = 0; n < 3; ++n) {
    crops.push_back(cropped_grid(batch.geometry(n), starts[n], Size3{20, 15, 11}));
    IndexMapping m = crop_mapping(starts[n]);
    if (n == 1) m.step[2] = -1, m.first[2] = starts[n][2] + 10;  // cropped and flipped
    mappings.push_back(m);
  }
  const auto px = copy_batch_by_index_mappings(Exec(), x, crops, mappings, 0.0, "crop");
  const auto y = random_like<Memory>(crops, 31);
  const auto pty = copy_batch_by_index_mappings_transpose(Exec(), y, batch.geometries(), mappings);
  EXPECT_NEAR(dot(px, y), dot(x, pty), 1e-12 * std::fabs(dot(px, y)));
}

TEST(Augment, RandomAffineWithFixedRangesIsRotateAndScale) {
  const auto image = smooth_volume(synthetic_grid());
  RandomAffineOptions o;
  o.degrees = {Range{0, 0}, Range{0, 0}, Range{23.0, 23.0}};
  o.scales = {Range{1, 1}, Range{1, 1}, Range{1, 1}};
  const AffineDraw d = draw_random_affine(image.geometry(), o, RandomKey{1, 2, 3});
  const AffineTransform r = rotation_about_center(image.geometry(), Axis::k, 23.0);
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 3; ++b) EXPECT_NEAR(d.transform.matrix()[a][b], r.matrix()[a][b], 1e-12);
    EXPECT_NEAR(d.transform.offset()[a], r.offset()[a], 1e-9);
  }
  o.degrees = {Range{0, 0}, Range{0, 0}, Range{0, 0}};
  o.scales = {Range{1.2, 1.2}, Range{0.8, 0.8}, Range{1.1, 1.1}};
  const AffineDraw z = draw_random_affine(image.geometry(), o, RandomKey{1, 2, 3});
  const AffineTransform s = zoom_about_center(image.geometry(), Vec3{1.2, 0.8, 1.1});
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 3; ++b) EXPECT_NEAR(z.transform.matrix()[a][b], s.matrix()[a][b], 1e-12);
    EXPECT_NEAR(z.transform.offset()[a], s.offset()[a], 1e-9);
  }
}

TEST(Augment, DrawsCoverTheRangesWithTheExpectedMean) {
  const Geometry g = synthetic_grid();
  RandomAffineOptions o;
  o.degrees = {Range{-10, 10}, Range{0, 30}, Range{-5, 5}};
  o.translation = {Range{-4, 4}, Range{0, 0}, Range{1, 3}};
  const int n = 4000;
  Vec3 mean{0, 0, 0}, lo{1e9, 1e9, 1e9}, hi{-1e9, -1e9, -1e9};
  double scale_mean = 0, t_mean = 0, flips = 0;
  RandomFlipOptions f;
  f.axes = {{true, false, true}};
  f.probability = 0.3;
  for (int item = 0; item < n; ++item) {
    const AffineDraw d = draw_random_affine(g, o, RandomKey{9, std::uint64_t(item), 1});
    for (int a = 0; a < 3; ++a) {
      mean[a] += d.degrees[a] / n;
      lo[a] = std::min(lo[a], d.degrees[a]);
      hi[a] = std::max(hi[a], d.degrees[a]);
      EXPECT_GE(d.scales[a], 0.9);
      EXPECT_LE(d.scales[a], 1.1);
    }
    scale_mean += d.scales[1] / n;
    t_mean += d.translation[2] / n;
    EXPECT_EQ(d.translation[1], 0.0);
    const auto flipped = draw_random_flip(f, RandomKey{9, std::uint64_t(item), 2});
    EXPECT_FALSE(flipped[1]);
    flips += (flipped[0] ? 1.0 : 0.0) / n;
  }
  // Means within 4 standard errors; the extremes near the ends.
  EXPECT_NEAR(mean[0], 0.0, 4 * 20 / std::sqrt(12.0 * n));
  EXPECT_NEAR(mean[1], 15.0, 4 * 30 / std::sqrt(12.0 * n));
  EXPECT_NEAR(mean[2], 0.0, 4 * 10 / std::sqrt(12.0 * n));
  EXPECT_NEAR(scale_mean, 1.0, 4 * 0.2 / std::sqrt(12.0 * n));
  EXPECT_NEAR(t_mean, 2.0, 4 * 2 / std::sqrt(12.0 * n));
  EXPECT_NEAR(flips, 0.3, 4 * std::sqrt(0.21 / n));
  EXPECT_LT(lo[0], -9.9);
  EXPECT_GT(hi[0], 9.9);
  EXPECT_LT(lo[1], 0.1);
  EXPECT_GT(hi[1], 29.9);
  // Another seed, another stream: other values.
  EXPECT_NE(draw_random_affine(g, o, RandomKey{9, 0, 1}).degrees[0],
            draw_random_affine(g, o, RandomKey{10, 0, 1}).degrees[0]);
  EXPECT_NE(draw_random_affine(g, o, RandomKey{9, 0, 1}).degrees[0],
            draw_random_affine(g, o, RandomKey{9, 0, 2}).degrees[0]);
}

TEST(Augment, AnItemIsTheSameInBatchesOfAnySizeAndAlone) {
  const auto items = three_items();
  const auto batch = on_memory<float, Memory>(items);
  const auto tail = on_memory<float, Memory>({items[1], items[2]});
  RandomAffineOptions o;
  o.shear = {Range{-0.05, 0.05}, Range{0, 0}, Range{-0.02, 0.02}};
  std::vector<AffineDraw> drawn;
  const auto all = random_affine_batch(Exec(), batch, o, 77, 10, 4, &drawn);
  const auto two = random_affine_batch(Exec(), tail, o, 77, 11, 4);
  ASSERT_EQ(drawn.size(), 3u);
  for (std::size_t n = 1; n < 3; ++n) {
    expect_identical(all.item(n), two.item(n - 1), "item in a batch of 2");
    AffineDraw alone_draw;
    const auto alone = random_affine(Exec(), to_memory_space<Memory>(items[n]), o,
                                     RandomKey{77, 10 + n, 4}, &alone_draw);
    expect_identical(all.item(n), alone, "item alone");
    EXPECT_EQ(alone_draw.degrees[0], drawn[n].degrees[0]);
  }
  RandomFlipOptions f;
  f.axes = {{true, true, true}};
  std::vector<std::array<bool, 3>> flips;
  const auto flipped = random_flip_batch(Exec(), batch, f, 5, 0, 1, &flips);
  for (std::size_t n = 0; n < 3; ++n) {
    expect_identical(flipped.item(n),
                     random_flip(Exec(), to_memory_space<Memory>(items[n]), f, RandomKey{5, n, 1}),
                     "flip item " + std::to_string(n));
  }
}

TEST(Augment, ElasticAndIntensityBatchesAreTheOneImageResults) {
  const auto items = three_items();
  const auto batch = on_memory<float, Memory>(items);
  RandomElasticOptions e;
  e.control_points = {{6, 5, 4}};
  e.max_displacement = {{3.0, 2.0, 4.0}};
  RandomIntensityOptions g;
  g.noise_std = {5.0, 10.0};
  for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
    e.interp = interp;
    std::vector<ElasticDraw> drawn;
    const auto all = random_elastic_batch(Exec(), batch, e, 21, 100, 2, &drawn);
    for (std::size_t n = 0; n < 3; ++n) {
      ElasticDraw one;
      const auto alone = random_elastic(Exec(), to_memory_space<Memory>(items[n]), e,
                                        RandomKey{21, 100 + n, 2}, &one);
      expect_identical(all.item(n), alone,
                       std::string("elastic ") + std::string(to_string(interp)));
      EXPECT_EQ(one.displacements, drawn[n].displacements);
    }
  }
  // Zero displacement is the identity (the interpolators at whole indices).
  e.max_displacement = {{0.0, 0.0, 0.0}};
  e.interp = Interp::linear;
  expect_identical(random_elastic(Exec(), to_memory_space<Memory>(items[0]), e, RandomKey{}),
                   to_memory_space<Memory>(items[0]), "elastic with no displacement");
  // An odd voxel count (noise comes in pairs of voxels): every voxel written.
  std::vector<Image<float, HostMemory>> odd;
  for (int n = 0; n < 2; ++n) {
    auto image = Image<float, HostMemory>::uninitialized(
        Geometry(Size3{5, 3, 3}, Vec3{0, 0, 0}, Vec3{1, 1, 1}));
    for (std::int64_t v = 0; v < 45; ++v) image.voxels().data()[v] = float(v + 100 * n);
    odd.push_back(image);
  }
  const auto odd_batch = on_memory<float, Memory>(odd);
  RandomIntensityOptions none;
  none.log_gamma = {0.0, 0.0};
  none.noise_std = {0.0, 0.0};
  none.bias = 0.0;
  const auto same = random_intensity_batch(Exec(), odd_batch, none, 1, 0, 1);
  const auto odd_noisy = random_intensity_batch(Exec(), odd_batch, g, 1, 0, 1);
  for (std::size_t n = 0; n < 2; ++n) {
    expect_identical(same.item(n), odd[n], "no intensity change, odd count");
    expect_identical(
        odd_noisy.item(n),
        random_intensity(Exec(), to_memory_space<Memory>(odd[n]), g, RandomKey{1, n, 1}),
        "odd count, item " + std::to_string(n));
  }
  const auto noisy = random_intensity_batch(Exec(), batch, g, 4, 7, 3);
  for (std::size_t n = 0; n < 3; ++n) {
    expect_identical(
        noisy.item(n),
        random_intensity(Exec(), to_memory_space<Memory>(items[n]), g, RandomKey{4, 7 + n, 3}),
        "intensity item " + std::to_string(n));
  }
}

// Every host backend gives the bits of the default one; a GPU within the
// resampling tolerance (its compiler may fuse multiply-adds), the draws
// themselves identical.
template <class Backend>
class AugmentOnEveryBackend : public ::testing::Test {};
TYPED_TEST_SUITE(AugmentOnEveryBackend, Backends);

TYPED_TEST(AugmentOnEveryBackend, RandomAffineBatchMatchesTheHostBackends) {
  using M = typename TypeParam::memory_space;
  const auto items = three_items();
  RandomAffineOptions o;
  o.interp = Interp::bspline;
  const auto ours = random_affine_batch(TypeParam(), on_memory<float, M>(items), o, 3, 0, 1);
  const auto reference =
      random_affine_batch(Kokkos::Serial(), on_memory<float, HostMemory>(items), o, 3, 0, 1);
  RandomElasticOptions e;
  RandomIntensityOptions g;
  const auto ours_e = random_elastic_batch(TypeParam(), on_memory<float, M>(items), e, 3, 0, 2);
  const auto ref_e =
      random_elastic_batch(Kokkos::Serial(), on_memory<float, HostMemory>(items), e, 3, 0, 2);
  const auto ours_g = random_intensity_batch(TypeParam(), on_memory<float, M>(items), g, 3, 0, 3);
  const auto ref_g =
      random_intensity_batch(Kokkos::Serial(), on_memory<float, HostMemory>(items), g, 3, 0, 3);
  constexpr bool host = Kokkos::SpaceAccessibility<TypeParam, Kokkos::HostSpace>::accessible;
  for (std::size_t n = 0; n < 3; ++n) {
    const std::string item = " item " + std::to_string(n);
    if (host) {
      expect_identical(ours.item(n), reference.item(n), "affine" + item);
      expect_identical(ours_e.item(n), ref_e.item(n), "elastic" + item);
      expect_identical(ours_g.item(n), ref_g.item(n), "intensity" + item);
    } else {
      for (const auto& [a_any, b, what] :
           {std::make_tuple(ours.item(n), reference.item(n), "affine"),
            std::make_tuple(ours_e.item(n), ref_e.item(n), "elastic"),
            std::make_tuple(ours_g.item(n), ref_g.item(n), "intensity")}) {
        const auto a = to_host(a_any);
        double worst = 0;
        for (std::int64_t v = 0; v < a.geometry().voxel_count(); ++v) {
          worst = std::max(worst, std::fabs(double(a.voxels().data()[v]) - b.voxels().data()[v]));
        }
        EXPECT_LE(worst, 1e-4 * 1000.0) << what << item;
      }
    }
  }
}

}  // namespace
}  // namespace medimg::test
