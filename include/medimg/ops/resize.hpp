// resize(image, size, interp): the same physical extent (outer voxel edges)
// sampled with `size` voxels. Metadata rule: spacing old * n_old / n_new,
// direction kept, origin moved by half the spacing change (resized_grid).
#pragma once

#include "medimg/ops/geometry_rules.hpp"
#include "medimg/resample/backward.hpp"
#include "medimg/resample/resample.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> resize(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                             const Size3& size, Interp interp) {
  return resample(exec, resized_grid(image.geometry(), size), image, AffineTransform(), interp);
}

// dL/d(input) of resize, through the resample kernel's adjoint.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> resize_backward(const ExecutionSpace& exec, const Geometry& input,
                                      const Image<T, MemorySpace>& dLdy, const Size3& size,
                                      Interp interp, Accumulation mode = Accumulation::scatter) {
  return resample_backward_image(exec, resized_grid(input, size), input, interp, AffineTransform(),
                                 dLdy, mode);
}

template <class T, class MemorySpace>
Image<T, MemorySpace> resize(const Image<T, MemorySpace>& image, const Size3& size, Interp interp) {
  return resize(typename MemorySpace::execution_space(), image, size, interp);
}

}  // namespace medimg
