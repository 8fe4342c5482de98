// rotate(image, axis, degrees, interp, fill, expand): the content rotated by
// `degrees` (right-hand rule) about the image's own axis (i, j or k: its
// direction column) through the physical centre of the grid. Metadata rule:
// the grid is kept; with expand = true it grows (same spacing, direction and
// centre) to hold every voxel centre of the rotated image.
#pragma once

#include "medimg/ops/geometry_rules.hpp"
#include "medimg/resample/backward.hpp"
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

// dL/d(input) of rotate, through the resample kernel's adjoint.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> rotate_backward(const ExecutionSpace& exec, const Geometry& input,
                                      const Image<T, MemorySpace>& dLdy, Axis axis, double degrees,
                                      Interp interp, bool expand = false,
                                      Accumulation mode = Accumulation::scatter) {
  const Geometry output = expand ? expanded_grid(input, axis, degrees) : input;
  return resample_backward_image(exec, output, input, interp,
                                 rotation_about_center(input, axis, degrees), dLdy, mode);
}

template <class T, class MemorySpace>
Image<T, MemorySpace> rotate(const Image<T, MemorySpace>& image, Axis axis, double degrees,
                             Interp interp, double fill = 0.0, bool expand = false) {
  return rotate(typename MemorySpace::execution_space(), image, axis, degrees, interp, fill,
                expand);
}

}  // namespace medimg
