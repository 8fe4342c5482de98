// DistributedImage<T, MemorySpace>: one image split into k-slabs over an MPI
// communicator (DESIGN.md section 5). Every rank knows the global Geometry
// and the SlabDecomposition; rank r owns planes [k_begin, k_end) and holds
// them plus up to `ghosts` planes on each side that exist in the volume:
// local() is a (nx, ny, held_end - held_begin) LayoutLeft View whose plane
// kk is global plane held_begin + kk. A slab is one contiguous block (i
// fastest), so messages and HDF5 hyperslabs need no packing; MPI moves whole
// planes (a contiguous datatype of nx * ny voxels), so counts stay in int
// range for 2048^3 and beyond.
//
// halo_gather fills the ghost planes from their owners (non-blocking
// Isend/Irecv between exactly the ranks that share planes, computed on both
// sides from the decomposition). halo_scatter_add is its adjoint: ghost
// values are sent back, added into the owners' planes, and zeroed.
// Device memory is staged through a host copy (no GPU-aware MPI assumed).
#pragma once

#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/image.hpp"
#include "medimg/dist/slab.hpp"

namespace medimg {

template <class T>
MPI_Datatype mpi_datatype();

// The ghost width the distributed ops give their outputs: room for the
// widest stencil margin (B-spline, 3 planes + 1), so the next op's window
// is a halo exchange into those planes instead of a copy of the slab; none
// when slabs are thinner than 32 planes (the ghosts would cost more than
// 25% extra memory; the window is then copied, which is small too).
inline int default_ghosts(std::int64_t slices, int ranks) {
  return ranks > 1 && slices / ranks >= 32 ? 4 : 0;
}

template <class T, class MemorySpace = DeviceMemory>
class DistributedImage {
 public:
  using value_type = T;
  using memory_space = MemorySpace;
  using view_type = Kokkos::View<T***, Kokkos::LayoutLeft, MemorySpace>;

  // A zero image on `global`, slabs over `comm`, `ghosts` >= 0 planes each
  // side (zero = false: voxels left uninitialised, for kernel outputs).
  DistributedImage(MPI_Comm comm, const Geometry& global, int ghosts, bool zero = true)
      : m_comm(comm), m_geometry(global), m_ghosts(ghosts) {
    if (ghosts < 0) throw Error("distributed image: ghost width must be >= 0");
    MPI_Comm_rank(comm, &m_rank);
    MPI_Comm_size(comm, &m_ranks);
    m_slabs = SlabDecomposition(global.size()[2], m_ranks);
    const auto nx = static_cast<std::size_t>(global.size()[0]);
    const auto ny = static_cast<std::size_t>(global.size()[1]);
    const auto nz = static_cast<std::size_t>(held_end() - held_begin());
    m_local =
        zero
            ? view_type("medimg::DistributedImage", nx, ny, nz)
            : view_type(Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::DistributedImage"),
                        nx, ny, nz);
  }

  MPI_Comm comm() const { return m_comm; }
  int rank() const { return m_rank; }
  int ranks() const { return m_ranks; }
  const Geometry& geometry() const { return m_geometry; }
  // Moves the grid (translate); the size must stay the same.
  void set_geometry(const Geometry& geometry) {
    check_same_size(m_geometry, geometry);
    m_geometry = geometry;
  }
  const SlabDecomposition& slabs() const { return m_slabs; }
  int ghosts() const { return m_ghosts; }
  std::int64_t k_begin() const { return m_slabs.begin(m_rank); }
  std::int64_t k_end() const { return m_slabs.end(m_rank); }
  bool empty() const { return k_end() == k_begin(); }
  // The planes held (owned + ghosts inside the volume); none on empty ranks.
  std::int64_t held_begin() const { return held_range(m_rank).first; }
  std::int64_t held_end() const { return held_range(m_rank).second; }
  const view_type& local() const { return m_local; }
  // The owned planes [k_begin, k_end) of local() (LayoutLeft, contiguous).
  view_type owned() const {
    return Kokkos::subview(m_local, Kokkos::ALL, Kokkos::ALL,
                           Kokkos::make_pair(k_begin() - held_begin(), k_end() - held_begin()));
  }
  // The same on every rank (distribute broadcasts it).
  Metadata& metadata() { return m_metadata; }
  const Metadata& metadata() const { return m_metadata; }
  std::int64_t plane_size() const { return m_geometry.size()[0] * m_geometry.size()[1]; }

  // [begin, end) held by `rank`: its slab widened by the ghost width.
  std::pair<std::int64_t, std::int64_t> held_range(int rank) const {
    const std::int64_t b = m_slabs.begin(rank), e = m_slabs.end(rank);
    if (b == e) return {b, b};
    const std::int64_t lo = b - m_ghosts < 0 ? 0 : b - m_ghosts;
    const std::int64_t hi = e + m_ghosts > m_slabs.slices() ? m_slabs.slices() : e + m_ghosts;
    return {lo, hi};
  }

 private:
  MPI_Comm m_comm;
  Geometry m_geometry;
  int m_ghosts;
  int m_rank = 0, m_ranks = 1;
  SlabDecomposition m_slabs;
  view_type m_local;
  Metadata m_metadata;
};

namespace impl {

// One block of planes [first, last) that moves between two ranks.
struct PlaneMessage {
  int peer;
  std::int64_t first, last;
};

// The ghost planes `needer` holds that `owner` owns (empty when none).
template <class T, class MemorySpace>
PlaneMessage shared_planes(const DistributedImage<T, MemorySpace>& image, int owner, int needer) {
  const auto held = image.held_range(needer);
  const std::int64_t first = std::max(held.first, image.slabs().begin(owner));
  const std::int64_t last = std::min(held.second, image.slabs().end(owner));
  return PlaneMessage{owner, first, last > first ? last : first};
}

// A contiguous MPI datatype of one k-plane.
class PlaneType {
 public:
  PlaneType(MPI_Datatype voxel, std::int64_t plane) {
    MPI_Type_contiguous(static_cast<int>(plane), voxel, &m_type);
    MPI_Type_commit(&m_type);
  }
  ~PlaneType() { MPI_Type_free(&m_type); }
  PlaneType(const PlaneType&) = delete;
  PlaneType& operator=(const PlaneType&) = delete;
  MPI_Datatype get() const { return m_type; }

 private:
  MPI_Datatype m_type;
};

void check_mpi(int code, const char* what);

// MPI_COMM_WORLD when MPI is in use, else MPI_COMM_NULL (one process
// without MPI: collectively() and agree_on_failure() take it).
MPI_Comm world_comm();

// Collective: when `failure` is non-empty on any rank, every rank throws
// medimg::Error with the message of the lowest such rank; otherwise returns.
// comm == MPI_COMM_NULL: throws `failure` if non-empty (one process).
void agree_on_failure(MPI_Comm comm, const std::string& failure);

// Collective: runs f on every rank; an exception on any rank becomes the
// same medimg::Error on all of them (agree_on_failure).
template <class F>
void collectively(MPI_Comm comm, F&& f) {
  std::string failure;
  try {
    f();
  } catch (const std::exception& e) {
    failure = e.what();
    if (failure.empty()) failure = "unknown error";
  }
  agree_on_failure(comm, failure);
}

// Throws medimg::Error unless a and b are the same group of ranks (a local
// check: every rank throws, none waits for another).
void check_same_communicator(MPI_Comm a, MPI_Comm b, const char* what);

}  // namespace impl

// Fills every rank's ghost planes with their owners' values.
template <class T, class MemorySpace>
void halo_gather(DistributedImage<T, MemorySpace>& image) {
  if (image.ghosts() == 0) return;
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), image.local());
  const impl::PlaneType plane(mpi_datatype<T>(), image.plane_size());
  const std::int64_t base = image.held_begin();
  std::vector<MPI_Request> requests;
  for (int peer = 0; peer < image.ranks(); ++peer) {
    if (peer == image.rank()) continue;
    // I receive the planes of `peer` that I hold as ghosts ...
    const impl::PlaneMessage in = impl::shared_planes(image, peer, image.rank());
    if (in.last > in.first) {
      requests.emplace_back();
      impl::check_mpi(MPI_Irecv(host.data() + (in.first - base) * image.plane_size(),
                                static_cast<int>(in.last - in.first), plane.get(), peer, 17,
                                image.comm(), &requests.back()),
                      "halo_gather receive");
    }
    // ... and send mine that `peer` holds as ghosts.
    const impl::PlaneMessage out = impl::shared_planes(image, image.rank(), peer);
    if (out.last > out.first) {
      requests.emplace_back();
      impl::check_mpi(MPI_Isend(host.data() + (out.first - base) * image.plane_size(),
                                static_cast<int>(out.last - out.first), plane.get(), peer, 17,
                                image.comm(), &requests.back()),
                      "halo_gather send");
    }
  }
  impl::check_mpi(
      MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE),
      "halo_gather wait");
  Kokkos::deep_copy(image.local(), host);
}

// The adjoint of halo_gather: ghost values are added into their owners'
// planes, then the ghosts are zeroed.
template <class T, class MemorySpace>
void halo_scatter_add(DistributedImage<T, MemorySpace>& image) {
  if (image.ghosts() == 0) return;
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), image.local());
  const impl::PlaneType plane(mpi_datatype<T>(), image.plane_size());
  const std::int64_t base = image.held_begin();
  const std::int64_t n = image.plane_size();
  std::vector<MPI_Request> requests;
  std::vector<std::pair<impl::PlaneMessage, std::vector<T>>> incoming;
  incoming.reserve(static_cast<std::size_t>(image.ranks()));
  for (int peer = 0; peer < image.ranks(); ++peer) {
    if (peer == image.rank()) continue;
    const impl::PlaneMessage in = impl::shared_planes(image, image.rank(), peer);
    if (in.last > in.first) {
      incoming.emplace_back(in, std::vector<T>(static_cast<std::size_t>((in.last - in.first) * n)));
      incoming.back().first.peer = peer;
      requests.emplace_back();
      impl::check_mpi(MPI_Irecv(incoming.back().second.data(), static_cast<int>(in.last - in.first),
                                plane.get(), peer, 18, image.comm(), &requests.back()),
                      "halo_scatter_add receive");
    }
    const impl::PlaneMessage out = impl::shared_planes(image, peer, image.rank());
    if (out.last > out.first) {
      requests.emplace_back();
      impl::check_mpi(
          MPI_Isend(host.data() + (out.first - base) * n, static_cast<int>(out.last - out.first),
                    plane.get(), peer, 18, image.comm(), &requests.back()),
          "halo_scatter_add send");
    }
  }
  impl::check_mpi(
      MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE),
      "halo_scatter_add wait");
  // Sum in rank order (deterministic), then clear the ghosts.
  for (const auto& [message, values] : incoming) {
    T* target = host.data() + (message.first - base) * n;
    for (std::size_t v = 0; v < values.size(); ++v) target[v] += values[v];
  }
  for (std::int64_t k = base; k < image.held_end(); ++k) {
    if (k >= image.k_begin() && k < image.k_end()) continue;
    T* ghost = host.data() + (k - base) * n;
    for (std::int64_t v = 0; v < n; ++v) ghost[v] = T(0);
  }
  Kokkos::deep_copy(image.local(), host);
}

// Any pixel type, distributed (the CLI's view of a distributed file).
template <class MemorySpace = DeviceMemory>
using AnyDistributedImage = std::variant<
    DistributedImage<std::uint8_t, MemorySpace>, DistributedImage<std::int16_t, MemorySpace>,
    DistributedImage<std::uint16_t, MemorySpace>, DistributedImage<std::int32_t, MemorySpace>,
    DistributedImage<float, MemorySpace>, DistributedImage<double, MemorySpace>>;

// Rank `root`'s image split over `comm` (other ranks pass any image; the
// geometry is broadcast), ghosts filled.
template <class T, class MemorySpace = DeviceMemory>
DistributedImage<T, MemorySpace> distribute(MPI_Comm comm, const Image<T, HostMemory>& image,
                                            int root, int ghosts);

// The whole image on `root` (an empty Image elsewhere): owned planes only.
template <class T, class MemorySpace>
Image<T, HostMemory> gather(const DistributedImage<T, MemorySpace>& image, int root);

}  // namespace medimg

#include "medimg/dist/detail/distribute.hpp"
