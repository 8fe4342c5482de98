// Every geometric op on a DistributedImage, under mpiexec at 1, 2, 3 and 4
// ranks: the gathered result equals the single-process op's bit for bit
// (memcmp), for every interpolator and three pixel types, on oblique
// anisotropic grids whose plane counts split unevenly or leave ranks empty.
// Also: the B-spline coefficients (transpose along k) bit for bit, and a
// 90-degree rotation about i (a preimage spanning every slab) receives only
// its box, never the whole volume.
#include <gtest/gtest.h>
#include <mpi.h>

#include "mpi_support.hpp"

#include <cstring>
#include <functional>

#include "../test_support.hpp"
#include "medimg/dist/ops.hpp"
#include "medimg/ops/affine.hpp"
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

namespace medimg::test {
namespace {

using Exec = Kokkos::DefaultExecutionSpace;

// The grids: oblique and anisotropic; 11 planes (uneven over 2-4 ranks),
// 2 planes (empty ranks at 3 and 4), 1 plane.
std::vector<Geometry> grids() {
  return {oblique_geometry(Size3{23, 17, 11}), oblique_geometry(Size3{9, 7, 2}),
          oblique_geometry(Size3{8, 6, 1})};
}

template <class T>
Image<T, HostMemory> test_image(const Geometry& g) {
  const auto smooth = smooth_volume(g);
  Image<T, HostMemory> image(g);
  for (std::int64_t v = 0; v < g.voxel_count(); ++v) {
    image.voxels().data()[v] = pixel_cast<T>(smooth.voxels().data()[v] - 300.0f);
  }
  image.metadata().modality = Modality::CT;
  image.metadata().patient_id = "mpi-test";
  return image;
}

template <class T>
using SerialOp = std::function<Image<T>(const Image<T>&)>;
template <class T>
using DistOp = std::function<DistributedImage<T>(const DistributedImage<T>&)>;

// Runs both on every rank's copy of `image`; rank 0 compares.
template <class T>
void expect_bit_identical(const Image<T, HostMemory>& image, const SerialOp<T>& serial,
                          const DistOp<T>& distributed, const std::string& what) {
  // Without ghosts (windows assembled in buffers) and with 3 ghost planes
  // (windows reaching the neighbours are halo exchanges into them).
  for (int ghosts : {0, 3}) {
    const auto d = distribute<T>(MPI_COMM_WORLD, image, 0, ghosts);
    const auto gathered = gather(distributed(d), 0);
    if (world_rank() != 0) continue;
    const auto expected = to_host(serial(to_device(image)));
    ASSERT_TRUE(gathered.geometry().same_grid(expected.geometry(), 0.0)) << what;
    EXPECT_EQ(gathered.metadata().patient_id, "mpi-test") << what;
    EXPECT_EQ(0,
              std::memcmp(gathered.voxels().data(), expected.voxels().data(),
                          sizeof(T) * static_cast<std::size_t>(expected.geometry().voxel_count())))
        << what << " differs from the single-process result at " << world_size()
        << " ranks, ghosts " << ghosts;
  }
}

template <class T>
void resampling_ops(Interp interp) {
  const Exec exec;
  for (const Geometry& g : grids()) {
    const auto image = test_image<T>(g);
    const std::string where = std::string(to_string(interp)) + " on " + to_string(g.size());
    const AffineTransform general(
        Mat3{Vec3{0.93, 0.12, -0.05}, Vec3{-0.08, 1.07, 0.11}, Vec3{0.04, -0.09, 0.97}},
        Vec3{1.5, -2.25, 0.75});
    const Geometry other = other_grid(g);
    const Vec3 spacing{0.55, 1.7, 1.9};
    const Size3 size{g.size()[0] + 3, g.size()[1] - 2, g.size()[2] + 2};
    struct Case {
      const char* name;
      SerialOp<T> serial;
      DistOp<T> dist;
    };
    const std::vector<Case> cases = {
        {"rotate k 23 expand",
         [&](const Image<T>& x) { return rotate(exec, x, Axis::k, 23.0, interp, -5.0, true); },
         [&](const DistributedImage<T>& x) {
           return rotate(exec, x, Axis::k, 23.0, interp, -5.0, true);
         }},
        {"rotate i 90", [&](const Image<T>& x) { return rotate(exec, x, Axis::i, 90.0, interp); },
         [&](const DistributedImage<T>& x) { return rotate(exec, x, Axis::i, 90.0, interp); }},
        {"rotate j -31", [&](const Image<T>& x) { return rotate(exec, x, Axis::j, -31.0, interp); },
         [&](const DistributedImage<T>& x) { return rotate(exec, x, Axis::j, -31.0, interp); }},
        {"scale",
         [&](const Image<T>& x) {
           return scale(exec, x, Vec3{0.8, 1.25, 1.1}, interp);
         },
         [&](const DistributedImage<T>& x) {
           return scale(exec, x, Vec3{0.8, 1.25, 1.1}, interp);
         }},
        {"resample_to_spacing",
         [&](const Image<T>& x) { return resample_to_spacing(exec, x, spacing, interp); },
         [&](const DistributedImage<T>& x) {
           return resample_to_spacing(exec, x, spacing, interp);
         }},
        {"resample_to_image",
         [&](const Image<T>& x) { return resample_to_image(exec, other, x, interp, 7.0); },
         [&](const DistributedImage<T>& x) {
           return resample_to_image(exec, other, x, interp, 7.0);
         }},
        {"affine", [&](const Image<T>& x) { return affine(exec, x, general, interp, 0.0, other); },
         [&](const DistributedImage<T>& x) {
           return affine(exec, x, general, interp, 0.0, other);
         }},
        {"translate_resample",
         [&](const Image<T>& x) {
           return translate_resample(exec, x, Vec3{1.3, -2.6, 4.1}, interp);
         },
         [&](const DistributedImage<T>& x) {
           return translate_resample(exec, x, Vec3{1.3, -2.6, 4.1}, interp);
         }},
        {"resize", [&](const Image<T>& x) { return resize(exec, x, size, interp); },
         [&](const DistributedImage<T>& x) { return resize(exec, x, size, interp); }},
    };
    for (const Case& c : cases)
      expect_bit_identical<T>(image, c.serial, c.dist, c.name + (" " + where));
  }
}

TEST(DistributedOps, ResamplingOpsFloat) {
  for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline})
    resampling_ops<float>(interp);
}
TEST(DistributedOps, ResamplingOpsInt16) {
  for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline})
    resampling_ops<std::int16_t>(interp);
}
TEST(DistributedOps, ResamplingOpsDouble) {
  for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline})
    resampling_ops<double>(interp);
}

template <class T>
void index_ops() {
  const Exec exec;
  for (const Geometry& g : grids()) {
    const auto image = test_image<T>(g);
    const std::string where = " on " + to_string(g.size());
    const Size3 start{2, 1, g.size()[2] > 2 ? 1 : 0};
    const Size3 size{g.size()[0] - 4, g.size()[1] - 3, g.size()[2] > 2 ? g.size()[2] - 2 : 1};
    expect_bit_identical<T>(
        image, [&](const Image<T>& x) { return crop(exec, x, start, size); },
        [&](const DistributedImage<T>& x) { return crop(exec, x, start, size); }, "crop" + where);
    expect_bit_identical<T>(
        image,
        [&](const Image<T>& x) {
          return pad(exec, x, Size3{1, 2, 3}, Size3{3, 0, 2}, -7.0);
        },
        [&](const DistributedImage<T>& x) {
          return pad(exec, x, Size3{1, 2, 3}, Size3{3, 0, 2}, -7.0);
        },
        "pad" + where);
    for (Axis axis : {Axis::i, Axis::j, Axis::k}) {
      expect_bit_identical<T>(
          image, [&](const Image<T>& x) { return flip(exec, x, axis); },
          [&](const DistributedImage<T>& x) { return flip(exec, x, axis); }, "flip" + where);
    }
    for (const std::string& code : all_orientation_codes()) {
      expect_bit_identical<T>(
          image, [&](const Image<T>& x) { return change_orientation(exec, x, code); },
          [&](const DistributedImage<T>& x) { return change_orientation(exec, x, code); },
          "change_orientation " + code + where);
    }
    expect_bit_identical<T>(
        image,
        [&](const Image<T>& x) {
          return translate(x, Vec3{1, 2, 3});
        },
        [&](const DistributedImage<T>& x) {
          return translate(x, Vec3{1, 2, 3});
        },
        "translate" + where);
  }
}

TEST(DistributedOps, IndexOps) {
  index_ops<float>();
  index_ops<std::uint8_t>();
}

// Slabs thick enough for default_ghosts: op outputs carry ghost planes and
// the next op's windows are halo exchanges into them.
TEST(DistributedOps, AChainOfOpsWithGhostedOutputs) {
  const Exec exec;
  const Geometry g = oblique_geometry(Size3{12, 10, 32 * world_size() + 5});
  const auto image = test_image<float>(g);
  const auto chain = [&](const auto& x) {
    const auto a = rotate(exec, x, Axis::k, 12.0, Interp::bspline);
    const auto b = resample_to_spacing(exec, a, Vec3{0.8, 1.1, 2.5}, Interp::linear);
    const auto c = translate_resample(exec, b, Vec3{0.3, -0.7, 1.9}, Interp::bspline);
    return flip(exec, c, Axis::k);
  };
  expect_bit_identical<float>(
      image, [&](const Image<float>& x) { return chain(x); },
      [&](const DistributedImage<float>& x) {
        const auto first = rotate(exec, x, Axis::k, 12.0, Interp::bspline);
        EXPECT_EQ(first.ghosts(), default_ghosts(first.geometry().size()[2], world_size()));
        return chain(x);
      },
      "rotate, resample, translate, flip");
}

TEST(DistributedBSpline, CoefficientsEqualTheSingleProcessOnes) {
  const Exec exec;
  for (const Geometry& g : grids()) {
    const auto image = test_image<float>(g);
    const auto d = distribute<float>(MPI_COMM_WORLD, image, 0, 1);
    const auto gathered = gather(bspline_coefficients(exec, d), 0);
    if (world_rank() != 0) continue;
    const auto expected = Kokkos::create_mirror_view_and_copy(
        Kokkos::HostSpace(), bspline_coefficients(exec, to_device(image)));
    EXPECT_EQ(0, std::memcmp(gathered.voxels().data(), expected.data(),
                             sizeof(float) * static_cast<std::size_t>(g.voxel_count())))
        << to_string(g.size());
  }
}

TEST(DistributedExchange, ARotationAboutIReceivesOnlyItsBox) {
  // Rotating 90 degrees about i turns k-slabs into j-slabs: every output
  // slab reads from every input slab, but only its own box of them.
  const Geometry g(Size3{16, 40, 40}, Vec3{0, 0, 0}, Vec3{1, 1, 1});
  const auto image = test_image<float>(g);
  const auto d = distribute<float>(MPI_COMM_WORLD, image, 0, 0);
  comm_stats() = CommStats{};
  const auto rotated = rotate(Exec(), d, Axis::i, 90.0, Interp::linear);
  const double volume = double(g.voxel_count()) * sizeof(float);
  double most = comm_stats().bytes_sent;
  MPI_Allreduce(MPI_IN_PLACE, &most, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  const int p = world_size();
  if (p == 1) {
    EXPECT_EQ(most, 0.0);
  } else {
    // Each rank sends its slab, split among the others: about (P-1)/P^2 of
    // the volume plus the margin planes, far below the whole volume.
    EXPECT_LT(most, volume * ((p - 1.0) / (p * double(p)) + 0.1));
    EXPECT_GT(most, 0.0);
  }
  const auto box =
      impl::preimage_box(impl::index_map(g, g, rotation_about_center(g, Axis::i, 90.0)), g.size(),
                         rotated.k_begin(), rotated.k_end(), g.size(), 1);
  if (!rotated.empty()) {
    EXPECT_LE(box.voxels(), g.voxel_count() / p + 4 * g.size()[0] * g.size()[2]);
  }
}

}  // namespace
}  // namespace medimg::test
