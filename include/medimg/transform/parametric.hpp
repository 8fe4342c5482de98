// ParametricTransform: the transforms registration optimises, with ITK's
// parameter conventions (so a .tfm file means the same thing to ITK):
//
//   kind         parameters                         ITK class
//   translation  tx ty tz                           TranslationTransform
//   rigid        ax ay az tx ty tz (radians)        Euler3DTransform (R = Rz Rx Ry)
//   similarity   ax ay az tx ty tz s                Euler3D rotation times s
//                                                   (written as AffineTransform)
//   scale        sx sy sz                           ScaleTransform
//   affine       a00 .. a22 (row-major) tx ty tz    AffineTransform
//
// Every kind is y = A(theta) (x - c) + c + t(theta) about a fixed centre c
// (ITK's fixed parameters). Like every medimg transform given to resample,
// it maps OUTPUT (fixed) points to INPUT (moving) points.
//
// gradient() is the chain rule from resample_backward's AffineGradient
// (dL/dA, dL/dt of y = A x + t') to dL/dtheta: a host computation on 12
// numbers, so every kind shares the one device reduction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "medimg/core/geometry.hpp"
#include "medimg/resample/backward.hpp"
#include "medimg/transform/affine.hpp"

namespace medimg {

enum class TransformKind { translation, rigid, similarity, scale, affine };

std::string_view to_string(TransformKind kind);
// "translation" | "rigid" | "similarity" | "scale" | "affine"; throws
// medimg::Error naming the accepted names otherwise.
TransformKind parse_transform_kind(std::string_view name);

class ParametricTransform {
 public:
  // The identity of `kind` about `center`.
  explicit ParametricTransform(TransformKind kind, const Vec3& center = Vec3{0, 0, 0});

  TransformKind kind() const { return m_kind; }
  const Vec3& center() const { return m_center; }
  std::size_t size() const { return m_parameters.size(); }
  const std::vector<double>& parameters() const { return m_parameters; }
  // Throws medimg::Error for a wrong count or non-finite values.
  void set_parameters(const std::vector<double>& parameters);

  // A(theta) and t(theta).
  Mat3 matrix() const;
  Vec3 translation() const;
  AffineTransform affine() const;

  // dL/dtheta from dL/dA and dL/dt' of the same map written y = A x + t'.
  std::vector<double> gradient(const AffineGradient& g) const;

  // `to` initialised from this transform: rigid -> similarity -> affine
  // (and translation -> any) keep the same map; the centre is kept.
  ParametricTransform promoted(TransformKind to) const;

  // ITK's class name and fixed parameters, for .tfm files.
  std::string itk_class() const;
  std::vector<double> itk_parameters() const;
  std::vector<double> itk_fixed_parameters() const;

 private:
  TransformKind m_kind;
  Vec3 m_center;
  std::vector<double> m_parameters;
};

// ITK's Euler3DTransform rotation R = Rz(az) Rx(ax) Ry(ay), and the angles
// of a rotation matrix in that convention.
Mat3 euler_rotation(double ax, double ay, double az);
Vec3 euler_angles(const Mat3& rotation);

}  // namespace medimg
