// scale(image, factors, interp, fill): the content zoomed by factors[a] along
// the image's own axes about the physical centre (factor 2 = twice as large).
// Metadata rule: the grid is kept.
#pragma once

#include "medimg/ops/geometry_rules.hpp"
#include "medimg/resample/backward.hpp"
#include "medimg/resample/resample.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> scale(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                            const Vec3& factors, Interp interp, double fill = 0.0) {
  return resample(exec, image.geometry(), image, zoom_about_center(image.geometry(), factors),
                  interp, fill);
}

// dL/d(input) of scale, through the resample kernel's adjoint.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> scale_backward(const ExecutionSpace& exec, const Geometry& input,
                                     const Image<T, MemorySpace>& dLdy, const Vec3& factors,
                                     Interp interp, Accumulation mode = Accumulation::scatter) {
  return resample_backward_image(exec, input, input, interp, zoom_about_center(input, factors),
                                 dLdy, mode);
}

template <class T, class MemorySpace>
Image<T, MemorySpace> scale(const Image<T, MemorySpace>& image, const Vec3& factors, Interp interp,
                            double fill = 0.0) {
  return scale(typename MemorySpace::execution_space(), image, factors, interp, fill);
}

template <class T, class MemorySpace>
Image<T, MemorySpace> scale(const Image<T, MemorySpace>& image, double factor, Interp interp,
                            double fill = 0.0) {
  return scale(image, Vec3{factor, factor, factor}, interp, fill);
}

}  // namespace medimg
