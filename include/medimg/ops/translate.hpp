// translate(image, offset_mm): the image moved in physical space; metadata
// only (origin += offset, voxels shared). translate_resample(image, offset,
// interp, fill): the content moved by offset on the unchanged grid.
#pragma once

#include "medimg/resample/backward.hpp"
#include "medimg/resample/resample.hpp"

namespace medimg {

template <class T, class MemorySpace>
Image<T, MemorySpace> translate(const Image<T, MemorySpace>& image, const Vec3& offset_mm) {
  const Geometry& g = image.geometry();
  const AffineTransform shift = AffineTransform::translation(offset_mm);  // validates
  Image<T, MemorySpace> moved = image;
  moved.set_geometry(Geometry(g.size(), shift.apply(g.origin()), g.spacing(), g.direction()));
  return moved;
}

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> translate_resample(const ExecutionSpace& exec,
                                         const Image<T, MemorySpace>& image, const Vec3& offset_mm,
                                         Interp interp, double fill = 0.0) {
  const Vec3 back{-offset_mm[0], -offset_mm[1], -offset_mm[2]};
  return resample(exec, image.geometry(), image, AffineTransform::translation(back), interp, fill);
}

// dL/d(input) of translate_resample, through the resample kernel's adjoint.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> translate_resample_backward(const ExecutionSpace& exec, const Geometry& input,
                                                  const Image<T, MemorySpace>& dLdy,
                                                  const Vec3& offset_mm, Interp interp,
                                                  Accumulation mode = Accumulation::scatter) {
  const Vec3 back{-offset_mm[0], -offset_mm[1], -offset_mm[2]};
  return resample_backward_image(exec, input, input, interp, AffineTransform::translation(back),
                                 dLdy, mode);
}

template <class T, class MemorySpace>
Image<T, MemorySpace> translate_resample(const Image<T, MemorySpace>& image, const Vec3& offset_mm,
                                         Interp interp, double fill = 0.0) {
  return translate_resample(typename MemorySpace::execution_space(), image, offset_mm, interp,
                            fill);
}

}  // namespace medimg
