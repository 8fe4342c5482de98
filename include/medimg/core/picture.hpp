// An 8-bit RGB picture (previews), row-major, top row first, 3 bytes per pixel.
#pragma once

#include <cstdint>
#include <vector>

namespace medimg {

struct RgbPicture {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;
};

}  // namespace medimg
