// Geometry: where a voxel grid sits in physical (LPS, millimetre) space, with
// ITK's semantics: p = origin + D * diag(spacing) * index, index 0-based, the
// origin is the centre of voxel (0,0,0), and the COLUMNS of the direction
// matrix D are the physical directions of the i, j, k axes.
//
// D is stored row-major: direction()[r][c] is row r, column c. A Geometry is
// validated when it is built (see the constructor) and is trivially copyable,
// so kernels capture it by value and call its KOKKOS_INLINE_FUNCTIONs.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace medimg {

// An image's own index axes (the CLI's x, y, z).
enum class Axis { i = 0, j = 1, k = 2 };

using Vec3 = Kokkos::Array<double, 3>;
using Size3 = Kokkos::Array<std::int64_t, 3>;
// Row-major 3x3 matrix: m[r][c].
using Mat3 = Kokkos::Array<Vec3, 3>;

KOKKOS_INLINE_FUNCTION constexpr Mat3 identity_matrix() {
  return Mat3{Vec3{1.0, 0.0, 0.0}, Vec3{0.0, 1.0, 0.0}, Vec3{0.0, 0.0, 1.0}};
}

KOKKOS_INLINE_FUNCTION Vec3 multiply(const Mat3& m, const Vec3& v) {
  return Vec3{m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
              m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
              m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2]};
}

// Determinant and inverse of a 3x3 matrix (cofactor formula). The inverse of
// a singular matrix is not defined: callers check the determinant first.
double determinant(const Mat3& m);
Mat3 inverse(const Mat3& m);

class Geometry {
 public:
  // 1x1x1 voxel of 1 mm at the origin, identity direction ("LPS").
  Geometry();

  // Validates and throws medimg::Error naming the field that is wrong:
  // every size >= 1 and the voxel count fits std::int64_t; every spacing
  // finite and > 0; origin finite; direction finite, non-singular and
  // orthonormal within 1e-4 (max |D^T D - I|).
  Geometry(const Size3& size, const Vec3& origin, const Vec3& spacing,
           const Mat3& direction = identity_matrix());

  KOKKOS_INLINE_FUNCTION const Size3& size() const { return m_size; }
  KOKKOS_INLINE_FUNCTION const Vec3& origin() const { return m_origin; }
  KOKKOS_INLINE_FUNCTION const Vec3& spacing() const { return m_spacing; }
  KOKKOS_INLINE_FUNCTION const Mat3& direction() const { return m_direction; }
  KOKKOS_INLINE_FUNCTION std::int64_t voxel_count() const {
    return m_size[0] * m_size[1] * m_size[2];
  }

  // Physical point of a (continuous) index.
  KOKKOS_INLINE_FUNCTION Vec3 index_to_physical(const Vec3& index) const {
    const Vec3 offset = multiply(m_index_to_physical, index);
    return Vec3{m_origin[0] + offset[0], m_origin[1] + offset[1], m_origin[2] + offset[2]};
  }

  // Continuous index of a physical point (ITK's
  // TransformPhysicalPointToContinuousIndex).
  KOKKOS_INLINE_FUNCTION Vec3 physical_to_continuous_index(const Vec3& point) const {
    return multiply(m_physical_to_index,
                    Vec3{point[0] - m_origin[0], point[1] - m_origin[1], point[2] - m_origin[2]});
  }

  // ITK's IsInsideBuffer for a continuous index: -0.5 <= c < size - 0.5.
  KOKKOS_INLINE_FUNCTION bool is_inside(const Vec3& index) const {
    for (int a = 0; a < 3; ++a) {
      if (!(index[a] >= -0.5 && index[a] < static_cast<double>(m_size[a]) - 0.5)) return false;
    }
    return true;
  }

  // D * diag(spacing) and its inverse.
  KOKKOS_INLINE_FUNCTION const Mat3& index_to_physical_matrix() const {
    return m_index_to_physical;
  }
  KOKKOS_INLINE_FUNCTION const Mat3& physical_to_index_matrix() const {
    return m_physical_to_index;
  }

  // Physical point of the grid's centre: index (size - 1) / 2.
  Vec3 center() const;

  // Three letters naming where the i, j, k axes point (L/R, P/A, S/I), e.g.
  // identity = "LPS", diag(-1,-1,1) = "RAS" (nibabel's aff2axcodes). An
  // oblique matrix gets the code of its dominant components, each physical
  // axis used once (largest |D[r][c]| first).
  std::string orientation_code() const;

  // True when both grids have the same size and their origin, spacing and
  // direction agree within `tolerance`.
  bool same_grid(const Geometry& other, double tolerance = 1e-6) const;

 private:
  Size3 m_size;
  Vec3 m_origin;
  Vec3 m_spacing;
  Mat3 m_direction;
  Mat3 m_index_to_physical;
  Mat3 m_physical_to_index;
};

// The direction matrix of an orientation code: any of the 48 codes made of
// one letter from each of {L,R}, {P,A}, {S,I} in any order (case-insensitive).
// Throws medimg::Error for anything else.
Mat3 direction_from_code(std::string_view code);

// The code of a direction matrix (see Geometry::orientation_code).
std::string orientation_code(const Mat3& direction);

// The grid of voxels [start, start + size) of g (start may be negative, the
// region may reach past g): same spacing and direction, origin at the point
// of index `start`. Crops, pads and their fused forms all place grids so.
Geometry region_grid(const Geometry& g, const Size3& start, const Size3& size);

// "[a, b, c]" with enough digits to round-trip, for messages and `info`.
std::string to_string(const Vec3& v);
std::string to_string(const Size3& v);

}  // namespace medimg
