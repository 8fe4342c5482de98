// SlabDecomposition: how a volume of `slices` k-planes is split over
// `ranks` MPI ranks (DESIGN.md section 5): contiguous, balanced ranges
// [begin(r), end(r)), the first slices % ranks ranks taking one plane more.
// With more ranks than slices the last ranks are empty (begin == end): they
// still take part in every collective and do no work. Pure arithmetic, so
// every rank computes every other rank's slab without communicating.
#pragma once

#include <cstdint>

namespace medimg {

class SlabDecomposition {
 public:
  SlabDecomposition() = default;
  // Throws medimg::Error unless slices >= 1 and ranks >= 1.
  SlabDecomposition(std::int64_t slices, int ranks);

  std::int64_t slices() const { return m_slices; }
  int ranks() const { return m_ranks; }
  std::int64_t begin(int rank) const;
  std::int64_t end(int rank) const;
  std::int64_t count(int rank) const { return end(rank) - begin(rank); }
  // The rank that owns plane k (0 <= k < slices).
  int owner(std::int64_t k) const;

 private:
  std::int64_t m_slices = 1;
  int m_ranks = 1;
};

}  // namespace medimg
