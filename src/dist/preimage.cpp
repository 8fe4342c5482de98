#include <cmath>

#include "medimg/dist/resample.hpp"

namespace medimg::impl {

Box preimage_box(const IndexMap& map, const Size3& output, std::int64_t k0, std::int64_t k1,
                 const Size3& input, int margin) {
  double low[3], high[3];
  for (int a = 0; a < 3; ++a) {
    low[a] = HUGE_VAL;
    high[a] = -HUGE_VAL;
  }
  for (int corner = 0; corner < 8; ++corner) {
    const std::int64_t i = (corner & 1) ? output[0] - 1 : 0;
    const std::int64_t j = (corner & 2) ? output[1] - 1 : 0;
    const std::int64_t k = (corner & 4) ? k1 - 1 : k0;
    const Vec3 c = map.along_row(map.row_start(j, k), i);
    for (int a = 0; a < 3; ++a) {
      low[a] = std::fmin(low[a], c[a]);
      high[a] = std::fmax(high[a], c[a]);
    }
  }
  Box box;
  for (int a = 0; a < 3; ++a) {
    // Far outside (or not finite): nothing of this axis is read.
    if (!(high[a] >= -1.0 - margin) || !(low[a] <= static_cast<double>(input[a]) + margin)) {
      return Box{};
    }
    const double lo = std::fmax(std::floor(low[a]) - margin, 0.0);
    const double hi = std::fmin(std::floor(high[a]) + margin + 2.0, static_cast<double>(input[a]));
    box.first[a] = static_cast<std::int64_t>(lo);
    box.last[a] = static_cast<std::int64_t>(hi);
  }
  return box.empty() ? Box{} : box;
}

Range interior_planes(const IndexMap& map, const Size3& output, std::int64_t k0, std::int64_t k1,
                      const Size3& input, int margin, std::int64_t owned0, std::int64_t owned1) {
  Range best{k0, k0};
  std::int64_t start = k0;
  for (std::int64_t k = k0; k <= k1; ++k) {
    bool inside = false;
    if (k < k1) {
      const Box box = preimage_box(map, output, k, k + 1, input, margin);
      inside = box.empty() || (box.first[2] >= owned0 && box.last[2] <= owned1);
    }
    if (!inside) {
      if (k - start > best.last - best.first) best = Range{start, k};
      start = k + 1;
    }
  }
  return best;
}

Box preimage_box(const IndexMapping& mapping, const Size3& output, std::int64_t k0, std::int64_t k1,
                 const Size3& input) {
  const std::int64_t first[3] = {0, 0, k0};
  const std::int64_t last[3] = {output[0] - 1, output[1] - 1, k1 - 1};
  Box box;
  for (int c = 0; c < 3; ++c) {
    const int a = mapping.source_axis[c];
    const std::int64_t s0 = mapping.first[c] + mapping.step[c] * first[c];
    const std::int64_t s1 = mapping.first[c] + mapping.step[c] * last[c];
    box.first[a] = std::max<std::int64_t>(std::min(s0, s1), 0);
    box.last[a] = std::min<std::int64_t>(std::max(s0, s1) + 1, input[a]);
  }
  return box.empty() ? Box{} : box;
}

}  // namespace medimg::impl
