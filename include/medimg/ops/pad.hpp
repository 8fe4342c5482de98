// pad(image, before, after, value): `before[a]` voxels added before and
// `after[a]` after along each axis, filled with `value` (cast like every
// output: integers round and clamp). Metadata rule: origin = physical point
// of index -before, spacing and direction kept. pad and crop are transposes.
#pragma once

#include "medimg/core/pixel_cast.hpp"
#include "medimg/ops/geometry_rules.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> pad(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                          const Size3& before, const Size3& after, double value = 0.0) {
  return copy_by_index_mapping(exec, image, padded_grid(image.geometry(), before, after),
                               pad_mapping(before), pixel_cast<T>(value), "medimg::pad");
}

// dL/d(input) of pad: the gradient cropped back (the padding is constant).
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> pad_backward(const ExecutionSpace& exec, const Geometry& input,
                                   const Image<T, MemorySpace>& dLdy, const Size3& before) {
  return copy_by_index_mapping_transpose(exec, dLdy, input, pad_mapping(before));
}

template <class T, class MemorySpace>
Image<T, MemorySpace> pad(const Image<T, MemorySpace>& image, const Size3& before,
                          const Size3& after, double value = 0.0) {
  return pad(typename MemorySpace::execution_space(), image, before, after, value);
}

}  // namespace medimg
