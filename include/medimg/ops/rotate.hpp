// rotate(image, axis, degrees, interp, fill, expand): the content rotated by
// `degrees` (right-hand rule) about the image's own axis (i, j or k: its
// direction column) through the physical centre of the grid. Metadata rule:
// the grid is kept; with expand = true it grows (same spacing, direction and
// centre) to hold every voxel centre of the rotated image.
#pragma once

#include "medimg/ops/geometry_rules.hpp"
#include "medimg/resample/resample.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> rotate(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                             Axis axis, double degrees, Interp interp, double fill = 0.0,
                             bool expand = false) {
  const Geometry& g = image.geometry();
  const AffineTransform transform = rotation_about_center(g, axis, degrees);
  const Geometry output = expand ? expanded_grid(g, axis, degrees) : g;
  return resample(exec, output, image, transform, interp, fill);
}

template <class T, class MemorySpace>
Image<T, MemorySpace> rotate(const Image<T, MemorySpace>& image, Axis axis, double degrees,
                             Interp interp, double fill = 0.0, bool expand = false) {
  return rotate(typename MemorySpace::execution_space(), image, axis, degrees, interp, fill,
                expand);
}

}  // namespace medimg
