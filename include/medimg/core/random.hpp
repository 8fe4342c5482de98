// Counter-based random numbers: every draw is a pure function of
// (seed, item, draw), so an augmentation gives the same values on every
// backend, thread count, rank count and batch size (docs/AUGMENTATION.md).
//
// The generator is Philox4x32-10 (Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC 2011; the generator of cuRAND, JAX and numpy's
// `Philox`): key = the seed's two 32-bit halves, counter = (item's halves,
// draw's halves). It is callable in kernels (per-voxel noise draws one
// counter per voxel).
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>

#include "medimg/core/kokkos_compat.hpp"

namespace medimg {

struct Philox4x32 {
  std::uint32_t v[4];
};

// Philox4x32 with 10 rounds of (counter, key).
KOKKOS_INLINE_FUNCTION Philox4x32 philox4x32_10(Philox4x32 counter, std::uint32_t key0,
                                                std::uint32_t key1) {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(m0) * counter.v[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(m1) * counter.v[2];
    const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    counter = Philox4x32{{hi1 ^ counter.v[1] ^ key0, lo1, hi0 ^ counter.v[3] ^ key1, lo0}};
    key0 += w0;
    key1 += w1;
  }
  return counter;
}

// The four 32-bit words of draw `draw` of item `item` under `seed`.
KOKKOS_INLINE_FUNCTION Philox4x32 random_words(std::uint64_t seed, std::uint64_t item,
                                               std::uint64_t draw) {
  return philox4x32_10(
      Philox4x32{{static_cast<std::uint32_t>(item), static_cast<std::uint32_t>(item >> 32),
                  static_cast<std::uint32_t>(draw), static_cast<std::uint32_t>(draw >> 32)}},
      static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
}

// A double in [0, 1) from two words (53 random bits).
KOKKOS_INLINE_FUNCTION double unit_interval(std::uint32_t high, std::uint32_t low) {
  const std::uint64_t bits =
      ((static_cast<std::uint64_t>(high) << 32) | static_cast<std::uint64_t>(low)) >> 11;
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);  // 2^-53
}

// Uniform in [0, 1).
KOKKOS_INLINE_FUNCTION double random_uniform(std::uint64_t seed, std::uint64_t item,
                                             std::uint64_t draw) {
  const Philox4x32 w = random_words(seed, item, draw);
  return unit_interval(w.v[0], w.v[1]);
}

// Standard normal (Box-Muller on the draw's two uniforms; the first of the
// pair, so one draw is one number).
KOKKOS_INLINE_FUNCTION double random_normal(std::uint64_t seed, std::uint64_t item,
                                            std::uint64_t draw) {
  const Philox4x32 w = random_words(seed, item, draw);
  const double u1 = 1.0 - unit_interval(w.v[0], w.v[1]);  // (0, 1]: log is finite
  const double u2 = unit_interval(w.v[2], w.v[3]);
  return compat::sqrt(-2.0 * compat::log(u1)) * compat::cos(6.283185307179586 * u2);
}

}  // namespace medimg
