// Parallel HDF5 for DistributedImages (layout: medimg/io/hdf5_io.hpp). One
// file, collective hyperslab IO: each rank reads or writes exactly its own
// k-slab (whole chunks when slabs align with them), so a distributed load
// never reads the whole volume on one rank. The file is byte-for-byte the
// one a single process writes. Errors (missing file or dataset, unwritable
// folder) are agreed over the communicator: every rank throws the same
// medimg::Error, none hangs, and no partial file is left.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "medimg/core/warning.hpp"
#include "medimg/dist/distributed_image.hpp"
#include "medimg/io/hdf5_io.hpp"

namespace medimg {

namespace impl {

struct Hdf5Header {
  Geometry geometry;
  Metadata metadata;
  PixelType type = PixelType::float32;
  std::string dataset;  // resolved path
  // Attributes left out of `metadata` (not text, unreadable), one line each;
  // the readers that use the metadata pass them to warn().
  std::vector<std::string> warnings;
};

// comm == MPI_COMM_NULL: serial (one process, default driver); otherwise
// collective over comm (MPI-IO driver).
Hdf5Header read_hdf5_header(MPI_Comm comm, const std::string& file, const std::string& dataset);
void read_hdf5_planes(MPI_Comm comm, const std::string& file, const Hdf5Header& header,
                      std::int64_t k0, std::int64_t count, void* planes);
void write_hdf5(MPI_Comm comm, const std::string& file, const std::string& dataset,
                const Geometry& geometry, const Metadata& metadata, PixelType type, std::int64_t k0,
                std::int64_t count, const void* planes, const Hdf5Options& options);

}  // namespace impl

// Collective: each rank writes its owned planes.
template <class T, class MemorySpace>
void save_hdf5(const DistributedImage<T, MemorySpace>& image, const std::string& file,
               const std::string& dataset = "") {
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), image.local());
  const T* owned = host.data() + (image.k_begin() - image.held_begin()) * image.plane_size();
  impl::write_hdf5(image.comm(), file, dataset, image.geometry(), image.metadata(),
                   pixel_type_of<T>(), image.k_begin(), image.k_end() - image.k_begin(), owned,
                   Hdf5Options{});
}

// Collective: each rank reads its own slab (plus `ghosts` planes each side;
// ghosts < 0: default_ghosts for the file's planes and comm's ranks).
template <class MemorySpace = DeviceMemory>
AnyDistributedImage<MemorySpace> load_hdf5(MPI_Comm comm, const std::string& file,
                                           const std::string& dataset = "", int ghosts = 0) {
  const impl::Hdf5Header header = impl::read_hdf5_header(comm, file, dataset);
  if (ghosts < 0) {
    int ranks = 1;
    MPI_Comm_size(comm, &ranks);
    ghosts = default_ghosts(header.geometry.size()[2], ranks);
  }
  return visit_pixel_type(header.type, [&](auto zero) -> AnyDistributedImage<MemorySpace> {
    using T = decltype(zero);
    DistributedImage<T, MemorySpace> image(comm, header.geometry, ghosts);
    image.metadata() = header.metadata;
    auto host = Kokkos::create_mirror_view(Kokkos::HostSpace(), image.local());
    impl::read_hdf5_planes(comm, file, header, image.held_begin(),
                           image.held_end() - image.held_begin(), host.data());
    Kokkos::deep_copy(image.local(), host);
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0) {
      for (const std::string& line : header.warnings) {
        warn("'" + file + "': " + line);
      }
    }
    return image;
  });
}

}  // namespace medimg
