// crop(image, start, size): the voxels [start, start + size). Metadata rule:
// origin = physical point of `start`, spacing and direction kept. The region
// must lie inside the image. A pure copy: values are exact.
#pragma once

#include "medimg/ops/geometry_rules.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> crop(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                           const Size3& start, const Size3& size) {
  return copy_by_index_mapping(exec, image, cropped_grid(image.geometry(), start, size),
                               crop_mapping(start), T(0), "medimg::crop");
}

// dL/d(input) of crop: the gradient put back in place, 0 elsewhere.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> crop_backward(const ExecutionSpace& exec, const Geometry& input,
                                    const Image<T, MemorySpace>& dLdy, const Size3& start) {
  return copy_by_index_mapping_transpose(exec, dLdy, input, crop_mapping(start));
}

template <class T, class MemorySpace>
Image<T, MemorySpace> crop(const Image<T, MemorySpace>& image, const Size3& start,
                           const Size3& size) {
  return crop(typename MemorySpace::execution_space(), image, start, size);
}

}  // namespace medimg
