// affine(image, transform, interp, fill[, output grid]): the image resampled
// through a general affine map. The transform maps OUTPUT points to INPUT
// points (ITK's convention). Metadata rule: the output grid is the input's
// unless one is given.
#pragma once

#include "medimg/resample/backward.hpp"
#include "medimg/resample/resample.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> affine(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                             const AffineTransform& transform, Interp interp, double fill,
                             const Geometry& output) {
  return resample(exec, output, image, transform, interp, fill);
}

// dL/d(input) of affine, through the resample kernel's adjoint.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> affine_backward(const ExecutionSpace& exec, const Geometry& input,
                                      const Image<T, MemorySpace>& dLdy,
                                      const AffineTransform& transform, Interp interp,
                                      const Geometry& output,
                                      Accumulation mode = Accumulation::scatter) {
  return resample_backward_image(exec, output, input, interp, transform, dLdy, mode);
}

template <class T, class MemorySpace>
Image<T, MemorySpace> affine(const Image<T, MemorySpace>& image, const AffineTransform& transform,
                             Interp interp, double fill = 0.0) {
  return affine(typename MemorySpace::execution_space(), image, transform, interp, fill,
                image.geometry());
}

}  // namespace medimg
