// AffineTransform: a physical-space map y = A x + t (millimetres, LPS). As in
// ITK's ResampleImageFilter, a transform given to resample maps OUTPUT points
// to INPUT points. Constructors take a centre c where it matters:
// y = A (x - c) + c + t. Device-callable apply; composition and inverse on
// the host.
#pragma once

#include <Kokkos_Core.hpp>
#include <array>

#include "medimg/core/geometry.hpp"

namespace medimg {

class AffineTransform {
 public:
  // The identity.
  AffineTransform();
  // y = matrix (x - center) + center + translation. Throws medimg::Error for
  // non-finite entries or a singular matrix.
  AffineTransform(const Mat3& matrix, const Vec3& translation, const Vec3& center = Vec3{0, 0, 0});

  // Row-major 3x4 [A | t] and 4x4 [A t; 0 0 0 1] forms (the 4x4's last row
  // must be 0 0 0 1), with an optional centre as above.
  static AffineTransform from_3x4(const std::array<double, 12>& rows,
                                  const Vec3& center = Vec3{0, 0, 0});
  static AffineTransform from_4x4(const std::array<double, 16>& rows,
                                  const Vec3& center = Vec3{0, 0, 0});

  static AffineTransform translation(const Vec3& offset);
  // Rotation by `degrees` (right-hand rule) about the line through `center`
  // along `axis` (any non-zero vector).
  static AffineTransform rotation(const Vec3& axis, double degrees, const Vec3& center);
  // Scaling by factors[a] along the orthonormal directions `frame` columns
  // (e.g. an image's direction matrix), about `center`.
  static AffineTransform scaling(const Vec3& factors, const Mat3& frame, const Vec3& center);

  KOKKOS_INLINE_FUNCTION Vec3 apply(const Vec3& x) const {
    const Vec3 y = multiply(m_matrix, x);
    return Vec3{y[0] + m_offset[0], y[1] + m_offset[1], y[2] + m_offset[2]};
  }

  const Mat3& matrix() const { return m_matrix; }
  // The t' of y = A x + t' (centre folded in).
  const Vec3& offset() const { return m_offset; }

  // (a * b)(x) = a(b(x)): b first.
  friend AffineTransform operator*(const AffineTransform& a, const AffineTransform& b);
  AffineTransform inverse() const;

 private:
  Mat3 m_matrix;
  Vec3 m_offset;
};

Mat3 multiply(const Mat3& a, const Mat3& b);
Mat3 transpose(const Mat3& m);

}  // namespace medimg
