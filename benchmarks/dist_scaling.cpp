// dist_scaling: strong scaling of the distributed ops from 1 to 2 MPI ranks,
// one thread each, in one run. Run it as
//   OMP_NUM_THREADS=1 mpiexec -n 2 medimg_dist_scaling [NX NY NZ]
// (default 512 512 256, float). For each op it times, best of 3:
//   single   the single-process op (an Image, no MPI) on rank 0
//   1 rank   the distributed op on MPI_COMM_SELF (rank 0 only)
//   2 ranks  the distributed op on MPI_COMM_WORLD
// and prints the speed-up single / 2 ranks, the bytes each rank sent, and
// the fraction of the 2-rank time spent in exchanges (comm_stats()). The
// input is a smooth synthetic volume distributed from rank 0 beforehand
// (not timed). docs/SCALING.md turns these numbers into a model.
#include <mpi.h>
#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "best_time.hpp"
#include "medimg/core/scope_guard.hpp"
#include "medimg/dist/ops.hpp"
#include "medimg/ops/resample_to_spacing.hpp"
#include "medimg/ops/rotate.hpp"

using namespace medimg;

namespace {

Image<float, HostMemory> volume(const Geometry& g) {
  Image<float, HostMemory> image(g);
  const Size3& n = g.size();
  Kokkos::parallel_for(
      "volume",
      Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Kokkos::IndexType<std::int64_t>>(0,
                                                                                              n[2]),
      [&](std::int64_t k) {
        for (std::int64_t j = 0; j < n[1]; ++j) {
          for (std::int64_t i = 0; i < n[0]; ++i) {
            image.voxels()(i, j, k) =
                float(100.0 + 50.0 * std::sin(0.05 * double(i)) * std::cos(0.07 * double(j)) +
                      30.0 * std::sin(0.11 * double(k)));
          }
        }
      });
  return image;
}

struct Op {
  std::string name;
  std::function<Image<float>(const Image<float>&)> single;
  std::function<DistributedImage<float>(const DistributedImage<float>&)> distributed;
  bool deep_ghosts = false;  // run on the input with deep ghost planes
};

}  // namespace

int main(int argc, char** argv) {
  ScopeGuard guard(argc, argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  Size3 n{512, 512, 256};
  if (argc == 4) n = Size3{std::atoll(argv[1]), std::atoll(argv[2]), std::atoll(argv[3])};
  const Geometry g(n, Vec3{0, 0, 0}, Vec3{0.8, 0.8, 1.5});
  const Image<float, HostMemory> host = rank == 0 ? volume(g) : Image<float, HostMemory>();
  const auto world = distribute<float>(MPI_COMM_WORLD, host, 0, default_ghosts(n[2], ranks));
  // Ghost planes as deep as rotate i's preimage reaches into the neighbour
  // (about sin 15 deg x the j extent in planes): its window becomes a halo.
  const int deep = static_cast<int>(std::ceil(0.26 * double(n[1]) * 0.8 / 1.5)) + 4;
  const auto world_deep = distribute<float>(MPI_COMM_WORLD, host, 0, deep);
  const Vec3 spacing{1.0, 1.0, 1.0};
  const std::vector<Op> ops = {
      {"rotate k 15 deg, linear",
       [](const Image<float>& x) { return rotate(x, Axis::k, 15.0, Interp::linear); },
       [](const DistributedImage<float>& x) { return rotate(x, Axis::k, 15.0, Interp::linear); }},
      {"rotate i 15 deg, linear",
       [](const Image<float>& x) { return rotate(x, Axis::i, 15.0, Interp::linear); },
       [](const DistributedImage<float>& x) { return rotate(x, Axis::i, 15.0, Interp::linear); }},
      {"  same, " + std::to_string(deep) + " ghost planes",
       [](const Image<float>& x) { return rotate(x, Axis::i, 15.0, Interp::linear); },
       [](const DistributedImage<float>& x) { return rotate(x, Axis::i, 15.0, Interp::linear); },
       true},
      {"rotate k 15 deg, bspline",
       [](const Image<float>& x) { return rotate(x, Axis::k, 15.0, Interp::bspline); },
       [](const DistributedImage<float>& x) { return rotate(x, Axis::k, 15.0, Interp::bspline); }},
      {"resample_to_spacing 1 mm, linear",
       [&](const Image<float>& x) { return resample_to_spacing(x, spacing, Interp::linear); },
       [&](const DistributedImage<float>& x) {
         return resample_to_spacing(x, spacing, Interp::linear);
       }},
  };
  if (rank == 0) {
    std::printf("dist_scaling: %s float (%.0f MiB), %d ranks x %d thread(s), %s\n",
                to_string(n).c_str(), double(g.voxel_count()) * 4.0 / (1 << 20), ranks,
                Kokkos::DefaultExecutionSpace().concurrency(), describe_backend().c_str());
    std::printf("%-34s %10s %10s %10s %9s %12s %10s\n", "op", "single ms", "1 rank ms",
                "2 ranks ms", "speed-up", "MiB sent/rk", "comm frac");
  }
  for (const Op& op : ops) {
    double single = 0.0, one = 0.0;
    if (rank == 0) {
      const Image<float> device = to_device(host);
      single = bench::best_ms([&] { op.single(device); });
      const auto self = distribute<float>(MPI_COMM_SELF, host, 0, op.deep_ghosts ? deep : 0);
      one = bench::best_ms([&] { op.distributed(self); });
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double best = 1e300, sent = 0.0, comm = 0.0;
    for (int r = 0; r < 3; ++r) {
      comm_stats() = CommStats{};
      MPI_Barrier(MPI_COMM_WORLD);
      const double start = MPI_Wtime();
      op.distributed(op.deep_ghosts ? world_deep : world);
      Kokkos::fence();
      MPI_Barrier(MPI_COMM_WORLD);
      const double ms = 1e3 * (MPI_Wtime() - start);
      if (ms < best) {
        best = ms;
        sent = comm_stats().bytes_sent;
        comm = 1e3 * comm_stats().seconds;
      }
    }
    double most[2] = {sent, comm};
    MPI_Allreduce(MPI_IN_PLACE, most, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0) {
      std::printf("%-34s %10.1f %10.1f %10.1f %8.2fx %12.1f %10.2f\n", op.name.c_str(), single, one,
                  best, single / best, most[0] / (1 << 20), most[1] / best);
    }
  }
  // Peak resident memory of the ranks that only ran distributed ops (rank 0
  // also held the single-process images).
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  double peak = rank == 0 ? 0.0 : double(usage.ru_maxrss) / 1024.0;  // MiB
  MPI_Allreduce(MPI_IN_PLACE, &peak, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && ranks > 1) {
    std::printf("peak resident memory of rank 1..%d: %.0f MiB (its slab: %.0f MiB)\n", ranks - 1,
                peak, double(g.voxel_count()) * 4.0 / ranks / (1 << 20));
  }
  return 0;
}
