// Moving boxes of voxels between the ranks of a DistributedImage (DESIGN.md
// section 5).
//
// fetch(image, box) is collective: every rank asks for the box of global
// voxel indices it needs (an output slab's preimage, widened by the
// interpolator's support) and receives exactly those voxels from their
// owners. The boxes are shared with one MPI_Allgather (6 integers a rank);
// then every rank sends each other rank the part of its box that it owns,
// point to point (Isend/Irecv of MPI subarray types on host buffers), so a
// rank receives only its box, never the whole volume. When the box lies
// within the planes a rank holds (its slab plus ghost planes, which the
// distributed ops give their outputs: default_ghosts) the window is a view
// of those planes and only the parts in the ghost planes move, from the
// neighbours straight into the ghost planes: a halo exchange. Otherwise
// (large rotations, resampling onto another grid, thin slabs without
// ghosts) the box is assembled in a buffer from sub-blocks of every rank
// whose slab it crosses.
//
// give_back_add(window, target) is fetch's adjoint: every voxel of a window
// is sent back to its owner and added there, the contributions summed in
// rank order (deterministic).
//
// Memory: MPI reads and writes the Views' own memory when it can (host
// memory; device memory with GPU-aware MPI: MEDIMG_GPU_AWARE_MPI at
// configure time or in the environment), otherwise a host copy (MpiBuffer).
// fetch and the B-spline transposes take that switch; give_back_add,
// halo_gather/halo_scatter_add, distribute/gather and HDF5 always stage
// through host memory.
//
// comm_stats() counts the bytes this rank sent and the seconds it spent in
// these exchanges (benchmarks/dist_scaling).
#pragma once

#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <vector>

#include "medimg/dist/distributed_image.hpp"

namespace medimg {

// Voxel indices [first[a], last[a]) on each axis.
struct Box {
  Size3 first{};
  Size3 last{};

  bool empty() const { return !(last[0] > first[0] && last[1] > first[1] && last[2] > first[2]); }
  std::int64_t extent(int a) const { return last[a] > first[a] ? last[a] - first[a] : 0; }
  std::int64_t voxels() const { return extent(0) * extent(1) * extent(2); }
  Box intersect(const Box& other) const {
    Box b;
    for (int a = 0; a < 3; ++a) {
      b.first[a] = std::max(first[a], other.first[a]);
      b.last[a] = std::min(last[a], other.last[a]);
    }
    return b;
  }
};

// The voxels of a box of a distributed image, on this rank: data(i, j, k) is
// global voxel offset + (i, j, k). Interpolators take `offset` as theirs.
template <class T, class MemorySpace>
struct Window {
  Kokkos::View<T***, Kokkos::LayoutLeft, MemorySpace> data;
  Size3 offset{};
};

struct CommStats {
  double bytes_sent = 0.0;
  double seconds = 0.0;
  int exchanges = 0;
};
// This rank's totals since the last reset.
CommStats& comm_stats();

namespace impl {

// Part of a host LayoutLeft array (`base`, extents `dims`) that moves to or
// from `peer`: `count` voxels from `start`.
template <class T>
struct Transfer {
  int peer;
  T* base;
  Size3 dims;
  Size3 start;
  Size3 count;
};

// Every send and receive (MPI subarray types) posted on construction, and
// transfers to self copied then; wait() completes them (idempotent; the
// destructor waits too) and counts the bytes sent and the seconds spent
// posting and waiting (not the work overlapped in between) in comm_stats(). A transfer whose peer
// is this rank: the n-th send to self goes to the n-th receive from self, a strided copy in
// `Space`, the memory the pointers live in.
template <class T, class Space = Kokkos::HostSpace>
class PostedExchange {
 public:
  PostedExchange(MPI_Comm comm, const std::vector<Transfer<const T>>& sends,
                 const std::vector<Transfer<T>>& receives, int tag)
      : m_seconds(MPI_Wtime()) {
    int me = 0;
    MPI_Comm_rank(comm, &me);
    std::vector<const Transfer<const T>*> self_sends;
    std::vector<const Transfer<T>*> self_receives;
    for (const auto& r : receives) {
      if (r.peer == me) {
        self_receives.push_back(&r);
        continue;
      }
      m_requests.emplace_back();
      check_mpi(MPI_Irecv(r.base, 1, subarray(r.dims, r.start, r.count), r.peer, tag, comm,
                          &m_requests.back()),
                "exchange receive");
    }
    for (const auto& s : sends) {
      if (s.peer == me) {
        self_sends.push_back(&s);
        continue;
      }
      m_requests.emplace_back();
      check_mpi(MPI_Isend(s.base, 1, subarray(s.dims, s.start, s.count), s.peer, tag, comm,
                          &m_requests.back()),
                "exchange send");
      m_bytes += static_cast<double>(s.count[0] * s.count[1] * s.count[2]) * sizeof(T);
    }
    if (self_sends.size() != self_receives.size()) throw Error("exchange: unmatched self transfer");
    for (std::size_t t = 0; t < self_sends.size(); ++t) copy(*self_sends[t], *self_receives[t]);
    m_seconds = MPI_Wtime() - m_seconds;
  }
  ~PostedExchange() {
    if (!m_done) {
      MPI_Waitall(static_cast<int>(m_requests.size()), m_requests.data(), MPI_STATUSES_IGNORE);
      for (auto& type : m_types) MPI_Type_free(&type);
    }
  }
  PostedExchange(const PostedExchange&) = delete;
  PostedExchange& operator=(const PostedExchange&) = delete;

  void wait() {
    if (m_done) return;
    m_done = true;
    const double start = MPI_Wtime();
    const int code =
        MPI_Waitall(static_cast<int>(m_requests.size()), m_requests.data(), MPI_STATUSES_IGNORE);
    for (auto& type : m_types) MPI_Type_free(&type);
    check_mpi(code, "exchange wait");
    CommStats& stats = comm_stats();
    stats.bytes_sent += m_bytes;
    stats.seconds += m_seconds + (MPI_Wtime() - start);  // blocked, not overlapped
    ++stats.exchanges;
  }

 private:
  MPI_Datatype subarray(const Size3& dims, const Size3& first, const Size3& count) {
    int sizes[3], subsizes[3], starts[3];
    for (int a = 0; a < 3; ++a) {
      sizes[a] = static_cast<int>(dims[a]);
      subsizes[a] = static_cast<int>(count[a]);
      starts[a] = static_cast<int>(first[a]);
    }
    MPI_Datatype type;
    check_mpi(MPI_Type_create_subarray(3, sizes, subsizes, starts, MPI_ORDER_FORTRAN,
                                       mpi_datatype<std::remove_const_t<T>>(), &type),
              "exchange subarray");
    MPI_Type_commit(&type);
    m_types.push_back(type);
    return type;
  }

  static void copy(const Transfer<const T>& from, const Transfer<T>& to) {
    using Block =
        Kokkos::View<T***, Kokkos::LayoutLeft, Space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    auto range = [](std::int64_t first, std::int64_t count) {
      return Kokkos::make_pair(first, first + count);
    };
    const Block source(const_cast<T*>(from.base), static_cast<std::size_t>(from.dims[0]),
                       static_cast<std::size_t>(from.dims[1]),
                       static_cast<std::size_t>(from.dims[2]));
    const Block target(to.base, static_cast<std::size_t>(to.dims[0]),
                       static_cast<std::size_t>(to.dims[1]), static_cast<std::size_t>(to.dims[2]));
    Kokkos::deep_copy(
        Kokkos::subview(target, range(to.start[0], to.count[0]), range(to.start[1], to.count[1]),
                        range(to.start[2], to.count[2])),
        Kokkos::subview(source, range(from.start[0], from.count[0]),
                        range(from.start[1], from.count[1]), range(from.start[2], from.count[2])));
  }

  double m_seconds;  // spent posting (and copying to self)
  double m_bytes = 0.0;
  bool m_done = false;
  std::vector<MPI_Request> m_requests;
  std::vector<MPI_Datatype> m_types;
};

// Posts, then waits.
template <class T, class Space = Kokkos::HostSpace>
void exchange(MPI_Comm comm, const std::vector<Transfer<const T>>& sends,
              const std::vector<Transfer<T>>& receives, int tag) {
  PostedExchange<T, Space>(comm, sends, receives, tag).wait();
}

// MPI can read and write device memory (CUDA- or ROCm-aware MPI): the
// CMake option MEDIMG_GPU_AWARE_MPI sets the default, the environment
// variable MEDIMG_GPU_AWARE_MPI=0|1 overrides it at run time.
bool gpu_aware_mpi();

// The array MPI exchanges for `view`: the view's own memory when MPI can
// use it (host memory, or device memory with GPU-aware MPI), else a host
// copy (made on construction when `fill`, written back by `finish`).
template <class T, class MemorySpace>
class MpiBuffer {
 public:
  using View = Kokkos::View<T***, Kokkos::LayoutLeft, MemorySpace>;
  static constexpr bool host_memory =
      Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemorySpace>::accessible;

  MpiBuffer(const View& view, bool fill) : m_view(view), m_direct(host_memory || gpu_aware_mpi()) {
    if (m_direct) return;
    m_host = Kokkos::create_mirror_view(Kokkos::HostSpace(), view);
    if (fill) Kokkos::deep_copy(m_host, view);
  }
  bool direct() const { return m_direct; }
  T* data() const { return m_direct ? m_view.data() : m_host.data(); }
  // Exchanges with the pointers of data(), in the memory they live in.
  template <class U>
  void exchange(MPI_Comm comm, const std::vector<Transfer<const U>>& sends,
                const std::vector<Transfer<U>>& receives, int tag) const {
    post(comm, sends, receives, tag)();
  }
  // Posts the exchange; the returned function waits for it.
  template <class U>
  std::function<void()> post(MPI_Comm comm, const std::vector<Transfer<const U>>& sends,
                             const std::vector<Transfer<U>>& receives, int tag) const {
    if (m_direct) {
      auto e = std::make_shared<PostedExchange<U, MemorySpace>>(comm, sends, receives, tag);
      return [e] { e->wait(); };
    }
    auto e = std::make_shared<PostedExchange<U, Kokkos::HostSpace>>(comm, sends, receives, tag);
    return [e] { e->wait(); };
  }
  // The host copy -> the view (after receiving into the copy).
  // (Fences first: a kernel may still read the view's other planes.)
  void finish() const {
    if (m_direct) return;
    Kokkos::fence();
    Kokkos::deep_copy(m_view, m_host);
  }
  // The view -> the host copy (before sending from it again).
  void refill() const {
    if (!m_direct) Kokkos::deep_copy(m_host, m_view);
  }

 private:
  View m_view;
  bool m_direct;
  typename View::HostMirror m_host;
};

// The global box owned by `rank` of `image`: all of i and j, its k-slab.
template <class T, class MemorySpace>
Box owned_box(const DistributedImage<T, MemorySpace>& image, int rank) {
  const Size3& n = image.geometry().size();
  return Box{Size3{0, 0, image.slabs().begin(rank)}, Size3{n[0], n[1], image.slabs().end(rank)}};
}

// Every rank's box (one MPI_Allgather).
std::vector<Box> all_boxes(MPI_Comm comm, const Box& mine);

inline Size3 extents(const Box& b) {
  return Size3{b.extent(0), b.extent(1), b.extent(2)};
}

inline Size3 relative(const Box& part, const Size3& origin) {
  return Size3{part.first[0] - origin[0], part.first[1] - origin[1], part.first[2] - origin[2]};
}

}  // namespace impl

// A window whose exchange is under way (begin_fetch): `window` names the
// memory it will hold. Before wait() only a halo window may be read, and
// only in the planes this rank owns (its ghost planes are being filled):
// that is what lets a kernel overlap its interior with the exchange.
template <class T, class MemorySpace>
struct PendingWindow {
  Window<const T, MemorySpace> window;
  bool halo = false;  // the window is this rank's planes plus its ghost planes
  std::function<void()> complete;

  void wait() {
    if (complete) {
      auto done = std::move(complete);
      complete = nullptr;
      done();
    }
  }
};

// Collective. Starts bringing this rank's `need` (clamped to the image; may
// be empty) of `image` from its owners; may refill `image`'s ghost planes.
// Every rank must call wait() (or use fetch).
template <class T, class MemorySpace>
PendingWindow<T, MemorySpace> begin_fetch(const DistributedImage<T, MemorySpace>& image, Box need) {
  using Buffer = Kokkos::View<T***, Kokkos::LayoutLeft, MemorySpace>;
  need = need.intersect(Box{Size3{0, 0, 0}, image.geometry().size()});
  if (need.empty()) need = Box{};
  // Within the planes this rank holds (its slab and ghosts): the parts other
  // ranks own are received straight into the ghost planes (a halo exchange)
  // and its own planes are not copied. Ghost planes are a cache: refilled
  // here whenever a window needs them.
  const bool halo = !need.empty() && !image.empty() && need.first[2] >= image.held_begin() &&
                    need.last[2] <= image.held_end();
  const std::vector<Box> boxes = impl::all_boxes(image.comm(), need);
  const int me = image.rank();
  const Box mine = impl::owned_box(image, me);
  const Size3 held_origin{0, 0, image.held_begin()};
  const Size3 held_dims{image.geometry().size()[0], image.geometry().size()[1],
                        image.held_end() - image.held_begin()};
  const impl::MpiBuffer<T, MemorySpace> held(image.local(), true);
  std::vector<impl::Transfer<const T>> sends;
  for (int q = 0; q < image.ranks(); ++q) {
    const Box part = boxes[static_cast<std::size_t>(q)].intersect(mine);
    if (part.empty() || (q == me && halo)) continue;
    sends.push_back(
        {q, held.data(), held_dims, impl::relative(part, held_origin), impl::extents(part)});
  }
  std::vector<impl::Transfer<T>> receives;
  PendingWindow<T, MemorySpace> pending;
  pending.halo = halo;
  if (need.empty() || halo) {
    for (int p = 0; p < image.ranks() && halo; ++p) {
      const Box part = need.intersect(impl::owned_box(image, p));
      if (part.empty() || p == me) continue;
      receives.push_back(
          {p, held.data(), held_dims, impl::relative(part, held_origin), impl::extents(part)});
    }
    auto posted = held.post(image.comm(), sends, receives, 31);
    const bool received = !receives.empty();
    pending.complete = [posted, held, received] {
      posted();
      if (received) held.finish();
    };
    if (halo) {
      pending.window.data = Kokkos::subview(
          image.local(), Kokkos::ALL, Kokkos::ALL,
          Kokkos::make_pair(need.first[2] - image.held_begin(), need.last[2] - image.held_begin()));
      pending.window.offset = Size3{0, 0, need.first[2]};
    }
    return pending;
  }
  Buffer buffer(Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::fetch"),
                static_cast<std::size_t>(need.extent(0)), static_cast<std::size_t>(need.extent(1)),
                static_cast<std::size_t>(need.extent(2)));
  const impl::MpiBuffer<T, MemorySpace> to(buffer, false);
  if (to.direct() != held.direct()) throw Error("fetch: inconsistent MPI buffers");
  for (int p = 0; p < image.ranks(); ++p) {
    const Box part = need.intersect(impl::owned_box(image, p));
    if (part.empty()) continue;
    receives.push_back(
        {p, to.data(), impl::extents(need), impl::relative(part, need.first), impl::extents(part)});
  }
  auto posted = to.post(image.comm(), sends, receives, 31);
  pending.complete = [posted, held, to] {
    posted();
    to.finish();
  };
  pending.window.data = buffer;
  pending.window.offset = need.first;
  return pending;
}

// Collective. This rank's `need` of `image`, gathered from the owners.
template <class T, class MemorySpace>
Window<const T, MemorySpace> fetch(const DistributedImage<T, MemorySpace>& image, Box need) {
  auto pending = begin_fetch(image, need);
  pending.wait();
  return pending.window;
}

// Collective. The adjoint of fetch: every voxel of `window` (a box of
// `target`'s grid) is sent to its owner and added into `target`'s owned
// planes, the contributions summed in rank order.
template <class T, class MemorySpace>
void give_back_add(const Window<T, MemorySpace>& window, DistributedImage<T, MemorySpace>& target) {
  Box box{window.offset, window.offset};
  for (int a = 0; a < 3; ++a) {
    box.last[a] += static_cast<std::int64_t>(window.data.extent(static_cast<unsigned>(a)));
  }
  if (box.empty()) box = Box{};
  const std::vector<Box> boxes = impl::all_boxes(target.comm(), box);
  const auto from = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), window.data);
  std::vector<impl::Transfer<const T>> sends;
  for (int p = 0; p < target.ranks(); ++p) {
    const Box part = box.intersect(impl::owned_box(target, p));
    if (part.empty()) continue;
    sends.push_back(
        {p, from.data(), impl::extents(box), impl::relative(part, box.first), impl::extents(part)});
  }
  // Each incoming block is its own array in `incoming`.
  const Box mine = impl::owned_box(target, target.rank());
  std::vector<Box> parts;
  std::vector<std::int64_t> slots;
  std::int64_t total = 0;
  for (int q = 0; q < target.ranks(); ++q) {
    const Box part = boxes[static_cast<std::size_t>(q)].intersect(mine);
    parts.push_back(part);
    slots.push_back(total);
    if (!part.empty()) total += part.voxels();
  }
  std::vector<T> incoming(static_cast<std::size_t>(total));
  std::vector<impl::Transfer<T>> receives;
  for (int q = 0; q < target.ranks(); ++q) {
    const Box& part = parts[static_cast<std::size_t>(q)];
    if (part.empty()) continue;
    receives.push_back({q, incoming.data() + slots[static_cast<std::size_t>(q)],
                        impl::extents(part), Size3{0, 0, 0}, impl::extents(part)});
  }
  impl::exchange<T>(target.comm(), sends, receives, 32);
  if (target.empty()) return;
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), target.local());
  const Size3& n = target.geometry().size();
  const std::int64_t base = target.held_begin();
  for (int q = 0; q < target.ranks(); ++q) {
    const Box& part = parts[static_cast<std::size_t>(q)];
    if (part.empty()) continue;
    const T* block = incoming.data() + slots[static_cast<std::size_t>(q)];
    const std::int64_t bx = part.extent(0), by = part.extent(1), bz = part.extent(2);
    Kokkos::parallel_for(
        "medimg::give_back_add",
        Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Kokkos::IndexType<std::int64_t>>(
            0, by * bz),
        [&](const std::int64_t row) {
          const std::int64_t j = row % by, k = row / by;
          const T* in = block + bx * (j + by * k);
          T* out = host.data() + part.first[0] +
                   n[0] * ((part.first[1] + j) + n[1] * (part.first[2] + k - base));
          for (std::int64_t i = 0; i < bx; ++i) out[i] += in[i];
        });
  }
  Kokkos::deep_copy(target.local(), host);
}

}  // namespace medimg
