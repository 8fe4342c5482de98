// The voxel types medimg images hold, with their names ("uint8", "int16",
// "uint16", "int32", "float32", "float64") as the CLI and `info` print them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace medimg {

enum class PixelType { uint8, int16, uint16, int32, float32, float64 };

template <class T>
struct is_pixel_type
    : std::bool_constant<std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int16_t> ||
                         std::is_same_v<T, std::uint16_t> || std::is_same_v<T, std::int32_t> ||
                         std::is_same_v<T, float> || std::is_same_v<T, double>> {};

template <class T>
constexpr PixelType pixel_type_of() {
  static_assert(is_pixel_type<T>::value,
                "medimg images hold uint8, int16, uint16, int32, float or double");
  if constexpr (std::is_same_v<T, std::uint8_t>) return PixelType::uint8;
  if constexpr (std::is_same_v<T, std::int16_t>) return PixelType::int16;
  if constexpr (std::is_same_v<T, std::uint16_t>) return PixelType::uint16;
  if constexpr (std::is_same_v<T, std::int32_t>) return PixelType::int32;
  if constexpr (std::is_same_v<T, float>) return PixelType::float32;
  if constexpr (std::is_same_v<T, double>) return PixelType::float64;
}

std::string_view to_string(PixelType type);

// Accepts the names above plus the aliases float, double, short, ushort,
// uchar, int; throws medimg::Error naming the accepted names otherwise.
PixelType parse_pixel_type(std::string_view name);

// Calls f(T{}) with the C++ type of `type`.
template <class F>
decltype(auto) visit_pixel_type(PixelType type, F&& f) {
  switch (type) {
    case PixelType::uint8: return f(std::uint8_t{});
    case PixelType::int16: return f(std::int16_t{});
    case PixelType::uint16: return f(std::uint16_t{});
    case PixelType::int32: return f(std::int32_t{});
    case PixelType::float32: return f(float{});
    case PixelType::float64: break;
  }
  return f(double{});
}

// Bytes per voxel.
inline std::size_t pixel_size(PixelType type) {
  return visit_pixel_type(type, [](auto zero) { return sizeof(zero); });
}

}  // namespace medimg
