#include "medimg/ops/geometry_rules.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "medimg/core/error.hpp"

namespace medimg {

namespace {

const char* const axis_letter[3] = {"i", "j", "k"};

Vec3 point_of_index(const Geometry& g, std::int64_t i, std::int64_t j, std::int64_t k) {
  return g.index_to_physical(
      Vec3{static_cast<double>(i), static_cast<double>(j), static_cast<double>(k)});
}

Vec3 axis_direction(const Geometry& g, Axis axis) {
  const int c = static_cast<int>(axis);
  return Vec3{g.direction()[0][c], g.direction()[1][c], g.direction()[2][c]};
}

}  // namespace

Geometry spacing_grid(const Geometry& g, const Vec3& spacing) {
  Size3 size;
  for (int a = 0; a < 3; ++a) {
    if (!std::isfinite(spacing[a]) || spacing[a] <= 0.0) {
      throw Error("resample: spacing " + to_string(spacing) +
                  " must be finite and > 0 on every axis");
    }
    const double n = std::round(static_cast<double>(g.size()[a]) * g.spacing()[a] / spacing[a]);
    if (!(n < 9.0e15))
      throw Error("resample: spacing " + to_string(spacing) + " gives too many voxels");
    size[a] = std::max<std::int64_t>(1, static_cast<std::int64_t>(n));
  }
  return Geometry(size, g.origin(), spacing, g.direction());
}

Geometry resized_grid(const Geometry& g, const Size3& size) {
  Vec3 spacing;
  Vec3 half_change;
  for (int a = 0; a < 3; ++a) {
    if (size[a] < 1) throw Error("resize: size " + to_string(size) + " must be >= 1 on every axis");
    spacing[a] = g.spacing()[a] * static_cast<double>(g.size()[a]) / static_cast<double>(size[a]);
    half_change[a] = 0.5 * (spacing[a] - g.spacing()[a]);
  }
  const Vec3 shift = multiply(g.direction(), half_change);
  const Vec3 origin{g.origin()[0] + shift[0], g.origin()[1] + shift[1], g.origin()[2] + shift[2]};
  return Geometry(size, origin, spacing, g.direction());
}

Geometry cropped_grid(const Geometry& g, const Size3& start, const Size3& size) {
  for (int a = 0; a < 3; ++a) {
    if (size[a] < 1) throw Error("crop: size " + to_string(size) + " must be >= 1 on every axis");
    if (start[a] < 0 || start[a] + size[a] > g.size()[a]) {
      throw Error("crop: region start " + to_string(start) + " size " + to_string(size) +
                  " lies outside the image of size " + to_string(g.size()) + " along " +
                  axis_letter[a]);
    }
  }
  return region_grid(g, start, size);
}

IndexMapping crop_mapping(const Size3& start) {
  IndexMapping m;
  for (int a = 0; a < 3; ++a) m.first[a] = start[a];
  return m;
}

Geometry padded_grid(const Geometry& g, const Size3& before, const Size3& after) {
  Size3 size;
  for (int a = 0; a < 3; ++a) {
    if (before[a] < 0 || after[a] < 0) {
      throw Error("pad: before " + to_string(before) + " and after " + to_string(after) +
                  " must be >= 0");
    }
    size[a] = g.size()[a] + before[a] + after[a];
  }
  return region_grid(g, Size3{-before[0], -before[1], -before[2]}, size);
}

IndexMapping pad_mapping(const Size3& before) {
  IndexMapping m;
  for (int a = 0; a < 3; ++a) m.first[a] = -before[a];
  return m;
}

Size3 centered_region_start(const Geometry& g, const Size3& size) {
  Size3 start;
  for (int a = 0; a < 3; ++a) {
    if (size[a] < 1) {
      throw Error("crop_or_pad: size " + to_string(size) + " must be >= 1 on every axis");
    }
    const std::int64_t n = g.size()[a];
    start[a] = n >= size[a] ? (n - size[a]) / 2 : -((size[a] - n) / 2);
  }
  return start;
}

IndexMapping flip_mapping(const Geometry& g, Axis axis) {
  IndexMapping m;
  const int a = static_cast<int>(axis);
  m.first[a] = g.size()[a] - 1;
  m.step[a] = -1;
  return m;
}

Reorientation reorientation(const Geometry& g, std::string_view code) {
  const Mat3 target = direction_from_code(code);  // validates the code
  const Mat3 current = direction_from_code(g.orientation_code());
  // current and target are signed permutations: output axis c takes the
  // input axis a pointing along the same physical axis.
  IndexMapping m;
  Size3 size;
  Vec3 spacing;
  Mat3 direction;
  Size3 first_index{0, 0, 0};
  for (int c = 0; c < 3; ++c) {
    int row = 0;
    while (target[row][c] == 0.0) ++row;
    int a = 0;
    while (current[row][a] == 0.0) ++a;
    const bool same_sense = target[row][c] == current[row][a];
    m.source_axis[c] = a;
    m.step[c] = same_sense ? 1 : -1;
    m.first[c] = same_sense ? 0 : g.size()[a] - 1;
    first_index[a] = m.first[c];
    size[c] = g.size()[a];
    spacing[c] = g.spacing()[a];
    for (int r = 0; r < 3; ++r) direction[r][c] = (same_sense ? 1.0 : -1.0) * g.direction()[r][a];
  }
  const Vec3 origin = point_of_index(g, first_index[0], first_index[1], first_index[2]);
  return Reorientation{Geometry(size, origin, spacing, direction), m};
}

AffineTransform rotation_about_center(const Geometry& g, Axis axis, double degrees) {
  if (!std::isfinite(degrees)) {
    throw Error("rotate: angle " + std::to_string(degrees) + " is not a finite number of degrees");
  }
  return AffineTransform::rotation(axis_direction(g, axis), -degrees, g.center());
}

Geometry expanded_grid(const Geometry& g, Axis axis, double degrees) {
  // Where the rotated voxel centres of the 8 corners land, in g's index frame.
  const AffineTransform forward = rotation_about_center(g, axis, degrees).inverse();
  Vec3 low{1e300, 1e300, 1e300};
  Vec3 high{-1e300, -1e300, -1e300};
  for (int corner = 0; corner < 8; ++corner) {
    const Vec3 p =
        point_of_index(g, (corner & 1) ? g.size()[0] - 1 : 0, (corner & 2) ? g.size()[1] - 1 : 0,
                       (corner & 4) ? g.size()[2] - 1 : 0);
    const Vec3 c = g.physical_to_continuous_index(forward.apply(p));
    for (int a = 0; a < 3; ++a) {
      low[a] = std::min(low[a], c[a]);
      high[a] = std::max(high[a], c[a]);
    }
  }
  Size3 size;
  Vec3 half_extent;
  for (int a = 0; a < 3; ++a) {
    size[a] = std::max<std::int64_t>(
        g.size()[a], static_cast<std::int64_t>(std::ceil(high[a] - low[a] - 1e-9)) + 1);
    half_extent[a] = 0.5 * static_cast<double>(size[a] - 1) * g.spacing()[a];
  }
  const Vec3 center = g.center();
  const Vec3 offset = multiply(g.direction(), half_extent);
  return Geometry(size, Vec3{center[0] - offset[0], center[1] - offset[1], center[2] - offset[2]},
                  g.spacing(), g.direction());
}

AffineTransform zoom_about_center(const Geometry& g, const Vec3& factors) {
  Vec3 inverse_factors;
  for (int a = 0; a < 3; ++a) {
    if (!std::isfinite(factors[a]) || factors[a] <= 0.0) {
      throw Error("scale: factor " + to_string(factors) + " must be finite and > 0 on every axis");
    }
    inverse_factors[a] = 1.0 / factors[a];
  }
  return AffineTransform::scaling(inverse_factors, g.direction(), g.center());
}

Axis parse_axis(std::string_view name) {
  if (name == "i" || name == "x") return Axis::i;
  if (name == "j" || name == "y") return Axis::j;
  if (name == "k" || name == "z") return Axis::k;
  throw Error("unknown axis '" + std::string(name) + "': use x, y or z (the image's i, j, k)");
}

}  // namespace medimg
