#include "medimg/resample/resample.hpp"

namespace medimg::impl {

IndexMap index_map(const Geometry& output, const Geometry& input,
                   const AffineTransform& transform) {
  // c = Pin^-1 (A (o_out + Pout idx) + t - o_in) = M idx + b
  const Mat3& pin_inv = input.physical_to_index_matrix();
  const Mat3 m = multiply(pin_inv, multiply(transform.matrix(), output.index_to_physical_matrix()));
  const Vec3 a_origin = medimg::multiply(transform.matrix(), output.origin());
  Vec3 shifted;
  for (int r = 0; r < 3; ++r) shifted[r] = a_origin[r] + transform.offset()[r] - input.origin()[r];
  return IndexMap{m, medimg::multiply(pin_inv, shifted)};
}

}  // namespace medimg::impl
