// VoxelPool: host voxel buffers kept for reuse by the next allocation of the
// same pixel type and extents, so a step that makes the shape of an image an
// earlier step freed takes no new pages.
//
// Off unless a VoxelPool::Scope is alive (the `pipeline` command opens one,
// with budget 0). While it is on, every host Image allocation
// (Image::uninitialized and the readers, which use it) first asks the pool
// for a free buffer of the same pixel type and extents; a buffer is free
// when the pool holds the only reference to its Kokkos View (use_count 1),
// so nothing is ever handed out twice and nothing is freed under a user.
// Buffers under 1 MiB are not kept.
//
// Memory: free buffers are held up to the scope's `free_bytes` budget; on a
// miss the least recently used free ones past it are released before the
// new allocation. Budget 0 holds no freed buffer past the next allocation
// that cannot use it, so the peak is what it is without the pool.
// `adaptive` keeps up to twice the bytes in use at most, which serves a
// sequence of same-shaped items entirely from the pool; the batch runner
// does not use it: a cohort's scans differ in size, and buffers held for
// shapes that never came back kept malloc from reusing their memory (the
// cohort benchmark ran 2-4x slower with it; run_batch keeps freed blocks in
// the heap instead).
#pragma once

#include <Kokkos_Core.hpp>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <typeindex>

namespace medimg {

class VoxelPool {
 public:
  // Budget for the free buffers held: a number of bytes, or `adaptive`
  // (twice the high-water mark of bytes in use, as the batch runner wants).
  static constexpr std::uint64_t adaptive = ~std::uint64_t(0);

  class Scope {
   public:
    explicit Scope(std::uint64_t free_bytes);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  };

  struct Stats {
    std::int64_t hits = 0;    // allocations served by a pooled buffer
    std::int64_t misses = 0;  // allocations that made a new one
    std::uint64_t held_bytes = 0;
  };
  // Since the outermost Scope opened (zero when none is).
  static Stats stats();

  // A free pooled View of this type and these extents, or nothing.
  template <class View>
  static std::optional<View> reuse(std::size_t n0, std::size_t n1, std::size_t n2) {
    std::optional<View> found;
    // The copy is made under the pool's lock, so no other thread can see
    // the buffer free in between.
    find(
        typeid(View), {n0, n1, n2},
        [](const void* held, void* out) {
          static_cast<std::optional<View>*>(out)->emplace(*static_cast<const View*>(held));
        },
        &found);
    return found;
  }

  // Keeps `view` (a new allocation) in the pool, to be reused once free.
  template <class View>
  static void keep(const View& view) {
    const std::uint64_t bytes = view.span() * sizeof(typename View::value_type);
    if (bytes < (std::uint64_t(1) << 20)) return;
    add(typeid(View), {view.extent(0), view.extent(1), view.extent(2)}, bytes,
        std::make_shared<View>(view),
        [](const void* v) { return static_cast<const View*>(v)->use_count(); });
  }

  static bool enabled();

 private:
  using Extents = std::array<std::size_t, 3>;
  static void find(std::type_index type, const Extents& extents,
                   void (*copy_out)(const void* held, void* out), void* out);
  static void add(std::type_index type, const Extents& extents, std::uint64_t bytes,
                  std::shared_ptr<void> view, int (*uses)(const void*));
};

}  // namespace medimg
