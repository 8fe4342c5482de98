// Image<T, MemorySpace> on every backend: allocation, moves between memory
// spaces, deep copies, casts (round to nearest, clamp) and statistics
// against ITK's StatisticsImageFilter on real data.
#include <gtest/gtest.h>

#include <itkStatisticsImageFilter.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "backends.hpp"
#include "itk_support.hpp"
#include "medimg/core/output_buffer.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/ops/cast.hpp"
#include "medimg/ops/phantom.hpp"
#include "medimg/ops/statistics.hpp"
#include "test_support.hpp"

namespace medimg::test {
namespace {

template <class ExecutionSpace>
class ImageOnBackend : public ::testing::Test {};
TYPED_TEST_SUITE(ImageOnBackend, Backends);

TYPED_TEST(ImageOnBackend, AllocatesZeroFilledWithGeometryExtents) {
  using Space = typename TypeParam::memory_space;
  const Geometry g = oblique_geometry();
  Image<std::int16_t, Space> image(g);
  EXPECT_TRUE(image.is_allocated());
  EXPECT_EQ(image.voxels().extent(0), 23u);
  EXPECT_EQ(image.voxels().extent(1), 17u);
  EXPECT_EQ(image.voxels().extent(2), 11u);
  const Statistics s = statistics(TypeParam(), image);
  EXPECT_EQ(s.min, 0.0);
  EXPECT_EQ(s.max, 0.0);
  EXPECT_EQ(s.count, g.voxel_count());
  EXPECT_FALSE((Image<float, Space>().is_allocated()));
}

TYPED_TEST(ImageOnBackend, WrappingVoxelsChecksExtents) {
  using Space = typename TypeParam::memory_space;
  typename Image<float, Space>::view_type voxels("v", 4, 5, 6);
  EXPECT_NO_THROW((Image<float, Space>(Geometry(Size3{4, 5, 6}, Vec3{}, Vec3{1, 1, 1}), voxels)));
  EXPECT_THROW((Image<float, Space>(Geometry(Size3{4, 6, 5}, Vec3{}, Vec3{1, 1, 1}), voxels)),
               Error);
  Image<float, Space> image(Geometry(Size3{4, 5, 6}, Vec3{}, Vec3{1, 1, 1}), voxels);
  EXPECT_THROW(image.set_geometry(Geometry(Size3{4, 5, 7}, Vec3{}, Vec3{1, 1, 1})), Error);
}

TYPED_TEST(ImageOnBackend, TakeHandsTheVoxelsOverAndLeavesTheSourceEmpty) {
  using Space = typename TypeParam::memory_space;
  Image<float, Space> image(oblique_geometry());
  const float* voxels = image.voxels().data();
  const Image<float, Space> taken = take(image);
  EXPECT_FALSE(image.is_allocated());
  EXPECT_EQ(taken.voxels().data(), voxels);
  EXPECT_EQ(taken.voxels().use_count(), 1);  // nothing else holds them
  AnyImage<Space> any = Image<std::int16_t, Space>(oblique_geometry());
  const AnyImage<Space> moved = take(any);
  using Int16 = Image<std::int16_t, Space>;
  using Empty = Image<std::uint8_t, Space>;  // AnyImage's first alternative
  EXPECT_EQ(std::get<Int16>(moved).voxels().use_count(), 1);
  EXPECT_FALSE(std::get<Empty>(any).is_allocated());
}

TYPED_TEST(ImageOnBackend, RoundTripThroughBackendAndCloneIsDeep) {
  Image<float, HostMemory> host(oblique_geometry());
  for (std::int64_t n = 0; n < host.geometry().voxel_count(); ++n) {
    host.voxels().data()[n] = static_cast<float>(n) * 0.5f;
  }
  host.metadata().modality = Modality::PET;
  const auto device = on_backend<TypeParam>(host);
  const auto copy = clone(device);
  Kokkos::deep_copy(device.voxels(), 7.0f);  // must not reach the clone
  const auto back = to_host(copy);
  EXPECT_EQ(back.metadata().modality, Modality::PET);
  EXPECT_TRUE(back.geometry().same_grid(host.geometry(), 0.0));
  for (std::int64_t n = 0; n < host.geometry().voxel_count(); ++n) {
    ASSERT_EQ(back.voxels().data()[n], static_cast<float>(n) * 0.5f) << n;
  }
}

TYPED_TEST(ImageOnBackend, CastRoundsHalfUpAndClamps) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float in[] = {-0.5f,  0.49f, 0.5f,  1.5f, 2.5f,   -1.5f,
                      -1.51f, 1e9f,  -1e9f, nan,  254.6f, 65535.4f};
  const std::int16_t as_int16[] = {0, 0, 1, 2, 3, -1, -2, 32767, -32768, 0, 255, 32767};
  const std::uint8_t as_uint8[] = {0, 0, 1, 2, 3, 0, 0, 255, 0, 0, 255, 255};
  const std::uint16_t as_uint16[] = {0, 0, 1, 2, 3, 0, 0, 65535, 0, 0, 255, 65535};
  Image<float, HostMemory> host(Geometry(Size3{12, 1, 1}, Vec3{}, Vec3{1, 1, 1}));
  for (int n = 0; n < 12; ++n) host.voxels()(n, 0, 0) = in[n];
  const auto device = on_backend<TypeParam>(host);
  const auto i16 = to_host(cast<std::int16_t>(TypeParam(), device));
  const auto u8 = to_host(cast<std::uint8_t>(TypeParam(), device));
  const auto u16 = to_host(cast<std::uint16_t>(TypeParam(), device));
  const auto f64 = to_host(cast<double>(TypeParam(), device));
  for (int n = 0; n < 12; ++n) {
    EXPECT_EQ(i16.voxels()(n, 0, 0), as_int16[n]) << in[n];
    EXPECT_EQ(u8.voxels()(n, 0, 0), as_uint8[n]) << in[n];
    EXPECT_EQ(u16.voxels()(n, 0, 0), as_uint16[n]) << in[n];
    if (!std::isnan(in[n])) {
      EXPECT_EQ(f64.voxels()(n, 0, 0), static_cast<double>(in[n]));
    }
  }
  // Integer to narrower integer clamps.
  Image<std::int32_t, HostMemory> wide(Geometry(Size3{3, 1, 1}, Vec3{}, Vec3{1, 1, 1}));
  wide.voxels()(0, 0, 0) = -70000;
  wide.voxels()(1, 0, 0) = 1234;
  wide.voxels()(2, 0, 0) = 70000;
  const auto narrow = to_host(cast<std::int16_t>(TypeParam(), on_backend<TypeParam>(wide)));
  EXPECT_EQ(narrow.voxels()(0, 0, 0), -32768);
  EXPECT_EQ(narrow.voxels()(1, 0, 0), 1234);
  EXPECT_EQ(narrow.voxels()(2, 0, 0), 32767);
}

template <class T>
void expect_statistics_match_itk(const Image<T, HostMemory>& host, const Statistics& s) {
  using ItkImage = itk::Image<T, 3>;
  auto filter = itk::StatisticsImageFilter<ItkImage>::New();
  filter->SetInput(to_itk(host));
  filter->Update();
  EXPECT_EQ(s.min, static_cast<double>(filter->GetMinimum()));
  EXPECT_EQ(s.max, static_cast<double>(filter->GetMaximum()));
  EXPECT_NEAR(s.mean, filter->GetMean(), 1e-12 * std::abs(filter->GetMean()) + 1e-12);
  EXPECT_EQ(s.count, host.geometry().voxel_count());
}

TYPED_TEST(ImageOnBackend, StatisticsMatchItkOnRealData) {
  // ch2better: uint8, 301 x 370 x 316, from Debian's mricron-data.
  const auto ch2 =
      std::get<Image<std::uint8_t, HostMemory>>(load_image(mricron_dir + "/ch2better.nii.gz"));
  const Statistics s = statistics(TypeParam(), on_backend<TypeParam>(ch2));
  expect_statistics_match_itk(ch2, s);
  EXPECT_EQ(s.max, 130.0);

  const auto mr =
      std::get<Image<std::int16_t, HostMemory>>(load_image(pydicom_data_dir + "/MR_small.dcm"));
  expect_statistics_match_itk(mr, statistics(TypeParam(), on_backend<TypeParam>(mr)));
}

TYPED_TEST(ImageOnBackend, StatisticsSkipNaN) {
  Image<double, HostMemory> host(Geometry(Size3{4, 1, 1}, Vec3{}, Vec3{1, 1, 1}));
  host.voxels()(0, 0, 0) = 1.0;
  host.voxels()(1, 0, 0) = std::numeric_limits<double>::quiet_NaN();
  host.voxels()(2, 0, 0) = -3.0;
  host.voxels()(3, 0, 0) = 8.0;
  const Statistics s = statistics(TypeParam(), on_backend<TypeParam>(host));
  EXPECT_EQ(s.count, 3);
  EXPECT_EQ(s.min, -3.0);
  EXPECT_EQ(s.max, 8.0);
  EXPECT_DOUBLE_EQ(s.mean, 2.0);
}

// Enough voxels for several of the host reduction's blocks (8192) and a
// ragged tail, NaN scattered through the lanes, extremes in the tail.
TYPED_TEST(ImageOnBackend, StatisticsOverManyBlocksMatchAPlainLoop) {
  const Geometry g(Size3{97, 61, 5}, Vec3{}, Vec3{1, 1, 1});  // 29585 voxels
  Image<float, HostMemory> real(g);
  Image<std::int16_t, HostMemory> whole(g);
  double sum = 0.0, lo = 1e300, hi = -1e300;
  std::int64_t used = 0, int_sum = 0, int_hi = -40000;
  for (std::int64_t n = 0; n < g.voxel_count(); ++n) {
    const float value = static_cast<float>((n * 7919) % 1000) * 0.37f - 150.0f;
    real.voxels().data()[n] = n % 13 == 5 ? std::numeric_limits<float>::quiet_NaN() : value;
    whole.voxels().data()[n] = static_cast<std::int16_t>((n * 104729) % 60001 - 30000);
  }
  real.voxels().data()[g.voxel_count() - 2] = 4096.5f;
  whole.voxels().data()[g.voxel_count() - 1] = -32768;
  for (std::int64_t n = 0; n < g.voxel_count(); ++n) {
    const double value = real.voxels().data()[n];
    if (!std::isnan(value)) {
      sum += value;
      lo = std::min(lo, value);
      hi = std::max(hi, value);
      ++used;
    }
    int_sum += whole.voxels().data()[n];
    int_hi = std::max<std::int64_t>(int_hi, whole.voxels().data()[n]);
  }
  const Statistics s = statistics(TypeParam(), on_backend<TypeParam>(real));
  EXPECT_EQ(s.count, used);
  EXPECT_EQ(s.min, lo);
  EXPECT_EQ(s.max, 4096.5);
  EXPECT_NEAR(s.mean, sum / static_cast<double>(used), 1e-12 * std::fabs(sum / used));
  const Statistics t = statistics(TypeParam(), on_backend<TypeParam>(whole));
  EXPECT_EQ(t.count, g.voxel_count());
  EXPECT_EQ(t.min, -32768.0);
  EXPECT_EQ(t.max, static_cast<double>(int_hi));
  EXPECT_EQ(t.mean * static_cast<double>(g.voxel_count()), static_cast<double>(int_sum));
}

// StatisticsAccumulator (medimg info on a streamed file): pieces of any size
// give the whole image's statistics; exact for integers.
TEST(Statistics, AccumulatedPiecesMatchTheWholeImage) {
  const Geometry g(Size3{97, 61, 5}, Vec3{}, Vec3{1, 1, 1});
  Image<float, HostMemory> real(g);
  Image<std::int16_t, HostMemory> whole(g);
  for (std::int64_t n = 0; n < g.voxel_count(); ++n) {
    const float value = static_cast<float>((n * 7919) % 1000) * 0.37f - 150.0f;
    real.voxels().data()[n] = n % 13 == 5 ? std::numeric_limits<float>::quiet_NaN() : value;
    whole.voxels().data()[n] = static_cast<std::int16_t>((n * 104729) % 60001 - 30000);
  }
  const Statistics real_whole = statistics(real);
  const Statistics int_whole = statistics(whole);
  for (const std::int64_t piece : {std::int64_t(1), std::int64_t(8191), std::int64_t(20000)}) {
    StatisticsAccumulator a, b;
    for (std::int64_t at = 0; at < g.voxel_count(); at += piece) {
      const std::int64_t n = std::min(piece, g.voxel_count() - at);
      a.add(real.voxels().data() + at, n);
      b.add(whole.voxels().data() + at, n);
    }
    const Statistics r = a.result(), i = b.result();
    EXPECT_EQ(r.count, real_whole.count) << piece;
    EXPECT_EQ(r.min, real_whole.min) << piece;
    EXPECT_EQ(r.max, real_whole.max) << piece;
    EXPECT_NEAR(r.mean, real_whole.mean, 1e-12 * std::fabs(real_whole.mean)) << piece;
    EXPECT_EQ(i.count, int_whole.count) << piece;
    EXPECT_EQ(i.min, int_whole.min) << piece;
    EXPECT_EQ(i.max, int_whole.max) << piece;
    EXPECT_EQ(i.mean, int_whole.mean) << piece;
  }
  EXPECT_TRUE(std::isnan(StatisticsAccumulator().result().mean));  // nothing added
}

TYPED_TEST(ImageOnBackend, SheppLoganPhantomValues) {
  const Geometry g(Size3{65, 65, 65}, Vec3{}, Vec3{1, 1, 1});
  const auto phantom = to_host(shepp_logan_phantom(TypeParam(), g));
  // Centre: skull (1.0) + brain (-0.8); no other ellipsoid covers (0,0,0).
  EXPECT_NEAR(phantom.voxels()(32, 32, 32), 0.2f, 1e-6f);
  EXPECT_EQ(phantom.voxels()(0, 0, 0), 0.0f);  // outside the head
  // Left ventricle (centre x = -0.22): 1 - 0.8 - 0.2 = 0 (clamped rounding).
  EXPECT_NEAR(phantom.voxels()(static_cast<int>(std::lround((1 - 0.22) * 32)), 32, 32), 0.0f,
              1e-6f);
  const Statistics s = statistics(TypeParam(), on_backend<TypeParam>(phantom));
  EXPECT_EQ(s.min, 0.0);
  EXPECT_NEAR(s.max, 1.0, 1e-6);
}

TEST(AnyImage, KnowsItsPixelTypeAndCasts) {
  AnyImage<HostMemory> any = Image<std::uint16_t, HostMemory>(oblique_geometry());
  EXPECT_EQ(pixel_type(any), PixelType::uint16);
  EXPECT_TRUE(geometry(any).same_grid(oblique_geometry(), 0.0));
  const auto as_float = cast_to(any, PixelType::float32);
  EXPECT_EQ(pixel_type(as_float), PixelType::float32);
  EXPECT_TRUE(geometry(as_float).same_grid(oblique_geometry(), 0.0));
}

TEST(PixelType, NamesAndAliases) {
  EXPECT_EQ(to_string(PixelType::int16), "int16");
  EXPECT_EQ(parse_pixel_type("float"), PixelType::float32);
  EXPECT_EQ(parse_pixel_type("float64"), PixelType::float64);
  EXPECT_EQ(parse_pixel_type("ushort"), PixelType::uint16);
  try {
    parse_pixel_type("int64");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported pixel type 'int64'"), std::string::npos);
  }
}

TEST(Metadata, ModalityFromDicom) {
  EXPECT_EQ(modality_from_dicom("CT"), Modality::CT);
  EXPECT_EQ(modality_from_dicom("MR "), Modality::MRI);
  EXPECT_EQ(modality_from_dicom("pt"), Modality::PET);
  EXPECT_EQ(modality_from_dicom("US"), Modality::Other);
  EXPECT_EQ(to_string(Subtype::FLAIR), "FLAIR");
}

}  // namespace
}  // namespace medimg::test

// core/output_buffer.hpp: inside a scope the first host image takes the
// provider's memory (not owned, not zeroed by uninitialized), later ones
// and other threads allocate as usual; the provider is asked once even when
// it declines, and a scope ended unasked leaves the outer one in place.
TEST(OutputBuffer, TheFirstHostImageInAScopeTakesTheProvidersMemory) {
  using namespace medimg;
  using HostImage = Image<float, HostMemory>;
  const Geometry grid(Size3{4, 3, 2}, Vec3{0, 0, 0}, Vec3{1, 1, 1});
  std::vector<float> memory(24, 7.0f);
  EXPECT_EQ(OutputBuffer::claim(PixelType::float32, 4, 3, 2), nullptr);  // no scope
  int asked = 0;
  PixelType asked_type = PixelType::uint8;
  std::array<std::size_t, 3> asked_extents{};
  {
    const OutputBuffer::Scope scope(
        [&](PixelType type, const std::array<std::size_t, 3>& extents) -> void* {
          ++asked;
          asked_type = type;
          asked_extents = extents;
          return memory.data();
        });
    auto first = HostImage::uninitialized(grid);
    EXPECT_EQ(first.voxels().data(), memory.data());
    EXPECT_EQ(first.voxels()(3, 2, 1), 7.0f);
    first.voxels()(1, 1, 1) = 5.0f;
    EXPECT_EQ(memory[1 + 4 * (1 + 3 * 1)], 5.0f);
    auto second = HostImage::uninitialized(grid);
    EXPECT_NE(second.voxels().data(), memory.data());
    std::thread([&] {
      auto elsewhere = HostImage::uninitialized(grid);
      EXPECT_NE(elsewhere.voxels().data(), memory.data());
    }).join();
  }
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(asked_type, PixelType::float32);
  EXPECT_EQ(asked_extents, (std::array<std::size_t, 3>{4, 3, 2}));
  {
    const OutputBuffer::Scope declines([&](PixelType, const std::array<std::size_t, 3>&) -> void* {
      ++asked;
      return nullptr;
    });
    Image<std::int16_t, HostMemory> zeroed(grid);  // declined: allocated and zero-filled
    EXPECT_EQ(zeroed.voxels()(2, 1, 0), 0);
    auto next = HostImage::uninitialized(grid);  // not asked again
    EXPECT_NE(next.voxels().data(), memory.data());
  }
  EXPECT_EQ(asked, 2);
  {
    const OutputBuffer::Scope outer(
        [&](PixelType, const std::array<std::size_t, 3>&) -> void* { return memory.data(); });
    {
      const OutputBuffer::Scope inner([&](PixelType, const std::array<std::size_t, 3>&) -> void* {
        ADD_FAILURE() << "the inner scope ended unasked";
        return nullptr;
      });
    }
    EXPECT_EQ(HostImage::uninitialized(grid).voxels().data(), memory.data());
  }
  EXPECT_EQ(OutputBuffer::claim(PixelType::float32, 4, 3, 2), nullptr);
}

// core/voxel_pool.hpp: a freed buffer of the same type and shape is handed
// back (same voxels) only inside a scope and only when nothing else holds
// it; budget 0 releases freed buffers at the next allocation that cannot
// use them.
TEST(VoxelPool, ReusesFreedBuffersOfTheSameShapeInsideAScope) {
  using namespace medimg;
  using HostImage = Image<float, HostMemory>;
  const Geometry grid(Size3{128, 64, 64}, Vec3{0, 0, 0}, Vec3{1, 1, 1});  // 2 MiB of float
  const Geometry other(Size3{64, 64, 128}, Vec3{0, 0, 0}, Vec3{1, 1, 1});
  { auto unpooled = HostImage::uninitialized(grid); }
  EXPECT_FALSE(VoxelPool::enabled());
  EXPECT_EQ(VoxelPool::stats().held_bytes, 0u);  // no scope: nothing kept
  {
    const VoxelPool::Scope scope(VoxelPool::adaptive);
    const void* pooled = nullptr;
    {
      auto a = HostImage::uninitialized(grid);
      pooled = a.voxels().data();
      auto held = HostImage::uninitialized(grid);  // `a` is in use: a new buffer
      EXPECT_NE(held.voxels().data(), pooled);
    }
    auto b = HostImage::uninitialized(grid);  // both are free now: the older one
    EXPECT_EQ(b.voxels().data(), pooled);
    auto c = HostImage::uninitialized(other);                       // another shape: new
    auto d = Image<std::int32_t, HostMemory>::uninitialized(grid);  // another type: new
    EXPECT_NE(static_cast<const void*>(d.voxels().data()), pooled);
    const VoxelPool::Stats s = VoxelPool::stats();
    EXPECT_EQ(s.hits, 1);
    EXPECT_EQ(s.misses, 4);
    EXPECT_GE(s.held_bytes, 4u * grid.voxel_count() * sizeof(float));
  }
  EXPECT_FALSE(VoxelPool::enabled());
  EXPECT_EQ(VoxelPool::stats().held_bytes, 0u);
  {
    const VoxelPool::Scope scope(0);
    const void* freed = nullptr;
    {
      auto a = HostImage::uninitialized(grid);
      freed = a.voxels().data();
    }
    auto same = HostImage::uninitialized(grid);  // reused
    EXPECT_EQ(same.voxels().data(), freed);
    { auto gone = HostImage::uninitialized(other); }
    auto b = HostImage::uninitialized(grid);  // `gone` was released by this miss
    EXPECT_EQ(VoxelPool::stats().hits, 1);
    EXPECT_EQ(VoxelPool::stats().held_bytes, 2u * grid.voxel_count() * sizeof(float));
  }
}
