#include "medimg/dist/slab.hpp"

#include <string>

#include "medimg/core/error.hpp"

namespace medimg {

SlabDecomposition::SlabDecomposition(std::int64_t slices, int ranks)
    : m_slices(slices), m_ranks(ranks) {
  if (slices < 1 || ranks < 1) {
    throw Error("slab decomposition: " + std::to_string(slices) + " slices over " +
                std::to_string(ranks) + " ranks (both must be >= 1)");
  }
}

std::int64_t SlabDecomposition::begin(int rank) const {
  const std::int64_t base = m_slices / m_ranks, extra = m_slices % m_ranks;
  const std::int64_t r = rank;
  return r * base + (r < extra ? r : extra);
}

std::int64_t SlabDecomposition::end(int rank) const {
  return begin(rank + 1);
}

int SlabDecomposition::owner(std::int64_t k) const {
  const std::int64_t base = m_slices / m_ranks, extra = m_slices % m_ranks;
  const std::int64_t big = extra * (base + 1);  // planes held by the larger slabs
  if (k < big) return static_cast<int>(k / (base + 1));
  return static_cast<int>(extra + (k - big) / base);
}

}  // namespace medimg
