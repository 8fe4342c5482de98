// crop_or_pad(image, size, value): the `size` voxels around the centre, in one
// index copy. Per axis with n voxels and target t: n >= t keeps the voxels
// [floor((n - t) / 2), + t) (crop); n < t adds floor((t - n) / 2) voxels
// before and the rest after, filled with `value` (pad; MONAI's and TorchIO's
// split). Metadata rule: origin = physical point of the first kept index
// (negative when padded), spacing and direction kept.
#pragma once

#include "medimg/core/pixel_cast.hpp"
#include "medimg/ops/geometry_rules.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> crop_or_pad(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                                  const Size3& size, double value = 0.0) {
  const Size3 start = centered_region_start(image.geometry(), size);
  return copy_by_index_mapping(exec, image, region_grid(image.geometry(), start, size),
                               crop_mapping(start), pixel_cast<T>(value), "medimg::crop_or_pad");
}

template <class T, class MemorySpace>
Image<T, MemorySpace> crop_or_pad(const Image<T, MemorySpace>& image, const Size3& size,
                                  double value = 0.0) {
  return crop_or_pad(typename MemorySpace::execution_space(), image, size, value);
}

}  // namespace medimg
