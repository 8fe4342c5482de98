// Order statistics of the selected voxels by radix selection, and numpy's
// percentiles from them (ops/intensity.hpp's percentiles, percentile_clip,
// histogram_match).
#pragma once

#include <Kokkos_Core.hpp>
#include <Kokkos_ScatterView.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/image.hpp"
#include "medimg/core/kokkos_compat.hpp"

#include "medimg/ops/selection.hpp"

namespace medimg::impl {

// A monotone map of doubles onto unsigned integers (IEEE order), for radix
// selection. Unions are how CUDA, HIP and host compilers all allow the pun.
KOKKOS_INLINE_FUNCTION std::uint64_t order_key(double x) {
  union {
    double d;
    std::uint64_t u;
  } pun;
  pun.d = x;
  const std::uint64_t sign = std::uint64_t(1) << 63;
  return (pun.u & sign) ? ~pun.u : (pun.u | sign);
}

inline double from_order_key(std::uint64_t key) {
  const std::uint64_t sign = std::uint64_t(1) << 63;
  union {
    double d;
    std::uint64_t u;
  } pun;
  pun.u = (key & sign) ? (key & ~sign) : ~key;
  return pun.d;
}

constexpr int radix_bits = 16;
constexpr std::int64_t radix_bins = std::int64_t(1) << radix_bits;

// One pass of radix selection: for each distinct candidate prefix (the key
// bits above `shift` chosen so far), the histogram of the next 16 bits of
// the selected voxels whose key starts with that prefix.
template <class T, class Scatter, class Prefixes>
struct RadixHistogram {
  SelectedVoxels<T> selected;
  Prefixes prefixes;
  std::uint64_t prefix_mask;
  int shift;
  Scatter histogram;  // (bin, prefix)

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t n) const {
    double x;
    if (!selected(n, x)) return;
    const std::uint64_t key = order_key(x);
    for (std::size_t p = 0; p < prefixes.extent(0); ++p) {
      if ((key & prefix_mask) == prefixes(p)) {
        auto access = histogram.access();
        access(static_cast<std::int64_t>((key >> shift) & (radix_bins - 1)),
               static_cast<std::int64_t>(p)) += 1;
        return;
      }
    }
  }
};

// The order statistics x_(r) (0-based ranks among `count` selected voxels)
// by radix selection: four histogram passes over the voxels whatever the
// number of ranks, exact for every pixel type.
template <class ExecutionSpace, class T, class MemorySpace>
std::vector<double> order_statistics(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                                     const SelectedVoxels<T>& selected,
                                     const std::vector<std::int64_t>& ranks) {
  using Device = Kokkos::Device<ExecutionSpace, MemorySpace>;
  std::vector<std::uint64_t> prefix(ranks.size(), 0);
  std::vector<std::int64_t> remaining = ranks;
  std::uint64_t prefix_mask = 0;
  for (int shift = 64 - radix_bits; shift >= 0; shift -= radix_bits) {
    std::vector<std::uint64_t> distinct;
    std::vector<std::size_t> slot(ranks.size());
    for (std::size_t r = 0; r < ranks.size(); ++r) {
      std::size_t s = 0;
      while (s < distinct.size() && distinct[s] != prefix[r]) ++s;
      if (s == distinct.size()) distinct.push_back(prefix[r]);
      slot[r] = s;
    }
    Kokkos::View<std::uint64_t*, MemorySpace> prefixes("medimg::radix_prefixes", distinct.size());
    auto prefixes_host = Kokkos::create_mirror_view(prefixes);
    for (std::size_t s = 0; s < distinct.size(); ++s) prefixes_host(s) = distinct[s];
    Kokkos::deep_copy(exec, prefixes, prefixes_host);
    Kokkos::View<std::int64_t**, Kokkos::LayoutLeft, MemorySpace> histogram(
        "medimg::radix_histogram", static_cast<std::size_t>(radix_bins), distinct.size());
    Kokkos::Experimental::ScatterView<std::int64_t**, Kokkos::LayoutLeft, Device> scatter(
        histogram);
    using Functor =
        RadixHistogram<T, decltype(scatter), Kokkos::View<const std::uint64_t*, MemorySpace>>;
    Kokkos::parallel_for("medimg::radix_select",
                         FlatRange<ExecutionSpace>(exec, 0, image.geometry().voxel_count()),
                         Functor{selected, prefixes, prefix_mask, shift, scatter});
    Kokkos::Experimental::contribute(histogram, scatter);
    auto counts = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), histogram);
    for (std::size_t r = 0; r < ranks.size(); ++r) {
      std::int64_t bin = 0;
      while (remaining[r] >= counts(bin, slot[r])) {
        remaining[r] -= counts(bin, slot[r]);
        ++bin;
      }
      prefix[r] |= static_cast<std::uint64_t>(bin) << shift;
    }
    prefix_mask |= static_cast<std::uint64_t>(radix_bins - 1) << shift;
  }
  std::vector<double> values(ranks.size());
  for (std::size_t r = 0; r < ranks.size(); ++r) values[r] = from_order_key(prefix[r]);
  return values;
}

// numpy's linear interpolation between order statistics (numpy._lerp).
inline double numpy_lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

template <class ExecutionSpace, class T, class MemorySpace>
std::vector<double> selected_percentiles(const ExecutionSpace& exec,
                                         const Image<T, MemorySpace>& image,
                                         const SelectedVoxels<T>& selected, std::int64_t count,
                                         const std::vector<double>& q) {
  for (const double p : q) {
    if (!(p >= 0.0 && p <= 100.0)) {
      throw Error("percentile " + std::to_string(p) + " is outside [0, 100]");
    }
  }
  if (count == 0) return std::vector<double>(q.size(), std::numeric_limits<double>::quiet_NaN());
  std::vector<std::int64_t> ranks;
  std::vector<double> gamma;
  for (const double p : q) {
    const double h = static_cast<double>(count - 1) * (p / 100.0);
    const double below = std::floor(h);
    const auto r = static_cast<std::int64_t>(below);
    ranks.push_back(r);
    ranks.push_back(std::min(r + 1, count - 1));
    gamma.push_back(h - below);
  }
  const std::vector<double> x = order_statistics(exec, image, selected, ranks);
  std::vector<double> result(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) {
    result[i] = numpy_lerp(x[2 * i], x[2 * i + 1], gamma[i]);
  }
  return result;
}

}  // namespace medimg::impl
