#include "medimg/core/geometry.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>

#include "medimg/core/error.hpp"

namespace medimg {

namespace {

const char* const axis_names[3] = {"i", "j", "k"};
// Letter of the positive and negative direction of each physical LPS axis.
const char positive_letter[3] = {'L', 'P', 'S'};
const char negative_letter[3] = {'R', 'A', 'I'};

// Shortest text that reads back as the same double (0.9, not 0.90000000000000002).
std::string format_number(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string format_matrix(const Mat3& m) {
  std::ostringstream out;
  out << "[" << to_string(m[0]) << ", " << to_string(m[1]) << ", " << to_string(m[2]) << "]";
  return out.str();
}

void validate_size(const Size3& size) {
  std::int64_t count = 1;
  for (int a = 0; a < 3; ++a) {
    if (size[a] < 1) {
      throw Error("invalid geometry: size along " + std::string(axis_names[a]) + " is " +
                  std::to_string(size[a]) + ", must be >= 1");
    }
    if (__builtin_mul_overflow(count, size[a], &count)) {
      throw Error("invalid geometry: size " + to_string(size) +
                  " has more voxels than fit a 64-bit count");
    }
  }
}

void validate_spacing(const Vec3& spacing) {
  for (int a = 0; a < 3; ++a) {
    if (!std::isfinite(spacing[a]) || spacing[a] <= 0.0) {
      throw Error("invalid geometry: spacing along " + std::string(axis_names[a]) + " is " +
                  format_number(spacing[a]) + ", must be finite and > 0");
    }
  }
}

void validate_direction(const Mat3& d) {
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      if (!std::isfinite(d[r][c])) {
        throw Error("invalid geometry: direction " + format_matrix(d) + " has a non-finite entry");
      }
    }
  }
  if (std::abs(determinant(d)) < 1e-6) {
    throw Error("invalid geometry: direction " + format_matrix(d) + " is singular");
  }
  double worst = 0.0;
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 3; ++b) {
      double dot = 0.0;
      for (int r = 0; r < 3; ++r) dot += d[r][a] * d[r][b];
      worst = std::max(worst, std::abs(dot - (a == b ? 1.0 : 0.0)));
    }
  }
  if (worst > 1e-4) {
    throw Error("invalid geometry: direction " + format_matrix(d) +
                " is not orthonormal (max |D^T D - I| = " + format_number(worst) + " > 1e-4)");
  }
}

}  // namespace

double determinant(const Mat3& m) {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
         m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

Mat3 inverse(const Mat3& m) {
  const double inv_det = 1.0 / determinant(m);
  Mat3 r;
  r[0][0] = (m[1][1] * m[2][2] - m[1][2] * m[2][1]) * inv_det;
  r[0][1] = (m[0][2] * m[2][1] - m[0][1] * m[2][2]) * inv_det;
  r[0][2] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) * inv_det;
  r[1][0] = (m[1][2] * m[2][0] - m[1][0] * m[2][2]) * inv_det;
  r[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) * inv_det;
  r[1][2] = (m[0][2] * m[1][0] - m[0][0] * m[1][2]) * inv_det;
  r[2][0] = (m[1][0] * m[2][1] - m[1][1] * m[2][0]) * inv_det;
  r[2][1] = (m[0][1] * m[2][0] - m[0][0] * m[2][1]) * inv_det;
  r[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) * inv_det;
  return r;
}

Geometry::Geometry()
    : Geometry(Size3{1, 1, 1}, Vec3{0.0, 0.0, 0.0}, Vec3{1.0, 1.0, 1.0}, identity_matrix()) {}

Geometry::Geometry(const Size3& size, const Vec3& origin, const Vec3& spacing,
                   const Mat3& direction)
    : m_size(size), m_origin(origin), m_spacing(spacing), m_direction(direction) {
  validate_size(size);
  validate_spacing(spacing);
  for (int a = 0; a < 3; ++a) {
    if (!std::isfinite(origin[a])) {
      throw Error("invalid geometry: origin " + to_string(origin) + " is not finite");
    }
  }
  validate_direction(direction);
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) m_index_to_physical[r][c] = direction[r][c] * spacing[c];
  }
  m_physical_to_index = inverse(m_index_to_physical);
}

Vec3 Geometry::center() const {
  return index_to_physical(Vec3{0.5 * static_cast<double>(m_size[0] - 1),
                                0.5 * static_cast<double>(m_size[1] - 1),
                                0.5 * static_cast<double>(m_size[2] - 1)});
}

std::string Geometry::orientation_code() const {
  return medimg::orientation_code(m_direction);
}

bool Geometry::same_grid(const Geometry& other, double tolerance) const {
  for (int a = 0; a < 3; ++a) {
    if (m_size[a] != other.m_size[a]) return false;
    if (std::abs(m_origin[a] - other.m_origin[a]) > tolerance) return false;
    if (std::abs(m_spacing[a] - other.m_spacing[a]) > tolerance) return false;
    for (int c = 0; c < 3; ++c) {
      if (std::abs(m_direction[a][c] - other.m_direction[a][c]) > tolerance) return false;
    }
  }
  return true;
}

Geometry region_grid(const Geometry& g, const Size3& start, const Size3& size) {
  const Vec3 origin = g.index_to_physical(Vec3{
      static_cast<double>(start[0]), static_cast<double>(start[1]), static_cast<double>(start[2])});
  return Geometry(size, origin, g.spacing(), g.direction());
}

std::string orientation_code(const Mat3& direction) {
  // Greedy assignment: the largest remaining |D[r][c]| fixes index axis c to
  // physical axis r, so an oblique matrix still yields a permutation.
  std::string code(3, '?');
  bool row_used[3] = {false, false, false};
  bool column_used[3] = {false, false, false};
  for (int step = 0; step < 3; ++step) {
    int best_r = -1;
    int best_c = -1;
    double best = -1.0;
    for (int c = 0; c < 3; ++c) {
      if (column_used[c]) continue;
      for (int r = 0; r < 3; ++r) {
        if (!row_used[r] && std::abs(direction[r][c]) > best) {
          best = std::abs(direction[r][c]);
          best_r = r;
          best_c = c;
        }
      }
    }
    row_used[best_r] = true;
    column_used[best_c] = true;
    code[static_cast<std::size_t>(best_c)] =
        direction[best_r][best_c] >= 0.0 ? positive_letter[best_r] : negative_letter[best_r];
  }
  return code;
}

Mat3 direction_from_code(std::string_view code) {
  const std::string what = "orientation code '" + std::string(code) + "'";
  if (code.size() != 3) {
    throw Error("invalid " + what + ": needs 3 letters, one of L/R, P/A, S/I each");
  }
  Mat3 d{Vec3{0.0, 0.0, 0.0}, Vec3{0.0, 0.0, 0.0}, Vec3{0.0, 0.0, 0.0}};
  bool row_used[3] = {false, false, false};
  for (int c = 0; c < 3; ++c) {
    const char letter = static_cast<char>(
        std::toupper(static_cast<unsigned char>(code[static_cast<std::size_t>(c)])));
    int row = -1;
    double sign = 0.0;
    for (int r = 0; r < 3; ++r) {
      if (letter == positive_letter[r]) {
        row = r;
        sign = 1.0;
      } else if (letter == negative_letter[r]) {
        row = r;
        sign = -1.0;
      }
    }
    if (row < 0) {
      throw Error("invalid " + what + ": '" + std::string(1, letter) +
                  "' is not one of L, R, P, A, S, I");
    }
    if (row_used[row]) {
      throw Error("invalid " + what + ": two letters name the same axis (" +
                  std::string(1, positive_letter[row]) + "/" +
                  std::string(1, negative_letter[row]) + ")");
    }
    row_used[row] = true;
    d[row][c] = sign;
  }
  return d;
}

std::string to_string(const Vec3& v) {
  return "[" + format_number(v[0]) + ", " + format_number(v[1]) + ", " + format_number(v[2]) + "]";
}

std::string to_string(const Size3& v) {
  return "[" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ", " + std::to_string(v[2]) +
         "]";
}

}  // namespace medimg
