// Every geometric operation on DistributedImages, by the same geometry
// rules (ops/geometry_rules.hpp) as the single-process ops, through the
// distributed resample and index copy (dist/resample.hpp). All collective;
// the gathered result is bit-identical to the single-process op's.
#pragma once

#include <string_view>

#include "medimg/dist/resample.hpp"
#include "medimg/ops/geometry_rules.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> rotate(const ExecutionSpace& exec,
                                        const DistributedImage<T, MemorySpace>& image, Axis axis,
                                        double degrees, Interp interp, double fill = 0.0,
                                        bool expand = false) {
  const Geometry& g = image.geometry();
  return resample(exec, expand ? expanded_grid(g, axis, degrees) : g, image,
                  rotation_about_center(g, axis, degrees), interp, fill);
}

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> scale(const ExecutionSpace& exec,
                                       const DistributedImage<T, MemorySpace>& image,
                                       const Vec3& factors, Interp interp, double fill = 0.0) {
  return resample(exec, image.geometry(), image, zoom_about_center(image.geometry(), factors),
                  interp, fill);
}

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> resample_to_spacing(const ExecutionSpace& exec,
                                                     const DistributedImage<T, MemorySpace>& image,
                                                     const Vec3& spacing, Interp interp) {
  return resample(exec, spacing_grid(image.geometry(), spacing), image, AffineTransform(), interp);
}

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> resample_to_image(const ExecutionSpace& exec,
                                                   const Geometry& fixed,
                                                   const DistributedImage<T, MemorySpace>& moving,
                                                   Interp interp, double fill = 0.0) {
  return resample(exec, fixed, moving, AffineTransform(), interp, fill);
}

// Onto the grid of another distributed image (same communicator).
template <class ExecutionSpace, class T, class U, class MemorySpace>
DistributedImage<T, MemorySpace> resample_to_image(const ExecutionSpace& exec,
                                                   const DistributedImage<U, MemorySpace>& fixed,
                                                   const DistributedImage<T, MemorySpace>& moving,
                                                   Interp interp, double fill = 0.0) {
  impl::check_same_communicator(fixed.comm(), moving.comm(), "resample_to_image");
  return resample(exec, fixed.geometry(), moving, AffineTransform(), interp, fill);
}

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> affine(const ExecutionSpace& exec,
                                        const DistributedImage<T, MemorySpace>& image,
                                        const AffineTransform& transform, Interp interp,
                                        double fill, const Geometry& output) {
  return resample(exec, output, image, transform, interp, fill);
}

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> translate_resample(const ExecutionSpace& exec,
                                                    const DistributedImage<T, MemorySpace>& image,
                                                    const Vec3& offset_mm, Interp interp,
                                                    double fill = 0.0) {
  const Vec3 back{-offset_mm[0], -offset_mm[1], -offset_mm[2]};
  return resample(exec, image.geometry(), image, AffineTransform::translation(back), interp, fill);
}

// Metadata only: the grid moves, the slabs and voxels are shared.
template <class T, class MemorySpace>
DistributedImage<T, MemorySpace> translate(const DistributedImage<T, MemorySpace>& image,
                                           const Vec3& offset_mm) {
  const Geometry& g = image.geometry();
  const AffineTransform shift = AffineTransform::translation(offset_mm);
  DistributedImage<T, MemorySpace> moved = image;
  moved.set_geometry(Geometry(g.size(), shift.apply(g.origin()), g.spacing(), g.direction()));
  return moved;
}

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> resize(const ExecutionSpace& exec,
                                        const DistributedImage<T, MemorySpace>& image,
                                        const Size3& size, Interp interp) {
  return resample(exec, resized_grid(image.geometry(), size), image, AffineTransform(), interp);
}

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> crop(const ExecutionSpace& exec,
                                      const DistributedImage<T, MemorySpace>& image,
                                      const Size3& start, const Size3& size) {
  return copy_by_index_mapping(exec, image, cropped_grid(image.geometry(), start, size),
                               crop_mapping(start), T(0), "medimg::crop");
}

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> pad(const ExecutionSpace& exec,
                                     const DistributedImage<T, MemorySpace>& image,
                                     const Size3& before, const Size3& after, double value = 0.0) {
  return copy_by_index_mapping(exec, image, padded_grid(image.geometry(), before, after),
                               pad_mapping(before), pixel_cast<T>(value), "medimg::pad");
}

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> flip(const ExecutionSpace& exec,
                                      const DistributedImage<T, MemorySpace>& image, Axis axis) {
  return copy_by_index_mapping(exec, image, image.geometry(), flip_mapping(image.geometry(), axis),
                               T(0), "medimg::flip");
}

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> change_orientation(const ExecutionSpace& exec,
                                                    const DistributedImage<T, MemorySpace>& image,
                                                    std::string_view code) {
  const Reorientation r = reorientation(image.geometry(), code);
  return copy_by_index_mapping(exec, image, r.grid, r.mapping, T(0), "medimg::change_orientation");
}

}  // namespace medimg
