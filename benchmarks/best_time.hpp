// best_ms(run, repeat): the best wall time of `repeat` (default 3) runs of
// `run` (fenced), in ms, for the plain-table benchmarks (resample_cost,
// backward_cost, device_throughput).
#pragma once

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <functional>

namespace medimg::bench {

inline double best_ms(const std::function<void()>& run, int repeat = 3) {
  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
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
