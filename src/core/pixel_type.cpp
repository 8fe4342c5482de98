#include "medimg/core/pixel_type.hpp"

#include <string>

#include "medimg/core/error.hpp"

namespace medimg {

std::string_view to_string(PixelType type) {
  switch (type) {
    case PixelType::uint8: return "uint8";
    case PixelType::int16: return "int16";
    case PixelType::uint16: return "uint16";
    case PixelType::int32: return "int32";
    case PixelType::float32: return "float32";
    case PixelType::float64: break;
  }
  return "float64";
}

PixelType parse_pixel_type(std::string_view name) {
  struct Alias {
    std::string_view name;
    PixelType type;
  };
  static constexpr Alias aliases[] = {
      {"uint8", PixelType::uint8},     {"uchar", PixelType::uint8},
      {"int16", PixelType::int16},     {"short", PixelType::int16},
      {"uint16", PixelType::uint16},   {"ushort", PixelType::uint16},
      {"int32", PixelType::int32},     {"int", PixelType::int32},
      {"float32", PixelType::float32}, {"float", PixelType::float32},
      {"float64", PixelType::float64}, {"double", PixelType::float64},
  };
  for (const Alias& alias : aliases) {
    if (alias.name == name) return alias.type;
  }
  throw Error("unsupported pixel type '" + std::string(name) +
              "': use uint8, int16, uint16, int32, float32 or float64");
}

}  // namespace medimg
