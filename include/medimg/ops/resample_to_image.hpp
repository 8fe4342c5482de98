// resample_to_image(fixed, moving, interp, fill): the moving image on the
// fixed image's grid (identity transform in physical space). Metadata rule:
// the output has the fixed grid's size, origin, spacing and direction, and
// the moving image's pixel type and metadata.
#pragma once

#include "medimg/resample/resample.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> resample_to_image(const ExecutionSpace& exec, const Geometry& fixed,
                                        const Image<T, MemorySpace>& moving, Interp interp,
                                        double fill = 0.0) {
  return resample(exec, fixed, moving, AffineTransform(), interp, fill);
}

template <class T, class MemorySpace>
Image<T, MemorySpace> resample_to_image(const Geometry& fixed, const Image<T, MemorySpace>& moving,
                                        Interp interp, double fill = 0.0) {
  return resample_to_image(typename MemorySpace::execution_space(), fixed, moving, interp, fill);
}

}  // namespace medimg
