#include <algorithm>
#include <cmath>

#include "medimg/resample/resample.hpp"

namespace medimg::impl {

IndexMap index_map(const Geometry& output, const Geometry& input,
                   const AffineTransform& transform) {
  // c = Pin^-1 (A (o_out + Pout idx) + t - o_in) = M idx + b
  const Mat3& pin_inv = input.physical_to_index_matrix();
  Mat3 m = multiply(pin_inv, multiply(transform.matrix(), output.index_to_physical_matrix()));
  // Terms that only round-off made non-zero are zero: a grid with the
  // input's direction (or a flip of it, as resample_to_spacing and reorient
  // make of an oblique scan) maps axes to axes, and takes the axis-aligned
  // kernels. Such a term moves c by under 1e-12 voxel per voxel.
  for (int r = 0; r < 3; ++r) {
    const double scale = std::max({std::abs(m[r][0]), std::abs(m[r][1]), std::abs(m[r][2])});
    for (int c = 0; c < 3; ++c) {
      if (std::abs(m[r][c]) < 1e-12 * scale) m[r][c] = 0.0;
    }
  }
  const Vec3 a_origin = medimg::multiply(transform.matrix(), output.origin());
  Vec3 shifted;
  for (int r = 0; r < 3; ++r) shifted[r] = a_origin[r] + transform.offset()[r] - input.origin()[r];
  return IndexMap{m, medimg::multiply(pin_inv, shifted)};
}

}  // namespace medimg::impl
