// include/medimg/core/voxel_pool.hpp.
#include "medimg/core/voxel_pool.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

namespace medimg {

namespace {

struct Entry {
  std::type_index type;
  std::array<std::size_t, 3> extents;
  std::uint64_t bytes;
  std::shared_ptr<void> view;
  int (*uses)(const void*);
  std::uint64_t last_used;

  bool free() const { return uses(view.get()) == 1; }
};

struct Pool {
  std::mutex mutex;
  int scopes = 0;
  std::uint64_t budget = 0;
  std::vector<Entry> entries;
  VoxelPool::Stats stats;
  std::uint64_t clock = 0;
  std::uint64_t in_use_high = 0;  // high-water mark of bytes in use

  std::uint64_t free_budget() const {
    return budget == VoxelPool::adaptive ? 2 * in_use_high : budget;
  }
  // Releases least recently used free buffers until the free ones held fit
  // the budget.
  void trim() {
    for (;;) {
      std::uint64_t free_bytes = 0;
      Entry* oldest = nullptr;
      for (Entry& e : entries) {
        if (!e.free()) continue;
        free_bytes += e.bytes;
        if (!oldest || e.last_used < oldest->last_used) oldest = &e;
      }
      if (!oldest || free_bytes <= free_budget()) return;
      std::swap(*oldest, entries.back());
      entries.pop_back();
    }
  }
  void note_in_use() {
    std::uint64_t in_use = 0, held = 0;
    for (const Entry& e : entries) {
      held += e.bytes;
      if (!e.free()) in_use += e.bytes;
    }
    in_use_high = std::max(in_use_high, in_use);
    stats.held_bytes = held;
  }
};

Pool& pool() {
  static Pool instance;
  return instance;
}

}  // namespace

VoxelPool::Scope::Scope(std::uint64_t free_bytes) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (p.scopes++ == 0) {
    p.budget = free_bytes;
    p.stats = {};
    p.in_use_high = 0;
  }
}

VoxelPool::Scope::~Scope() {
  std::vector<Entry> released;
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    if (--p.scopes == 0) {
      released.swap(p.entries);
      p.stats.held_bytes = 0;
    }
  }
  // Buffers still in use stay alive through their other references.
}

VoxelPool::Stats VoxelPool::stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.stats;
}

bool VoxelPool::enabled() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.scopes > 0;
}

void VoxelPool::find(std::type_index type, const Extents& extents,
                     void (*copy_out)(const void* held, void* out), void* out) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (p.scopes == 0) return;
  for (Entry& e : p.entries) {
    if (e.type == type && e.extents == extents && e.free()) {
      copy_out(e.view.get(), out);
      e.last_used = ++p.clock;
      ++p.stats.hits;
      p.note_in_use();
      return;
    }
  }
  ++p.stats.misses;
  // Free what does not fit before the caller allocates.
  p.trim();
}

void VoxelPool::add(std::type_index type, const Extents& extents, std::uint64_t bytes,
                    std::shared_ptr<void> view, int (*uses)(const void*)) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (p.scopes == 0) return;
  p.entries.push_back(Entry{type, extents, bytes, std::move(view), uses, ++p.clock});
  p.note_in_use();
}

}  // namespace medimg
