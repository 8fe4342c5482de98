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

// The same without an execution space (the memory space's default one), as
// the single-process convenience overloads: a generic lambda then works on
// an Image and on a DistributedImage alike (the CLI relies on it).
#define MEDIMG_DIST_EXEC(MS) typename MS::execution_space()

template <class T, class MS>
DistributedImage<T, MS> rotate(const DistributedImage<T, MS>& image, Axis axis, double degrees,
                               Interp interp, double fill = 0.0, bool expand = false) {
  return rotate(MEDIMG_DIST_EXEC(MS), image, axis, degrees, interp, fill, expand);
}
template <class T, class MS>
DistributedImage<T, MS> scale(const DistributedImage<T, MS>& image, const Vec3& factors,
                              Interp interp, double fill = 0.0) {
  return scale(MEDIMG_DIST_EXEC(MS), image, factors, interp, fill);
}
template <class T, class MS>
DistributedImage<T, MS> resample_to_spacing(const DistributedImage<T, MS>& image,
                                            const Vec3& spacing, Interp interp) {
  return resample_to_spacing(MEDIMG_DIST_EXEC(MS), image, spacing, interp);
}
template <class T, class MS>
DistributedImage<T, MS> resample_to_image(const Geometry& fixed,
                                          const DistributedImage<T, MS>& moving, Interp interp,
                                          double fill = 0.0) {
  return resample_to_image(MEDIMG_DIST_EXEC(MS), fixed, moving, interp, fill);
}
template <class T, class MS>
DistributedImage<T, MS> affine(const DistributedImage<T, MS>& image,
                               const AffineTransform& transform, Interp interp, double fill = 0.0) {
  return affine(MEDIMG_DIST_EXEC(MS), image, transform, interp, fill, image.geometry());
}
template <class T, class MS>
DistributedImage<T, MS> translate_resample(const DistributedImage<T, MS>& image,
                                           const Vec3& offset_mm, Interp interp,
                                           double fill = 0.0) {
  return translate_resample(MEDIMG_DIST_EXEC(MS), image, offset_mm, interp, fill);
}
template <class T, class MS>
DistributedImage<T, MS> resize(const DistributedImage<T, MS>& image, const Size3& size,
                               Interp interp) {
  return resize(MEDIMG_DIST_EXEC(MS), image, size, interp);
}
template <class T, class MS>
DistributedImage<T, MS> crop(const DistributedImage<T, MS>& image, const Size3& start,
                             const Size3& size) {
  return crop(MEDIMG_DIST_EXEC(MS), image, start, size);
}
template <class T, class MS>
DistributedImage<T, MS> pad(const DistributedImage<T, MS>& image, const Size3& before,
                            const Size3& after, double value = 0.0) {
  return pad(MEDIMG_DIST_EXEC(MS), image, before, after, value);
}
template <class T, class MS>
DistributedImage<T, MS> flip(const DistributedImage<T, MS>& image, Axis axis) {
  return flip(MEDIMG_DIST_EXEC(MS), image, axis);
}
template <class T, class MS>
DistributedImage<T, MS> change_orientation(const DistributedImage<T, MS>& image,
                                           std::string_view code) {
  return change_orientation(MEDIMG_DIST_EXEC(MS), image, code);
}

#undef MEDIMG_DIST_EXEC

}  // namespace medimg
