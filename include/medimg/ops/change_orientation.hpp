// change_orientation(image, code): the same physical image with its voxels
// permuted and flipped so that its orientation code is `code` (any of the 48,
// e.g. "RAS", "LPS", "PIR"). No interpolation: values are exact. Metadata
// rule: size/spacing permuted, direction columns permuted and negated where
// flipped, origin = physical point of the new first voxel. Oblique inputs go
// to the nearest code as ITK's OrientImageFilter does (their direction stays
// oblique). An image already in that orientation is returned with its
// voxels shared (no copy), as translate does.
#pragma once

#include "medimg/ops/geometry_rules.hpp"

namespace medimg {

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> change_orientation(const ExecutionSpace& exec,
                                         const Image<T, MemorySpace>& image,
                                         std::string_view code) {
  const Reorientation r = reorientation(image.geometry(), code);
  bool identity = true;
  for (int c = 0; c < 3; ++c) {
    identity = identity && r.mapping.source_axis[c] == c && r.mapping.first[c] == 0 &&
               r.mapping.step[c] == 1;
  }
  if (identity) {
    // Already in that orientation: the same voxels (shared, as translate does).
    Image<T, MemorySpace> same = image;
    same.set_geometry(r.grid);
    return same;
  }
  return copy_by_index_mapping(exec, image, r.grid, r.mapping, T(0), "medimg::change_orientation");
}

// dL/d(input) of change_orientation: the inverse permutation.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> change_orientation_backward(const ExecutionSpace& exec, const Geometry& input,
                                                  const Image<T, MemorySpace>& dLdy,
                                                  std::string_view code) {
  return copy_by_index_mapping_transpose(exec, dLdy, input, reorientation(input, code).mapping);
}

template <class T, class MemorySpace>
Image<T, MemorySpace> change_orientation(const Image<T, MemorySpace>& image,
                                         std::string_view code) {
  return change_orientation(typename MemorySpace::execution_space(), image, code);
}

}  // namespace medimg
