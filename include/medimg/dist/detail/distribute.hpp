// distribute / gather (declared in distributed_image.hpp).
#pragma once

#include <array>

namespace medimg {

namespace impl {
// The 18 numbers of a Geometry (size, origin, spacing, direction) for MPI_Bcast.
std::array<double, 18> pack(const Geometry& g);
Geometry unpack(const std::array<double, 18>& v);
// `metadata` of rank `root`, on every rank.
Metadata broadcast(MPI_Comm comm, const Metadata& metadata, int root);
}  // namespace impl

template <class T, class MemorySpace>
DistributedImage<T, MemorySpace> distribute(MPI_Comm comm, const Image<T, HostMemory>& image,
                                            int root, int ghosts) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  std::array<double, 18> packed{};
  if (rank == root) packed = impl::pack(image.geometry());
  impl::check_mpi(MPI_Bcast(packed.data(), 18, MPI_DOUBLE, root, comm), "distribute geometry");
  DistributedImage<T, MemorySpace> result(comm, impl::unpack(packed), ghosts);
  result.metadata() = impl::broadcast(comm, image.metadata(), root);
  const SlabDecomposition& slabs = result.slabs();
  std::vector<int> counts(static_cast<std::size_t>(ranks)),
      offsets(static_cast<std::size_t>(ranks));
  for (int r = 0; r < ranks; ++r) {
    counts[static_cast<std::size_t>(r)] = static_cast<int>(slabs.count(r));
    offsets[static_cast<std::size_t>(r)] = static_cast<int>(slabs.begin(r));
  }
  auto host = Kokkos::create_mirror_view(Kokkos::HostSpace(), result.local());
  const impl::PlaneType plane(mpi_datatype<T>(), result.plane_size());
  T* mine = host.data() + (result.k_begin() - result.held_begin()) * result.plane_size();
  impl::check_mpi(MPI_Scatterv(rank == root ? image.voxels().data() : nullptr, counts.data(),
                               offsets.data(), plane.get(), mine,
                               counts[static_cast<std::size_t>(rank)], plane.get(), root, comm),
                  "distribute");
  Kokkos::deep_copy(result.local(), host);
  halo_gather(result);
  return result;
}

template <class T, class MemorySpace>
Image<T, HostMemory> gather(const DistributedImage<T, MemorySpace>& image, int root) {
  const int ranks = image.ranks();
  std::vector<int> counts(static_cast<std::size_t>(ranks)),
      offsets(static_cast<std::size_t>(ranks));
  for (int r = 0; r < ranks; ++r) {
    counts[static_cast<std::size_t>(r)] = static_cast<int>(image.slabs().count(r));
    offsets[static_cast<std::size_t>(r)] = static_cast<int>(image.slabs().begin(r));
  }
  Image<T, HostMemory> result;
  if (image.rank() == root) {
    result = Image<T, HostMemory>(image.geometry(), "medimg::gather");
    result.metadata() = image.metadata();
  }
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), image.local());
  const impl::PlaneType plane(mpi_datatype<T>(), image.plane_size());
  const T* mine = host.data() + (image.k_begin() - image.held_begin()) * image.plane_size();
  impl::check_mpi(MPI_Gatherv(mine, static_cast<int>(image.k_end() - image.k_begin()), plane.get(),
                              image.rank() == root ? result.voxels().data() : nullptr,
                              counts.data(), offsets.data(), plane.get(), root, image.comm()),
                  "gather");
  return result;
}

}  // namespace medimg
