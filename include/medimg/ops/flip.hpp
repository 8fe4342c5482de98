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

template <class T, class MemorySpace>
Image<T, MemorySpace> flip(const Image<T, MemorySpace>& image, Axis axis) {
  return flip(typename MemorySpace::execution_space(), image, axis);
}

}  // namespace medimg
