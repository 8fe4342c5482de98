// resample_to_spacing(image, spacing, interp): the same physical region on a
// grid of the given spacing. Metadata rule: size = max(1, round(size * old /
// new)), origin and direction kept (spacing_grid).
#pragma once

#include "medimg/ops/geometry_rules.hpp"
#include "medimg/resample/backward.hpp"
#include "medimg/resample/resample.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> resample_to_spacing(const ExecutionSpace& exec,
                                          const Image<T, MemorySpace>& image, const Vec3& spacing,
                                          Interp interp) {
  return resample(exec, spacing_grid(image.geometry(), spacing), image, AffineTransform(), interp);
}

// dL/d(input) of resample_to_spacing, through the resample kernel's adjoint.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> resample_to_spacing_backward(const ExecutionSpace& exec,
                                                   const Geometry& input,
                                                   const Image<T, MemorySpace>& dLdy,
                                                   const Vec3& spacing, Interp interp,
                                                   Accumulation mode = Accumulation::scatter) {
  return resample_backward_image(exec, spacing_grid(input, spacing), input, interp,
                                 AffineTransform(), dLdy, mode);
}

template <class T, class MemorySpace>
Image<T, MemorySpace> resample_to_spacing(const Image<T, MemorySpace>& image, const Vec3& spacing,
                                          Interp interp) {
  return resample_to_spacing(typename MemorySpace::execution_space(), image, spacing, interp);
}

}  // namespace medimg
