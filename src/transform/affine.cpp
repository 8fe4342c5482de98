#include "medimg/transform/affine.hpp"

#include <cmath>
#include <string>

#include "medimg/core/error.hpp"

namespace medimg {

Mat3 multiply(const Mat3& a, const Mat3& b) {
  Mat3 r;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      r[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
    }
  }
  return r;
}

Mat3 transpose(const Mat3& m) {
  Mat3 r;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) r[i][j] = m[j][i];
  }
  return r;
}

AffineTransform::AffineTransform() : m_matrix(identity_matrix()), m_offset{0.0, 0.0, 0.0} {}

AffineTransform::AffineTransform(const Mat3& matrix, const Vec3& translation, const Vec3& center)
    : m_matrix(matrix) {
  for (int r = 0; r < 3; ++r) {
    if (!std::isfinite(translation[r]) || !std::isfinite(center[r])) {
      throw Error("invalid transform: translation " + to_string(translation) + " or centre " +
                  to_string(center) + " is not finite");
    }
    for (int c = 0; c < 3; ++c) {
      if (!std::isfinite(matrix[r][c])) throw Error("invalid transform: matrix is not finite");
    }
  }
  if (std::abs(determinant(matrix)) < 1e-12) {
    throw Error("invalid transform: the matrix is singular");
  }
  const Vec3 ac = medimg::multiply(matrix, center);
  for (int r = 0; r < 3; ++r) m_offset[r] = translation[r] + center[r] - ac[r];
}

AffineTransform AffineTransform::from_3x4(const std::array<double, 12>& m, const Vec3& center) {
  return AffineTransform(
      Mat3{Vec3{m[0], m[1], m[2]}, Vec3{m[4], m[5], m[6]}, Vec3{m[8], m[9], m[10]}},
      Vec3{m[3], m[7], m[11]}, center);
}

AffineTransform AffineTransform::from_4x4(const std::array<double, 16>& m, const Vec3& center) {
  if (m[12] != 0.0 || m[13] != 0.0 || m[14] != 0.0 || m[15] != 1.0) {
    throw Error("invalid transform: the last row of a 4x4 affine matrix must be 0 0 0 1");
  }
  std::array<double, 12> rows;
  for (int r = 0; r < 12; ++r) rows[static_cast<std::size_t>(r)] = m[static_cast<std::size_t>(r)];
  return from_3x4(rows, center);
}

AffineTransform AffineTransform::translation(const Vec3& offset) {
  return AffineTransform(identity_matrix(), offset);
}

AffineTransform AffineTransform::rotation(const Vec3& axis, double degrees, const Vec3& center) {
  if (!std::isfinite(degrees)) {
    throw Error("invalid rotation: angle " + std::to_string(degrees) + " is not finite");
  }
  const double norm = std::sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
  if (!(norm > 0.0) || !std::isfinite(norm))
    throw Error("invalid rotation: zero or non-finite axis");
  const double x = axis[0] / norm, y = axis[1] / norm, z = axis[2] / norm;
  const double a = degrees * 3.14159265358979323846 / 180.0;
  const double c = std::cos(a), s = std::sin(a), t = 1.0 - c;
  const Mat3 r{Vec3{t * x * x + c, t * x * y - s * z, t * x * z + s * y},
               Vec3{t * x * y + s * z, t * y * y + c, t * y * z - s * x},
               Vec3{t * x * z - s * y, t * y * z + s * x, t * z * z + c}};
  return AffineTransform(r, Vec3{0.0, 0.0, 0.0}, center);
}

AffineTransform AffineTransform::scaling(const Vec3& factors, const Mat3& frame,
                                         const Vec3& center) {
  for (int a = 0; a < 3; ++a) {
    if (!std::isfinite(factors[a]) || factors[a] <= 0.0) {
      throw Error("invalid scale factor " + to_string(factors) + ": each must be finite and > 0");
    }
  }
  Mat3 scaled = frame;  // frame * diag(factors) * frame^T
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) scaled[r][c] = frame[r][c] * factors[c];
  }
  return AffineTransform(multiply(scaled, transpose(frame)), Vec3{0.0, 0.0, 0.0}, center);
}

AffineTransform operator*(const AffineTransform& a, const AffineTransform& b) {
  AffineTransform r;
  r.m_matrix = multiply(a.m_matrix, b.m_matrix);
  const Vec3 ab = medimg::multiply(a.m_matrix, b.m_offset);
  for (int i = 0; i < 3; ++i) r.m_offset[i] = ab[i] + a.m_offset[i];
  return r;
}

AffineTransform AffineTransform::inverse() const {
  AffineTransform r;
  r.m_matrix = medimg::inverse(m_matrix);
  const Vec3 back = medimg::multiply(r.m_matrix, m_offset);
  for (int i = 0; i < 3; ++i) r.m_offset[i] = -back[i];
  return r;
}

}  // namespace medimg
