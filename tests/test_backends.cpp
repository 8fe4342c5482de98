// Every backend of this binary against the OpenMP backend of the same binary:
// the GPU check that needs no ITK and no data files (issue 7). On a CUDA or
// HIP build the device backends run each operation on device memory and
// their results are compared with OpenMP's. Tolerances are the resampling
// comparisons' (linear and B-spline within 1e-4 of the input range, nearest
// and index copies exact); reductions and scatter-adds, whose summation
// order differs between backends, get tolerances relative to their values.
// On a CPU build the Serial backend is the one compared.
//
// Host<->device copies are counted (TransferCounter): uploading an image is
// one copy of its voxels, a chain of operations on the device copies no
// voxels, downloading is one copy.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "backends.hpp"
#include "medimg/core/error.hpp"
#include "medimg/core/transfer_counter.hpp"
#include "medimg/ops/change_orientation.hpp"
#include "medimg/ops/crop_or_pad.hpp"
#include "medimg/ops/flip.hpp"
#include "medimg/ops/intensity.hpp"
#include "medimg/ops/phantom.hpp"
#include "medimg/ops/resample_to_spacing.hpp"
#include "medimg/ops/statistics.hpp"
#include "medimg/resample/backward.hpp"
#include "medimg/resample/resample.hpp"
#include "test_support.hpp"

#if !defined(KOKKOS_ENABLE_OPENMP)
#error "test_backends compares with the OpenMP backend; build Kokkos with OpenMP"
#endif

namespace medimg::test {
namespace {

using Reference = Kokkos::OpenMP;

template <class Exec>
class BackendVsOpenMP : public ::testing::Test {};
TYPED_TEST_SUITE(BackendVsOpenMP, BackendsBesideOpenMP);

// An oblique, anisotropic Shepp-Logan head in int16 Hounsfield-like units.
Image<std::int16_t, HostMemory> phantom_int16() {
  const Geometry g(Size3{48, 41, 29}, Vec3{-20.5, 14.0, -33.25}, Vec3{0.9, 1.1, 2.3},
                   oblique_direction());
  const auto unit = to_host(shepp_logan_phantom(Reference(), g));
  auto image = Image<std::int16_t, HostMemory>::uninitialized(g);
  for (std::int64_t v = 0; v < g.voxel_count(); ++v) {
    image.voxels().data()[v] =
        static_cast<std::int16_t>(std::lround(unit.voxels().data()[v] * 1000.0) - 1000);
  }
  return image;
}

template <class T>
double value_range(const Image<T, HostMemory>& image) {
  const T* v = image.voxels().data();
  const auto [lo, hi] = std::minmax_element(v, v + image.geometry().voxel_count());
  return static_cast<double>(*hi) - static_cast<double>(*lo);
}

// Largest |a - b| over all voxels; the geometries must agree exactly.
template <class T>
double max_difference(const Image<T, HostMemory>& a, const Image<T, HostMemory>& b,
                      const std::string& what) {
  expect_same_geometry(a.geometry(), b.geometry(), 0.0);
  double worst = 0.0;
  const std::int64_t n = std::min(a.geometry().voxel_count(), b.geometry().voxel_count());
  for (std::int64_t v = 0; v < n; ++v) {
    const double d = std::fabs(static_cast<double>(a.voxels().data()[v]) -
                               static_cast<double>(b.voxels().data()[v]));
    if (!(d <= worst)) worst = d;  // NaN propagates
  }
  std::printf("  %-58s max |difference| %.3g\n", what.c_str(), worst);
  return worst;
}

std::vector<std::pair<std::string, AffineTransform>> transforms(const Geometry& g) {
  const Vec3 c = g.center();
  return {{"rotation 17 deg about a tilted axis",
           AffineTransform::rotation(Vec3{0.3, -0.5, 0.8}, 17.0, c)},
          {"general matrix", AffineTransform(Mat3{Vec3{1.05, 0.08, -0.03}, Vec3{-0.06, 0.93, 0.11},
                                                  Vec3{0.02, -0.07, 1.1}},
                                             Vec3{1.7, -2.3, 0.9}, c)}};
}

double resample_tolerance(Interp interp, double range) {
  return interp == Interp::nearest ? 0.0 : 1e-4 * range;
}

TYPED_TEST(BackendVsOpenMP, ResampleEveryInterpolatorOnObliqueGrids) {
  const auto smooth = smooth_volume(synthetic_grid());
  const double range = value_range(smooth);
  for (const Geometry& output : {smooth.geometry(), other_grid(smooth.geometry())}) {
    for (const auto& [what, transform] : transforms(smooth.geometry())) {
      for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
        const auto ours = to_host(
            resample(TypeParam(), output, on_backend<TypeParam>(smooth), transform, interp, -7.0));
        const auto theirs = to_host(
            resample(Reference(), output, on_backend<Reference>(smooth), transform, interp, -7.0));
        const std::string label = what + ", " + std::string(to_string(interp));
        EXPECT_LE(max_difference(ours, theirs, label), resample_tolerance(interp, range)) << label;
      }
    }
  }
}

TYPED_TEST(BackendVsOpenMP, ResampleInt16AndResampleToSpacing) {
  const auto head = phantom_int16();
  const double range = value_range(head);
  for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
    const auto transform = transforms(head.geometry())[0].second;
    const Geometry output = other_grid(head.geometry());
    const auto ours =
        to_host(resample(TypeParam(), output, on_backend<TypeParam>(head), transform, interp, 0.0));
    const auto theirs =
        to_host(resample(Reference(), output, on_backend<Reference>(head), transform, interp, 0.0));
    // int16 output rounds: a value within the tolerance of a .5 may round
    // either way, so integers may differ by one more.
    const double rounding = interp == Interp::nearest ? 0.0 : 1.0;
    EXPECT_LE(max_difference(ours, theirs, "int16 " + std::string(to_string(interp))),
              resample_tolerance(interp, range) + rounding);

    const Vec3 spacing{1.3, 0.7, 1.9};
    const auto ours_s =
        to_host(resample_to_spacing(TypeParam(), on_backend<TypeParam>(head), spacing, interp));
    const auto theirs_s =
        to_host(resample_to_spacing(Reference(), on_backend<Reference>(head), spacing, interp));
    EXPECT_LE(
        max_difference(ours_s, theirs_s, "resample_to_spacing " + std::string(to_string(interp))),
        resample_tolerance(interp, range) + rounding);
  }
}

TYPED_TEST(BackendVsOpenMP, IndexCopiesAreExact) {
  const auto head = phantom_int16();
  for (const char* code : {"RAS", "LPS", "SPL"}) {
    EXPECT_EQ(
        max_difference(to_host(change_orientation(TypeParam(), on_backend<TypeParam>(head), code)),
                       to_host(change_orientation(Reference(), on_backend<Reference>(head), code)),
                       std::string("change_orientation ") + code),
        0.0);
  }
  for (Axis axis : {Axis::i, Axis::j, Axis::k}) {
    EXPECT_EQ(max_difference(to_host(flip(TypeParam(), on_backend<TypeParam>(head), axis)),
                             to_host(flip(Reference(), on_backend<Reference>(head), axis)), "flip"),
              0.0);
  }
  const Size3 size{60, 33, 31};  // padded along i and k, cropped along j
  EXPECT_EQ(
      max_difference(to_host(crop_or_pad(TypeParam(), on_backend<TypeParam>(head), size, -1024.0)),
                     to_host(crop_or_pad(Reference(), on_backend<Reference>(head), size, -1024.0)),
                     "crop_or_pad"),
      0.0);
}

TYPED_TEST(BackendVsOpenMP, IntensityOpsAndStatistics) {
  const auto head = phantom_int16();
  const auto ours_stats = statistics(TypeParam(), on_backend<TypeParam>(head));
  const auto theirs_stats = statistics(Reference(), on_backend<Reference>(head));
  EXPECT_EQ(ours_stats.min, theirs_stats.min);
  EXPECT_EQ(ours_stats.max, theirs_stats.max);
  EXPECT_EQ(ours_stats.count, theirs_stats.count);
  EXPECT_NEAR(ours_stats.mean, theirs_stats.mean, 1e-12 * std::fabs(theirs_stats.mean));

  // z-scores are O(1): sums of 57k voxels in double, then a float result.
  EXPECT_LE(max_difference(to_host(z_score(TypeParam(), on_backend<TypeParam>(head))),
                           to_host(z_score(Reference(), on_backend<Reference>(head))), "z_score"),
            1e-5);
  EXPECT_LE(max_difference(to_host(z_score(TypeParam(), on_backend<TypeParam>(head),
                                           Selection<typename TypeParam::memory_space>::nonzero())),
                           to_host(z_score(Reference(), on_backend<Reference>(head),
                                           Selection<HostMemory>::nonzero())),
                           "z_score of non-zero voxels"),
            1e-5);
  EXPECT_EQ(max_difference(to_host(window(TypeParam(), on_backend<TypeParam>(head), 40.0, 400.0)),
                           to_host(window(Reference(), on_backend<Reference>(head), 40.0, 400.0)),
                           "window"),
            0.0);
  EXPECT_LE(max_difference(
                to_host(window(TypeParam(), on_backend<TypeParam>(head), 40.0, 400.0, 0.0, 1.0)),
                to_host(window(Reference(), on_backend<Reference>(head), 40.0, 400.0, 0.0, 1.0)),
                "window onto [0, 1]"),
            1e-6);
  EXPECT_EQ(
      max_difference(to_host(percentile_clip(TypeParam(), on_backend<TypeParam>(head), 2.0, 98.0)),
                     to_host(percentile_clip(Reference(), on_backend<Reference>(head), 2.0, 98.0)),
                     "percentile_clip 2-98"),
      0.0);
}

TYPED_TEST(BackendVsOpenMP, ResampleBackwardBothAccumulations) {
  const auto smooth = smooth_volume(synthetic_grid());
  const Geometry output = other_grid(smooth.geometry());
  const auto dLdy = smooth_volume(output);  // any smooth upstream gradient
  const auto transform = transforms(smooth.geometry())[1].second;
  for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
    for (Accumulation mode : {Accumulation::scatter, Accumulation::deterministic}) {
      const auto ours =
          to_host(resample_backward_image(TypeParam(), output, smooth.geometry(), interp, transform,
                                          on_backend<TypeParam>(dLdy), mode));
      const auto theirs =
          to_host(resample_backward_image(Reference(), output, smooth.geometry(), interp, transform,
                                          on_backend<Reference>(dLdy), mode));
      // Sums of up to ~64 float contributions in another order.
      const double scale = value_range(theirs);
      const std::string label = std::string("backward ") + std::string(to_string(interp)) +
                                (mode == Accumulation::scatter ? ", scatter" : ", deterministic");
      EXPECT_LE(max_difference(ours, theirs, label), 1e-5 * scale) << label;
      if (mode == Accumulation::deterministic) {
        const auto again =
            to_host(resample_backward_image(TypeParam(), output, smooth.geometry(), interp,
                                            transform, on_backend<TypeParam>(dLdy), mode));
        EXPECT_EQ(max_difference(ours, again, label + ", run twice"), 0.0) << label;
      }
    }
  }
}

TYPED_TEST(BackendVsOpenMP, HostDeviceCopiesAreExplicitAndCounted) {
  using Space = typename TypeParam::memory_space;
  const bool device = !Kokkos::SpaceAccessibility<Kokkos::HostSpace, Space>::accessible;
  const auto head = phantom_int16();
  const auto voxel_bytes =
      static_cast<std::uint64_t>(head.geometry().voxel_count()) * sizeof(std::int16_t);

  TransferCounter counter;
  const auto on_device = on_backend<TypeParam>(head);
  TransferCount c = counter.count();
  EXPECT_EQ(c.host_to_device_copies, device ? 1u : 0u);
  EXPECT_EQ(c.host_to_device_bytes, device ? voxel_bytes : 0u);
  EXPECT_EQ(c.device_to_host_copies, 0u);

  // A pipeline on the device: no voxels cross; at most a few reduction
  // results come back.
  counter.reset();
  const auto reoriented = change_orientation(TypeParam(), on_device, "RAS");
  const auto resampled =
      resample_to_spacing(TypeParam(), reoriented, Vec3{1.0, 1.0, 1.5}, Interp::linear);
  const auto windowed = window(TypeParam(), resampled, 40.0, 400.0);
  const auto normalised = z_score(TypeParam(), windowed);
  TypeParam().fence();
  c = counter.count();
  EXPECT_EQ(c.host_to_device_bytes, 0u);
  EXPECT_LE(c.device_to_host_bytes, 4096u) << c.device_to_host_copies << " copies";

  counter.reset();
  const auto result = to_host(normalised);
  c = counter.count();
  EXPECT_EQ(c.device_to_host_copies, device ? 1u : 0u);
  EXPECT_EQ(
      c.device_to_host_bytes,
      device ? static_cast<std::uint64_t>(result.geometry().voxel_count()) * sizeof(float) : 0u);
}

TEST(TransferCounter, OneAtATimeAndHostSpaceNames) {
  TransferCounter counter;
  EXPECT_THROW(TransferCounter(), Error);
  EXPECT_TRUE(is_host_memory_space_name("Host"));
  EXPECT_TRUE(is_host_memory_space_name("CudaHostPinned"));
  EXPECT_FALSE(is_host_memory_space_name("Cuda"));
  EXPECT_FALSE(is_host_memory_space_name("CudaUVM"));
  EXPECT_FALSE(is_host_memory_space_name("HIP"));
}

}  // namespace
}  // namespace medimg::test
