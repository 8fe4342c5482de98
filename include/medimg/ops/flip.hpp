// flip(image, axis): the content mirrored along the image's own axis
// (voxel i -> n - 1 - i). Metadata rule: the geometry is kept (so the
// physical content is mirrored, unlike change_orientation).
#pragma once

#include "medimg/ops/geometry_rules.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> flip(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                           Axis axis) {
  return copy_by_index_mapping(exec, image, image.geometry(), flip_mapping(image.geometry(), axis),
                               T(0), "medimg::flip");
}

// dL/d(input) of flip: the same flip (a permutation that is its own inverse).
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> flip_backward(const ExecutionSpace& exec, const Geometry& input,
                                    const Image<T, MemorySpace>& dLdy, Axis axis) {
  return copy_by_index_mapping_transpose(exec, dLdy, input, flip_mapping(input, axis));
}

template <class T, class MemorySpace>
Image<T, MemorySpace> flip(const Image<T, MemorySpace>& image, Axis axis) {
  return flip(typename MemorySpace::execution_space(), image, axis);
}

}  // namespace medimg
