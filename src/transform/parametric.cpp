#include "medimg/transform/parametric.hpp"

#include <cmath>

#include "medimg/core/error.hpp"

namespace medimg {

namespace {

Mat3 zero_matrix() {
  return Mat3{};
}

// The rotation by angle a about coordinate axis `axis` (right-hand rule),
// or with derivative = true its derivative d/da: the same matrix at a + 90
// degrees without the 1 on the axis.
Mat3 elementary(int axis, double a, bool derivative = false) {
  constexpr double quarter_turn = 1.57079632679489661923;
  const double c = std::cos(derivative ? a + quarter_turn : a);
  const double s = std::sin(derivative ? a + quarter_turn : a);
  const int u = (axis + 1) % 3, v = (axis + 2) % 3;  // the plane rotated, in order
  Mat3 m = zero_matrix();
  if (!derivative) m[axis][axis] = 1.0;
  m[u][u] = c;
  m[u][v] = -s;
  m[v][u] = s;
  m[v][v] = c;
  return m;
}
Mat3 rotation_x(double a) {
  return elementary(0, a);
}
Mat3 rotation_y(double a) {
  return elementary(1, a);
}
Mat3 rotation_z(double a) {
  return elementary(2, a);
}
Mat3 rotation_x_derivative(double a) {
  return elementary(0, a, true);
}
Mat3 rotation_y_derivative(double a) {
  return elementary(1, a, true);
}
Mat3 rotation_z_derivative(double a) {
  return elementary(2, a, true);
}

double contract(const Mat3& a, const Mat3& b) {
  double sum = 0.0;
  for (int r = 0; r < 3; ++r) {
    for (int s = 0; s < 3; ++s) sum += a[r][s] * b[r][s];
  }
  return sum;
}

Mat3 scaled(const Mat3& m, double f) {
  Mat3 out = m;
  for (int r = 0; r < 3; ++r) {
    for (int s = 0; s < 3; ++s) out[r][s] *= f;
  }
  return out;
}

std::size_t parameter_count(TransformKind kind) {
  switch (kind) {
    case TransformKind::translation: return 3;
    case TransformKind::rigid: return 6;
    case TransformKind::similarity: return 7;
    case TransformKind::scale: return 3;
    case TransformKind::affine: return 12;
  }
  return 0;
}

}  // namespace

Mat3 euler_rotation(double ax, double ay, double az) {
  return multiply(rotation_z(az), multiply(rotation_x(ax), rotation_y(ay)));
}

Vec3 euler_angles(const Mat3& r) {
  // R = Rz Rx Ry: r[2][1] = sin(ax), r[2][0] = -cos(ax) sin(ay),
  // r[2][2] = cos(ax) cos(ay), r[0][1] = -sin(az) cos(ax), r[1][1] = cos(az) cos(ax).
  const double ax = std::asin(std::fmax(-1.0, std::fmin(1.0, r[2][1])));
  const double ay = std::atan2(-r[2][0], r[2][2]);
  const double az = std::atan2(-r[0][1], r[1][1]);
  return Vec3{ax, ay, az};
}

std::string_view to_string(TransformKind kind) {
  switch (kind) {
    case TransformKind::translation: return "translation";
    case TransformKind::rigid: return "rigid";
    case TransformKind::similarity: return "similarity";
    case TransformKind::scale: return "scale";
    case TransformKind::affine: return "affine";
  }
  return "?";
}

TransformKind parse_transform_kind(std::string_view name) {
  for (TransformKind kind :
       {TransformKind::translation, TransformKind::rigid, TransformKind::similarity,
        TransformKind::scale, TransformKind::affine}) {
    if (name == to_string(kind)) return kind;
  }
  throw Error("unknown transform '" + std::string(name) +
              "': use translation, rigid, similarity, scale or affine");
}

ParametricTransform::ParametricTransform(TransformKind kind, const Vec3& center)
    : m_kind(kind), m_center(center), m_parameters(parameter_count(kind), 0.0) {
  if (kind == TransformKind::similarity) m_parameters[6] = 1.0;
  if (kind == TransformKind::scale) m_parameters = {1.0, 1.0, 1.0};
  if (kind == TransformKind::affine) {
    m_parameters[0] = m_parameters[4] = m_parameters[8] = 1.0;
  }
}

void ParametricTransform::set_parameters(const std::vector<double>& parameters) {
  if (parameters.size() != m_parameters.size()) {
    throw Error("a " + std::string(to_string(m_kind)) + " transform has " +
                std::to_string(m_parameters.size()) + " parameters, not " +
                std::to_string(parameters.size()));
  }
  for (double v : parameters) {
    if (!std::isfinite(v)) throw Error("transform parameters must be finite");
  }
  m_parameters = parameters;
}

Mat3 ParametricTransform::matrix() const {
  const std::vector<double>& p = m_parameters;
  switch (m_kind) {
    case TransformKind::translation: return identity_matrix();
    case TransformKind::rigid: return euler_rotation(p[0], p[1], p[2]);
    case TransformKind::similarity: return scaled(euler_rotation(p[0], p[1], p[2]), p[6]);
    case TransformKind::scale: {
      Mat3 m = zero_matrix();
      for (int a = 0; a < 3; ++a) m[a][a] = p[static_cast<std::size_t>(a)];
      return m;
    }
    case TransformKind::affine: {
      Mat3 m;
      for (int r = 0; r < 3; ++r) {
        for (int s = 0; s < 3; ++s) m[r][s] = p[static_cast<std::size_t>(3 * r + s)];
      }
      return m;
    }
  }
  return identity_matrix();
}

Vec3 ParametricTransform::translation() const {
  const std::vector<double>& p = m_parameters;
  switch (m_kind) {
    case TransformKind::translation: return Vec3{p[0], p[1], p[2]};
    case TransformKind::rigid:
    case TransformKind::similarity: return Vec3{p[3], p[4], p[5]};
    case TransformKind::scale: return Vec3{0, 0, 0};
    case TransformKind::affine: return Vec3{p[9], p[10], p[11]};
  }
  return Vec3{0, 0, 0};
}

AffineTransform ParametricTransform::affine() const {
  return AffineTransform(matrix(), translation(), m_center);
}

std::vector<double> ParametricTransform::gradient(const AffineGradient& g) const {
  // y = A x + t' with t' = t + c - A c: dL/dA|centred = dL/dA - dL/dt' c^T.
  Mat3 da = g.matrix;
  for (int r = 0; r < 3; ++r) {
    for (int s = 0; s < 3; ++s) da[r][s] -= g.offset[r] * m_center[s];
  }
  const Vec3& dt = g.offset;
  const std::vector<double>& p = m_parameters;
  std::vector<double> out(m_parameters.size(), 0.0);
  switch (m_kind) {
    case TransformKind::translation:
      for (std::size_t a = 0; a < 3; ++a) out[a] = dt[static_cast<int>(a)];
      break;
    case TransformKind::rigid:
    case TransformKind::similarity: {
      const double s = m_kind == TransformKind::similarity ? p[6] : 1.0;
      const Mat3 rx = rotation_x(p[0]), ry = rotation_y(p[1]), rz = rotation_z(p[2]);
      out[0] = s * contract(da, multiply(rz, multiply(rotation_x_derivative(p[0]), ry)));
      out[1] = s * contract(da, multiply(rz, multiply(rx, rotation_y_derivative(p[1]))));
      out[2] = s * contract(da, multiply(rotation_z_derivative(p[2]), multiply(rx, ry)));
      for (std::size_t a = 0; a < 3; ++a) out[3 + a] = dt[static_cast<int>(a)];
      if (m_kind == TransformKind::similarity) {
        out[6] = contract(da, multiply(rz, multiply(rx, ry)));
      }
      break;
    }
    case TransformKind::scale:
      for (int a = 0; a < 3; ++a) out[static_cast<std::size_t>(a)] = da[a][a];
      break;
    case TransformKind::affine:
      for (int r = 0; r < 3; ++r) {
        for (int s = 0; s < 3; ++s) out[static_cast<std::size_t>(3 * r + s)] = da[r][s];
        out[static_cast<std::size_t>(9 + r)] = dt[r];
      }
      break;
  }
  return out;
}

ParametricTransform ParametricTransform::promoted(TransformKind to) const {
  ParametricTransform out(to, m_center);
  if (to == m_kind) {
    out.m_parameters = m_parameters;
    return out;
  }
  const Mat3 a = matrix();
  const Vec3 t = translation();
  const std::vector<double>& p = m_parameters;
  std::vector<double> q = out.m_parameters;
  if (to == TransformKind::affine) {
    for (int r = 0; r < 3; ++r) {
      for (int s = 0; s < 3; ++s) q[static_cast<std::size_t>(3 * r + s)] = a[r][s];
      q[static_cast<std::size_t>(9 + r)] = t[r];
    }
  } else if (to == TransformKind::similarity && m_kind == TransformKind::rigid) {
    for (std::size_t n = 0; n < 6; ++n) q[n] = p[n];
  } else if ((to == TransformKind::rigid || to == TransformKind::similarity) &&
             m_kind == TransformKind::translation) {
    for (std::size_t n = 0; n < 3; ++n) q[3 + n] = p[n];
  } else {
    throw Error("cannot initialise a " + std::string(to_string(to)) + " transform from a " +
                std::string(to_string(m_kind)) + " transform");
  }
  out.m_parameters = q;
  return out;
}

std::string ParametricTransform::itk_class() const {
  switch (m_kind) {
    case TransformKind::translation: return "TranslationTransform_double_3_3";
    case TransformKind::rigid: return "Euler3DTransform_double_3_3";
    case TransformKind::scale: return "ScaleTransform_double_3_3";
    case TransformKind::similarity:
    case TransformKind::affine: return "AffineTransform_double_3_3";
  }
  return "";
}

std::vector<double> ParametricTransform::itk_parameters() const {
  if (m_kind == TransformKind::similarity) return promoted(TransformKind::affine).m_parameters;
  return m_parameters;
}

std::vector<double> ParametricTransform::itk_fixed_parameters() const {
  switch (m_kind) {
    case TransformKind::translation: return {};
    case TransformKind::rigid: return {m_center[0], m_center[1], m_center[2], 0.0};
    case TransformKind::scale:
    case TransformKind::similarity:
    case TransformKind::affine: return {m_center[0], m_center[1], m_center[2]};
  }
  return {};
}

}  // namespace medimg
