// Slab decomposition and halo exchange under mpiexec (1, 2, 3 and 4 ranks):
// the decomposition is balanced and covers the volume (also with more ranks
// than planes), distribute + gather is the identity, halo_gather fills
// every ghost with the global image's plane, and halo_gather and
// halo_scatter_add are adjoint (dot-product test), for several ghost widths
// and uneven splits.
#include <gtest/gtest.h>
#include <mpi.h>

#include "mpi_support.hpp"

#include <cmath>
#include <cstring>
#include <random>

#include "medimg/dist/distributed_image.hpp"
#include "medimg/dist/exchange.hpp"

namespace medimg::test {
namespace {

Geometry grid(std::int64_t nz) {
  return Geometry(Size3{7, 5, nz}, Vec3{-3.0, 2.5, 1.0}, Vec3{0.9, 1.3, 2.1});
}

Image<double, HostMemory> numbered(const Geometry& g) {
  Image<double, HostMemory> image(g);
  for (std::int64_t v = 0; v < g.voxel_count(); ++v) image.voxels().data()[v] = 0.5 + double(v);
  return image;
}

TEST(SlabDecomposition, BalancedContiguousAndCovering) {
  for (std::int64_t slices : {1, 2, 3, 5, 7, 16, 101}) {
    for (int ranks : {1, 2, 3, 4, 7, 64}) {
      const SlabDecomposition d(slices, ranks);
      EXPECT_EQ(d.begin(0), 0);
      EXPECT_EQ(d.end(ranks - 1), slices);
      std::int64_t smallest = slices, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        EXPECT_EQ(d.end(r), r + 1 < ranks ? d.begin(r + 1) : slices);
        smallest = std::min(smallest, d.count(r));
        largest = std::max(largest, d.count(r));
        for (std::int64_t k = d.begin(r); k < d.end(r); ++k) EXPECT_EQ(d.owner(k), r);
      }
      EXPECT_LE(largest - smallest, 1) << slices << " over " << ranks;
    }
  }
  EXPECT_THROW(SlabDecomposition(0, 2), Error);
  EXPECT_THROW(SlabDecomposition(4, 0), Error);
}

TEST(DistributedImage, DistributeThenGatherIsTheIdentity) {
  // Including fewer planes than ranks (empty ranks) and uneven splits.
  for (std::int64_t nz : {1, 2, 3, 5, 11}) {
    const auto global = numbered(grid(nz));
    const auto d = distribute<double, HostMemory>(MPI_COMM_WORLD, global, 0, 2);
    const auto back = gather(d, 0);
    if (world_rank() == 0) {
      ASSERT_TRUE(back.geometry().same_grid(global.geometry(), 0.0));
      EXPECT_EQ(0, std::memcmp(back.voxels().data(), global.voxels().data(),
                               sizeof(double) * global.geometry().voxel_count()))
          << "nz = " << nz;
    }
  }
}

TEST(Halo, GatherFillsEveryGhostWithTheGlobalPlane) {
  for (int ghosts : {0, 1, 2, 4}) {
    for (std::int64_t nz : {3, 6, 13}) {
      const auto global = numbered(grid(nz));
      const auto d = distribute<double, HostMemory>(MPI_COMM_WORLD, global, 0, ghosts);
      // Every rank built `global` itself, so it can check its held planes.
      const std::int64_t n = d.plane_size();
      for (std::int64_t k = d.held_begin(); k < d.held_end(); ++k) {
        for (std::int64_t v = 0; v < n; ++v) {
          ASSERT_EQ(d.local().data()[(k - d.held_begin()) * n + v],
                    global.voxels().data()[k * n + v])
              << "plane " << k << " ghosts " << ghosts << " nz " << nz;
        }
      }
      if (!d.empty()) {
        EXPECT_EQ(d.held_begin(), std::max<std::int64_t>(0, d.k_begin() - ghosts));
        EXPECT_EQ(d.held_end(), std::min<std::int64_t>(nz, d.k_end() + ghosts));
      }
    }
  }
}

// <G x, y> (over every held voxel) = <x, G^T y> (over owned voxels).
TEST(Halo, ScatterAddIsTheAdjointOfGather) {
  std::mt19937 rng(11 + static_cast<unsigned>(world_rank()));
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int ghosts : {1, 2, 3}) {
    for (std::int64_t nz : {2, 5, 9}) {
      DistributedImage<double, HostMemory> x(MPI_COMM_WORLD, grid(nz), ghosts);
      DistributedImage<double, HostMemory> y(MPI_COMM_WORLD, grid(nz), ghosts);
      const std::int64_t n = x.plane_size();
      const std::int64_t held = (x.held_end() - x.held_begin()) * n;
      for (std::int64_t v = 0; v < held; ++v) {
        const std::int64_t k = x.held_begin() + v / n;
        const bool owned = k >= x.k_begin() && k < x.k_end();
        x.local().data()[v] = owned ? u(rng) : 0.0;  // x lives on owned planes
        y.local().data()[v] = u(rng);                // y everywhere held
      }
      std::vector<double> x_values(x.local().data(), x.local().data() + held);
      halo_gather(x);
      double lhs = 0.0;
      for (std::int64_t v = 0; v < held; ++v) lhs += x.local().data()[v] * y.local().data()[v];
      halo_scatter_add(y);
      double rhs = 0.0;
      for (std::int64_t v = 0; v < held; ++v)
        rhs += x_values[static_cast<std::size_t>(v)] * y.local().data()[v];
      double sums[2] = {lhs, rhs}, total[2] = {0, 0};
      MPI_Allreduce(sums, total, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      EXPECT_NEAR(total[0], total[1], 1e-12 * (std::fabs(total[0]) + 1.0))
          << "ghosts " << ghosts << " nz " << nz << " ranks " << world_size();
    }
  }
}

// On host memory MPI always exchanges the Views' own memory (no staging),
// whatever MEDIMG_GPU_AWARE_MPI says.
TEST(MpiBuffer, HostMemoryIsExchangedInPlace) {
  Kokkos::View<float***, Kokkos::LayoutLeft, HostMemory> view("v", 3, 2, 2);
  const impl::MpiBuffer<float, HostMemory> buffer(view, true);
  EXPECT_TRUE(buffer.direct());
  EXPECT_EQ(buffer.data(), view.data());
}

}  // namespace
}  // namespace medimg::test
