#include "medimg/ops/preview.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "medimg/core/error.hpp"
#include "medimg/ops/cast.hpp"
#include "medimg/ops/intensity.hpp"
#include "medimg/ops/resample_to_image.hpp"

namespace medimg {

namespace {

constexpr int gap = 4;

// One panel: a one-plane grid in patient space (LPS), pixel (x, y) at
// origin + s (x * right + y * down).
struct Panel {
  Geometry grid;
};

Panel make_panel(const Vec3& center, const Vec3& right, const Vec3& down, double width_mm,
                 double height_mm, double pixel) {
  const auto w = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(width_mm / pixel)));
  const auto h = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(height_mm / pixel)));
  const Vec3 normal{right[1] * down[2] - right[2] * down[1],
                    right[2] * down[0] - right[0] * down[2],
                    right[0] * down[1] - right[1] * down[0]};
  Mat3 direction;
  for (int r = 0; r < 3; ++r) {
    direction[r][0] = right[r];
    direction[r][1] = down[r];
    direction[r][2] = normal[r];
  }
  Vec3 origin;
  for (int r = 0; r < 3; ++r) {
    origin[r] = center[r] - 0.5 * static_cast<double>(w - 1) * pixel * right[r] -
                0.5 * static_cast<double>(h - 1) * pixel * down[r];
  }
  return {Geometry(Size3{w, h, 1}, origin, Vec3{pixel, pixel, pixel}, direction)};
}

std::array<std::uint8_t, 3> label_colour(std::int64_t label) {
  static const std::uint8_t palette[12][3] = {{230, 25, 75},   {60, 180, 75},  {255, 225, 25},
                                              {0, 130, 200},   {245, 130, 48}, {145, 30, 180},
                                              {70, 240, 240},  {240, 50, 230}, {210, 245, 60},
                                              {250, 190, 212}, {0, 128, 128},  {170, 110, 40}};
  const auto c = palette[static_cast<std::uint64_t>(label * 2654435761LL) % 12];
  return {c[0], c[1], c[2]};
}

}  // namespace

RgbPicture render_preview(const AnyImage<DeviceMemory>& image, const PreviewOptions& options,
                          const AnyImage<DeviceMemory>* labels) {
  if (options.panel_pixels < 8 || options.panel_pixels > 4096) {
    throw Error("preview: panel size must be in [8, 4096] pixels");
  }
  const auto values = std::get<Image<float, DeviceMemory>>(cast_to(image, PixelType::float32));
  const Geometry& g = values.geometry();
  // Bounding box of the voxel centres in patient space.
  Vec3 low{1e300, 1e300, 1e300}, high{-1e300, -1e300, -1e300};
  for (int corner = 0; corner < 8; ++corner) {
    const double i = (corner & 1) ? static_cast<double>(g.size()[0] - 1) : 0.0;
    const double j = (corner & 2) ? static_cast<double>(g.size()[1] - 1) : 0.0;
    const double k = (corner & 4) ? static_cast<double>(g.size()[2] - 1) : 0.0;
    const Vec3 p = g.index_to_physical(Vec3{i, j, k});
    for (int a = 0; a < 3; ++a) {
      low[a] = std::min(low[a], p[a]);
      high[a] = std::max(high[a], p[a]);
    }
  }
  Vec3 center, extent;
  double longest = 0.0;
  for (int a = 0; a < 3; ++a) {
    center[a] = 0.5 * (low[a] + high[a]);
    // Voxel centres plus one voxel's worth, so a single slice still shows.
    extent[a] = high[a] - low[a] + std::min({g.spacing()[0], g.spacing()[1], g.spacing()[2]});
    longest = std::max(longest, extent[a]);
  }
  const double pixel = longest / options.panel_pixels;
  // LPS: +x = patient left, +y = posterior, +z = superior.
  const Panel panels[3] = {
      make_panel(center, {1, 0, 0}, {0, 1, 0}, extent[0], extent[1], pixel),   // axial
      make_panel(center, {1, 0, 0}, {0, 0, -1}, extent[0], extent[2], pixel),  // coronal
      make_panel(center, {0, 1, 0}, {0, 0, -1}, extent[1], extent[2], pixel),  // sagittal
  };

  double level = 0.0, width = 1.0;
  if (options.window) {
    level = options.window->first;
    width = options.window->second;
    if (!(width > 0.0)) throw Error("preview: the window width must be positive");
  } else {
    const std::vector<double> q = percentiles(values, {0.5, 99.5});
    const double lo = std::isnan(q[0]) ? 0.0 : q[0];
    const double hi = std::isnan(q[1]) ? 1.0 : q[1];
    level = 0.5 * (lo + hi);
    width = hi > lo ? hi - lo : 1.0;
  }

  RgbPicture picture;
  for (const Panel& p : panels) {
    picture.width += static_cast<int>(p.grid.size()[0]);
    picture.height = std::max(picture.height, static_cast<int>(p.grid.size()[1]));
  }
  picture.width += 2 * gap;
  picture.rgb.assign(static_cast<std::size_t>(picture.width) * picture.height * 3, 0);

  Image<std::int32_t, DeviceMemory> ids;
  if (labels != nullptr) {
    ids = std::get<Image<std::int32_t, DeviceMemory>>(cast_to(*labels, PixelType::int32));
  }
  int x0 = 0;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const Panel& p : panels) {
    const auto plane = to_host(resample_to_image(p.grid, values, Interp::linear, nan));
    Image<std::int32_t, HostMemory> plane_labels;
    if (labels != nullptr) {
      plane_labels = to_host(resample_to_image(p.grid, ids, Interp::nearest, 0.0));
    }
    const int w = static_cast<int>(p.grid.size()[0]), h = static_cast<int>(p.grid.size()[1]);
    const int y0 = (picture.height - h) / 2;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const float v = plane.voxels()(x, y, 0);
        double grey = 0.0;
        if (!std::isnan(v)) {
          grey = std::clamp((v - (level - 0.5 * width)) / width, 0.0, 1.0) * 255.0;
        }
        double rgb[3] = {grey, grey, grey};
        if (labels != nullptr && plane_labels.voxels()(x, y, 0) != 0) {
          const auto c = label_colour(plane_labels.voxels()(x, y, 0));
          for (int ch = 0; ch < 3; ++ch) rgb[ch] = 0.5 * rgb[ch] + 0.5 * c[ch];
        }
        const std::size_t at =
            (static_cast<std::size_t>(y0 + y) * picture.width + static_cast<std::size_t>(x0 + x)) *
            3;
        for (int ch = 0; ch < 3; ++ch) {
          picture.rgb[at + ch] = static_cast<std::uint8_t>(std::lround(rgb[ch]));
        }
      }
    }
    x0 += w + gap;
  }
  return picture;
}

}  // namespace medimg
