// resample_to_image(fixed, moving, interp, fill): the moving image on the
// fixed image's grid (identity transform in physical space). Metadata rule:
// the output has the fixed grid's size, origin, spacing and direction, and
// the moving image's pixel type and metadata.
#pragma once

#include "medimg/resample/backward.hpp"
#include "medimg/resample/resample.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> resample_to_image(const ExecutionSpace& exec, const Geometry& fixed,
                                        const Image<T, MemorySpace>& moving, Interp interp,
                                        double fill = 0.0) {
  return resample(exec, fixed, moving, AffineTransform(), interp, fill);
}

// dL/d(moving) of resample_to_image, through the resample kernel's adjoint.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> resample_to_image_backward(const ExecutionSpace& exec, const Geometry& fixed,
                                                 const Geometry& moving,
                                                 const Image<T, MemorySpace>& dLdy, Interp interp,
                                                 Accumulation mode = Accumulation::scatter) {
  return resample_backward_image(exec, fixed, moving, interp, AffineTransform(), dLdy, mode);
}

template <class T, class MemorySpace>
Image<T, MemorySpace> resample_to_image(const Geometry& fixed, const Image<T, MemorySpace>& moving,
                                        Interp interp, double fill = 0.0) {
  return resample_to_image(typename MemorySpace::execution_space(), fixed, moving, interp, fill);
}

}  // namespace medimg
