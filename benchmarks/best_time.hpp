// best_ms(run): the best wall time of 3 runs of `run` (fenced), in ms, for
// the plain-table benchmarks (resample_cost, backward_cost).
#pragma once

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <functional>

namespace medimg::bench {

inline double best_ms(const std::function<void()>& run) {
  double best = 1e300;
  for (int r = 0; r < 3; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    Kokkos::fence();
    best = std::min(
        best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
  }
  return best;
}

}  // namespace medimg::bench
