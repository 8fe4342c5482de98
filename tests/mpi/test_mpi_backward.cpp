// The distributed adjoint under mpiexec (1, 2, 3 and 4 ranks): the image
// gradient (reverse exchange, give_back_add) and the parameter gradient
// (MPI_Allreduce) equal the single-process backward, bit for bit on one rank
// in deterministic mode and up to the order of additions otherwise; and the
// distributed forward and backward pass the dot-product test.
#include <gtest/gtest.h>
#include <mpi.h>

#include "mpi_support.hpp"

#include <cmath>
#include <cstring>
#include <iostream>
#include <random>

#include "../test_support.hpp"
#include "medimg/dist/backward.hpp"
#include "medimg/ops/geometry_rules.hpp"

namespace medimg::test {
namespace {

using Exec = Kokkos::DefaultExecutionSpace;

template <class T>
Image<T, HostMemory> random_image(const Geometry& g, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Image<T, HostMemory> image(g);
  for (std::int64_t v = 0; v < g.voxel_count(); ++v) image.voxels().data()[v] = T(u(rng));
  return image;
}

struct Problem {
  const char* name;
  Geometry input, output;
  AffineTransform transform;
};

std::vector<Problem> problems() {
  const Geometry g = oblique_geometry(Size3{19, 14, 9});
  const AffineTransform general(
      Mat3{Vec3{0.93, 0.12, -0.05}, Vec3{-0.08, 1.07, 0.11}, Vec3{0.04, -0.09, 0.97}},
      Vec3{1.5, -2.25, 0.75});
  const Geometry small = oblique_geometry(Size3{11, 8, 2});  // empty ranks at 3 and 4
  return {{"general affine onto another grid", g, other_grid(g), general},
          {"identity, 2 planes", small, small, AffineTransform()},
          {"rotate i 90", g, g, rotation_about_center(g, Axis::i, 90.0)}};
}

template <class T>
double max_abs(const Image<T, HostMemory>& image) {
  double m = 0.0;
  for (std::int64_t v = 0; v < image.geometry().voxel_count(); ++v) {
    m = std::max(m, std::fabs(double(image.voxels().data()[v])));
  }
  return m;
}

template <class T>
void equals_single_process(Interp interp, Accumulation mode, double tolerance) {
  const Exec exec;
  for (const Problem& p : problems()) {
    const auto x = random_image<T>(p.input, 3);
    const auto dy = random_image<T>(p.output, 5);
    const auto dx_image = distribute<T>(MPI_COMM_WORLD, x, 0, 0);
    const auto dy_image = distribute<T>(MPI_COMM_WORLD, dy, 0, 0);
    const DistributedSampler<T, DeviceMemory> sampler(exec, dx_image, interp);
    const auto grad = resample_backward(exec, p.output, sampler, p.transform, dy_image,
                                        wrt::image | wrt::params, mode);
    const auto gathered = gather(*grad.image, 0);
    if (world_rank() != 0) continue;
    const Sampler<T, DeviceMemory> serial_sampler(exec, to_device(x), interp);
    const auto serial = resample_backward(exec, p.output, serial_sampler, p.transform,
                                          to_device(dy), wrt::image | wrt::params, mode);
    const auto expected = to_host(*serial.image);
    const std::string what = std::string(p.name) + ", " + std::string(to_string(interp)) + ", " +
                             std::to_string(world_size()) + " ranks";
    if (world_size() == 1 && mode == Accumulation::deterministic) {
      EXPECT_EQ(0, std::memcmp(gathered.voxels().data(), expected.voxels().data(),
                               sizeof(T) * static_cast<std::size_t>(p.input.voxel_count())))
          << what;
    }
    const double scale = max_abs(expected);
    double worst = 0.0;
    for (std::int64_t v = 0; v < p.input.voxel_count(); ++v) {
      worst = std::max(worst, std::fabs(double(gathered.voxels().data()[v]) -
                                        double(expected.voxels().data()[v])));
    }
    EXPECT_LE(worst, tolerance * scale) << "image gradient, " << what;
    double gscale = 0.0, gworst = 0.0;
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) {
        gscale = std::max(gscale, std::fabs(serial.transform->matrix[r][c]));
        gworst = std::max(gworst,
                          std::fabs(grad.transform->matrix[r][c] - serial.transform->matrix[r][c]));
      }
      gscale = std::max(gscale, std::fabs(serial.transform->offset[r]));
      gworst = std::max(gworst, std::fabs(grad.transform->offset[r] - serial.transform->offset[r]));
    }
    EXPECT_LE(gworst, tolerance * gscale) << "parameter gradient, " << what;
    std::cout << "  " << what << (mode == Accumulation::scatter ? ", scatter" : ", deterministic")
              << ": image " << worst / scale << ", params "
              << (gscale > 0 ? gworst / gscale : gworst) << "\n";
  }
}

TEST(DistributedBackward, EqualsSingleProcessDouble) {
  for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
    equals_single_process<double>(interp, Accumulation::deterministic, 1e-13);
    equals_single_process<double>(interp, Accumulation::scatter, 1e-13);
  }
}

TEST(DistributedBackward, EqualsSingleProcessFloat) {
  for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
    equals_single_process<float>(interp, Accumulation::deterministic, 1e-5);
  }
}

// <A x, y> = <x, A^T y>, A the distributed resample, sums over owned voxels.
TEST(DistributedBackward, DotProductTest) {
  const Exec exec;
  for (const Problem& p : problems()) {
    for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
      const auto x = distribute<double>(MPI_COMM_WORLD, random_image<double>(p.input, 7), 0, 0);
      const auto y = distribute<double>(MPI_COMM_WORLD, random_image<double>(p.output, 9), 0, 0);
      const DistributedSampler<double, DeviceMemory> sampler(exec, x, interp);
      const auto ax = resample_as<double>(exec, p.output, sampler, p.transform);
      const auto aty = resample_backward(exec, p.output, sampler, p.transform, y, wrt::image);
      auto dot = [](const auto& a, const auto& b) {
        const auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.owned());
        const auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b.owned());
        double s[2] = {0.0, 0.0};
        const std::int64_t n = (a.k_end() - a.k_begin()) * a.plane_size();
        for (std::int64_t v = 0; v < n; ++v) {
          s[0] += ha.data()[v] * hb.data()[v];
          s[1] += ha.data()[v] * ha.data()[v];
        }
        MPI_Allreduce(MPI_IN_PLACE, s, 2, MPI_DOUBLE, MPI_SUM, a.comm());
        return std::array<double, 2>{s[0], std::sqrt(s[1])};
      };
      const auto lhs = dot(ax, y);
      const auto rhs = dot(x, *aty.image);
      const auto ny = dot(y, y);
      const double ratio = std::fabs(lhs[0] - rhs[0]) / (lhs[1] * ny[1]);
      EXPECT_LE(ratio, 1e-12) << p.name << ", " << to_string(interp);
      if (world_rank() == 0) {
        std::cout << "  dot test " << p.name << ", " << to_string(interp) << ": " << ratio << "\n";
      }
    }
  }
}

}  // namespace
}  // namespace medimg::test
