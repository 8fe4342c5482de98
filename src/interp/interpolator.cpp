#include "medimg/interp/interpolator.hpp"

#include <string>

#include "medimg/core/error.hpp"

namespace medimg {

std::string_view to_string(Interp interp) {
  switch (interp) {
    case Interp::nearest: return "nearest";
    case Interp::linear: return "linear";
    case Interp::bspline: break;
  }
  return "bspline";
}

Interp parse_interp(std::string_view name) {
  if (name == "nearest") return Interp::nearest;
  if (name == "linear") return Interp::linear;
  if (name == "bspline" || name == "bspline3" || name == "cubic") return Interp::bspline;
  throw Error("unknown interpolator '" + std::string(name) + "': use nearest, linear or bspline");
}

}  // namespace medimg
