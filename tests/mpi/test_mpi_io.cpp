// medimg under mpiexec (registered at 1, 2, 3 and 4 ranks): the ScopeGuard
// brings up MPI and Kokkos on every rank, every rank reads the same real
// image, and statistics of k-slabs (the decomposition medimg distributes
// along) reduce with MPI_Allreduce to the whole image's.
#include <gtest/gtest.h>
#include <mpi.h>

#include "mpi_support.hpp"

#include <filesystem>

#include "medimg/io/image_io.hpp"
#include "medimg/ops/phantom.hpp"
#include "medimg/ops/statistics.hpp"

namespace medimg::test {
namespace {

TEST(MpiScope, MpiAndKokkosAreUpOnEveryRank) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  EXPECT_TRUE(initialized);
  EXPECT_TRUE(Kokkos::is_initialized());
  int ranks = 0;
  MPI_Allreduce(&initialized, &ranks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(ranks, world_size());
}

TEST(MpiIo, EveryRankReadsTheSameImage) {
  const auto image = load_image_as<std::uint8_t>("/usr/share/mricron/templates/ch2better.nii.gz");
  const Statistics s = statistics(to_device(image));
  double local[2] = {s.mean, -s.mean};
  double global[2];
  MPI_Allreduce(local, global, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_EQ(global[0], s.mean);
  EXPECT_EQ(-global[1], s.mean);
  EXPECT_EQ(s.max, 130.0);
}

TEST(MpiIo, SlabStatisticsReduceToTheWholeImage) {
  // Each rank takes a balanced contiguous k-range; empty ranks contribute
  // nothing but still take part in the collective.
  const Geometry g(Size3{37, 29, 23}, Vec3{-10, 5, 2}, Vec3{0.8, 0.9, 2.5});
  const auto phantom = shepp_logan_phantom(g);
  const Statistics whole = statistics(phantom);
  const std::int64_t nz = g.size()[2];
  const std::int64_t k0 = nz * world_rank() / world_size();
  const std::int64_t k1 = nz * (world_rank() + 1) / world_size();
  double sum = 0.0;
  std::int64_t count = 0;
  double lo = Kokkos::reduction_identity<double>::min();
  if (k1 > k0) {
    auto slab_view =
        Kokkos::subview(phantom.voxels(), Kokkos::ALL, Kokkos::ALL, Kokkos::make_pair(k0, k1));
    const Geometry slab_geometry(Size3{g.size()[0], g.size()[1], k1 - k0},
                                 g.index_to_physical(Vec3{0, 0, double(k0)}), g.spacing(),
                                 g.direction());
    const Image<float> slab(slab_geometry, slab_view);
    const Statistics s = statistics(slab);
    sum = s.mean * double(s.count);
    count = s.count;
    lo = s.min;
  }
  double global_sum = 0.0;
  std::int64_t global_count = 0;
  double global_min = 0.0;
  MPI_Allreduce(&sum, &global_sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(&count, &global_count, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(&lo, &global_min, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  EXPECT_EQ(global_count, g.voxel_count());
  EXPECT_EQ(global_min, whole.min);
  EXPECT_NEAR(global_sum / double(global_count), whole.mean, 1e-12);
}

TEST(MpiIo, RankZeroWritesEveryRankReads) {
  const std::string path = (std::filesystem::current_path() /
                            ("mpi_phantom_np" + std::to_string(world_size()) + ".nrrd"))
                               .string();
  const Geometry g(Size3{20, 16, 9}, Vec3{1, 2, 3}, Vec3{1.1, 0.7, 3.0});
  if (world_rank() == 0) save_image(shepp_logan_phantom(g), path);
  MPI_Barrier(MPI_COMM_WORLD);
  const auto image = load_image_as<float>(path);
  EXPECT_TRUE(image.geometry().same_grid(g, 1e-12));
  const Statistics s = statistics(image);
  double means[2] = {s.mean, -s.mean};
  MPI_Allreduce(MPI_IN_PLACE, means, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_EQ(means[0], -means[1]);
  EXPECT_EQ(s.max, 1.0);
}

}  // namespace
}  // namespace medimg::test
