#include "medimg/register/registration.hpp"

#include <algorithm>

namespace medimg {

std::string_view to_string(Metric metric) {
  switch (metric) {
    case Metric::mse: return "mse";
    case Metric::ncc: return "ncc";
    case Metric::mattes: return "mattes";
  }
  return "?";
}

Metric parse_metric(std::string_view name) {
  for (Metric m : {Metric::mse, Metric::ncc, Metric::mattes}) {
    if (name == to_string(m)) return m;
  }
  throw Error("unknown metric '" + std::string(name) + "': use mse, ncc or mattes");
}

Geometry shrunk_grid(const Geometry& g, int factor) {
  if (factor < 1) throw Error("shrink factor must be >= 1");
  Size3 size;
  Vec3 spacing, first;
  for (int a = 0; a < 3; ++a) {
    size[a] = std::max<std::int64_t>(1, g.size()[a] / factor);
    spacing[a] = g.spacing()[a] * factor;
    first[a] = 0.5 * (factor - 1) + 0.5 * static_cast<double>(g.size()[a] - factor * size[a]);
  }
  return Geometry(size, g.index_to_physical(first), spacing, g.direction());
}

ParametricTransform centered_initial_transform(TransformKind kind, const Geometry& fixed,
                                               const Geometry& moving) {
  const Vec3 cf = fixed.center(), cm = moving.center();
  ParametricTransform translation(TransformKind::translation, cf);
  translation.set_parameters({cm[0] - cf[0], cm[1] - cf[1], cm[2] - cf[2]});
  if (kind == TransformKind::translation) return translation;
  if (kind == TransformKind::scale) return ParametricTransform(TransformKind::scale, cf);
  return translation.promoted(kind);
}

}  // namespace medimg
