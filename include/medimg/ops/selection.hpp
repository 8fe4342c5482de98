// Which voxels an intensity reduction uses (ops/intensity.hpp), and the
// real type the normalising ops return; the device-side form of a
// selection and the flat work split every intensity pass uses.
#pragma once

#include <Kokkos_Core.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/image.hpp"
#include "medimg/core/kokkos_compat.hpp"

namespace medimg {

// std::is_same<>::value, not is_same_v: nvcc 11 cannot write the host stub of
// a device lambda whose enclosing function's type names a variable template.
template <class T>
using real_t = std::conditional_t<std::is_same<T, double>::value, double, float>;

// Which voxels a reduction (and z_score's normalisation) uses. NaN voxels
// are never used.
template <class MemorySpace>
struct Selection {
  bool nonzero_only = false;              // skip voxels equal to 0
  Image<std::uint8_t, MemorySpace> mask;  // when allocated: only voxels where mask != 0

  static Selection all() { return {}; }
  static Selection nonzero() { return {true, {}}; }
  static Selection inside(Image<std::uint8_t, MemorySpace> mask) {
    return {false, std::move(mask)};
  }
};

namespace impl {

template <class ExecutionSpace>
using FlatRange = Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>;

// The voxels of a flat pass, split into work items. Host backends give each
// item a run of consecutive voxels, a loop the compiler vectorises; GPUs take
// one voxel per thread, so adjacent threads touch adjacent voxels.
struct VoxelRuns {
  std::int64_t count = 0, run = 1;
  KOKKOS_INLINE_FUNCTION std::int64_t begin(const std::int64_t item) const { return item * run; }
  KOKKOS_INLINE_FUNCTION std::int64_t end(const std::int64_t item) const {
    const std::int64_t e = (item + 1) * run;
    return e < count ? e : count;
  }
  std::int64_t items() const { return (count + run - 1) / run; }
};

template <class ExecutionSpace>
VoxelRuns voxel_runs(const std::int64_t count) {
  constexpr bool host = Kokkos::SpaceAccessibility<ExecutionSpace, Kokkos::HostSpace>::accessible;
  return {count, host ? 4096 : 1};
}

// The selected voxels of one image, as a device-callable predicate.
template <class T>
struct SelectedVoxels {
  const T* voxels = nullptr;
  const std::uint8_t* mask = nullptr;
  bool nonzero_only = false;
  // Voxels are read as clip() writes them, clamped to [low, high] (a clip
  // fused into the op that reads its output); by default T's whole range.
  T low = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                               : std::numeric_limits<T>::lowest();
  T high = std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity()
                                                : std::numeric_limits<T>::max();

  KOKKOS_INLINE_FUNCTION T value(const std::int64_t n) const {
    const T v = voxels[n];
    return v < low ? low : (v > high ? high : v);  // NaN stays NaN
  }

  KOKKOS_INLINE_FUNCTION bool operator()(const std::int64_t n, double& x) const {
    x = static_cast<double>(value(n));
    if (compat::isnan(x)) return false;
    if (mask != nullptr && mask[n] == 0) return false;
    if (nonzero_only && x == 0.0) return false;
    return true;
  }
};

template <class T, class MemorySpace>
SelectedVoxels<T> selected_voxels(const Image<T, MemorySpace>& image,
                                  const Selection<MemorySpace>& selection) {
  const Size3& size = image.geometry().size();
  const Size3& mask_size = selection.mask.geometry().size();
  if (selection.mask.is_allocated() &&
      (mask_size[0] != size[0] || mask_size[1] != size[1] || mask_size[2] != size[2])) {
    throw Error("mask size " + to_string(selection.mask.geometry().size()) +
                " differs from the image's " + to_string(image.geometry().size()));
  }
  return {image.voxels().data(),
          selection.mask.is_allocated() ? selection.mask.voxels().data() : nullptr,
          selection.nonzero_only};
}

}  // namespace impl

}  // namespace medimg
