// The kernel of the pure index operations (crop, pad, flip,
// change_orientation): every output voxel copies one input voxel found by a
// signed axis permutation plus an offset, or takes the fill value when that
// voxel lies outside the input (pad). No interpolation, so values are exact.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>

#include "medimg/core/image.hpp"

namespace medimg {

// Output index o maps to input index s with
//   s[source_axis[c]] = first[c] + step[c] * o[c]   for c = 0, 1, 2,
// step[c] = +1 or -1.
struct IndexMapping {
  int source_axis[3] = {0, 1, 2};
  std::int64_t first[3] = {0, 0, 0};
  std::int64_t step[3] = {1, 1, 1};
};

namespace impl {

template <class InView, class OutView>
struct CopyByIndexMapping {
  using Out = typename OutView::non_const_value_type;
  InView in;
  OutView out;
  IndexMapping mapping;
  Out fill;
  Size3 in_size;        // the input image's size
  Size3 in_offset{};    // the input index of in(0, 0, 0) (a window of a distributed image)
  std::int64_t k0 = 0;  // the output plane of out(., ., 0) (a slab of a distributed output)

  // One voxel (MDRange; GPUs).
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i, const std::int64_t j,
                                         const std::int64_t k) const {
    const std::int64_t o[3] = {i, j, k0 + k};
    std::int64_t s[3] = {0, 0, 0};
    bool inside = true;
    for (int c = 0; c < 3; ++c) {
      const int a = mapping.source_axis[c];
      s[a] = mapping.first[c] + mapping.step[c] * o[c];
      inside = inside && s[a] >= 0 && s[a] < in_size[a];
    }
    out(i, j, k) =
        inside ? in(s[0] - in_offset[0], s[1] - in_offset[1], s[2] - in_offset[2]) : fill;
  }

  // One output row (j, k) (host backends, i-step +-1 as every mapping the
  // ops build has): the row's source is a strided line of the input, so the
  // copy is a plain pointer loop (contiguous when the row maps to +i).
  struct Rows {};
  KOKKOS_INLINE_FUNCTION void operator()(Rows, const std::int64_t row) const {
    const auto nx = static_cast<std::int64_t>(out.extent(0));
    const auto ny = static_cast<std::int64_t>(out.extent(1));
    const std::int64_t j = row % ny, k = row / ny;
    const std::int64_t o[3] = {0, j, k0 + k};
    Out* target = &out(0, j, k);
    const Out* source = in.data();
    for (int c = 1; c < 3; ++c) {
      const int a = mapping.source_axis[c];
      const std::int64_t s = mapping.first[c] + mapping.step[c] * o[c];
      if (s < 0 || s >= in_size[a]) {
        for (std::int64_t i = 0; i < nx; ++i) target[i] = fill;
        return;
      }
      source += (s - in_offset[a]) * static_cast<std::int64_t>(in.stride(a));
    }
    const int a0 = mapping.source_axis[0];
    const std::int64_t first = mapping.first[0], step = mapping.step[0], n = in_size[a0];
    // 0 <= first + step * i < n.
    std::int64_t lo = step > 0 ? -first : first - (n - 1);
    std::int64_t hi = step > 0 ? n - first : first + 1;
    lo = lo < 0 ? 0 : (lo > nx ? nx : lo);
    hi = hi < lo ? lo : (hi > nx ? nx : hi);
    const auto stride0 = static_cast<std::int64_t>(in.stride(a0));
    source += (first + step * lo - in_offset[a0]) * stride0;
    const std::int64_t stride = step * stride0;
    for (std::int64_t i = 0; i < lo; ++i) target[i] = fill;
    if (stride == 1) {
      for (std::int64_t i = lo; i < hi; ++i) target[i] = source[i - lo];
    } else {
      for (std::int64_t i = lo; i < hi; ++i) target[i] = source[(i - lo) * stride];
    }
    for (std::int64_t i = hi; i < nx; ++i) target[i] = fill;
  }
};

// Runs the copy over out's extents: by rows on host backends when the
// mapping's i-step is +-1, voxel by voxel otherwise.
template <class ExecutionSpace, class Functor>
void run_index_copy(const ExecutionSpace& exec, const Functor& copy, const char* label) {
  const auto nx = static_cast<std::int64_t>(copy.out.extent(0));
  const auto ny = static_cast<std::int64_t>(copy.out.extent(1));
  const auto nz = static_cast<std::int64_t>(copy.out.extent(2));
  if constexpr (Kokkos::SpaceAccessibility<ExecutionSpace, Kokkos::HostSpace>::accessible) {
    if (copy.mapping.step[0] == 1 || copy.mapping.step[0] == -1) {
      using Rows = Kokkos::RangePolicy<ExecutionSpace, typename Functor::Rows,
                                       Kokkos::IndexType<std::int64_t>>;
      Kokkos::parallel_for(label, Rows(exec, 0, ny * nz), copy);
      return;
    }
  }
  using Policy = Kokkos::MDRangePolicy<ExecutionSpace, Kokkos::Rank<3, Kokkos::Iterate::Left>,
                                       Kokkos::IndexType<std::int64_t>>;
  Kokkos::parallel_for(label, Policy(exec, {0, 0, 0}, {nx, ny, nz}), copy);
}

}  // namespace impl

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> copy_by_index_mapping(const ExecutionSpace& exec,
                                            const Image<T, MemorySpace>& input,
                                            const Geometry& output, const IndexMapping& mapping,
                                            T fill, const char* label) {
  auto result = Image<T, MemorySpace>::uninitialized(output, label);
  result.metadata() = input.metadata();
  using View = typename Image<T, MemorySpace>::view_type;
  impl::run_index_copy(exec,
                       impl::CopyByIndexMapping<typename View::const_type, View>{
                           input.voxels(), result.voxels(), mapping, fill, input.geometry().size()},
                       label);
  return result;
}

// Compiled once, in src/ops/instances.cpp: crop, pad, flip and
// change_orientation of every pixel type on the default device.
#define MEDIMG_INDEX_COPY(T)                                                                \
  template Image<T, DeviceMemory> copy_by_index_mapping(                                    \
      const DeviceMemory::execution_space&, const Image<T, DeviceMemory>&, const Geometry&, \
      const IndexMapping&, T, const char*);
#define MEDIMG_EXTERN_INDEX_COPY(T) extern MEDIMG_INDEX_COPY(T)
MEDIMG_FOR_EACH_PIXEL_TYPE(MEDIMG_EXTERN_INDEX_COPY)
#undef MEDIMG_EXTERN_INDEX_COPY

// The mapping of the transpose: o[c] = step[c] * (s[source_axis[c]] - first[c])
// read the other way round. Crop and pad are each other's transposes, flips
// and axis permutations are their own inverses.
inline IndexMapping inverse(const IndexMapping& m) {
  IndexMapping inv;
  for (int c = 0; c < 3; ++c) {
    const int a = m.source_axis[c];
    inv.source_axis[a] = c;
    inv.step[a] = m.step[c];
    inv.first[a] = -m.step[c] * m.first[c];
  }
  return inv;
}

// The adjoint of copy_by_index_mapping(input on `input`, ..., mapping): the
// mapping is injective, so the transpose is a copy the other way, 0 where
// no output voxel read the input voxel.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> copy_by_index_mapping_transpose(const ExecutionSpace& exec,
                                                      const Image<T, MemorySpace>& dLdy,
                                                      const Geometry& input,
                                                      const IndexMapping& mapping) {
  return copy_by_index_mapping(exec, dLdy, input, inverse(mapping), T(0),
                               "medimg::index_copy_transpose");
}

}  // namespace medimg
