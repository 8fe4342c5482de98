// render_preview(image): the axial, coronal and sagittal planes through the
// physical centre of the image, side by side, as an 8-bit RGB picture.
//
// - Planes are resampled (linear, on the device) onto square pixels in
//   patient space, so the physical aspect ratio is respected and oblique
//   images show true axial/coronal/sagittal planes. The longest physical
//   extent of the image spans `panel_pixels` pixels.
// - Radiological convention: the patient's right is on the picture's left
//   (axial, coronal); anterior is up in the axial panel, superior is up in
//   the coronal and sagittal panels; the sagittal panel has anterior on the
//   left.
// - Grey levels: the window [level - width/2, level + width/2] maps onto
//   0..255; without a window, the 0.5 and 99.5 percentiles of the image.
//   Points outside the image are black.
// - Labels (optional, any grid): non-zero labels are blended in colour
//   (nearest neighbour, 50 %), one colour per label value.
#pragma once

#include <optional>
#include <utility>

#include "medimg/core/image.hpp"
#include "medimg/core/picture.hpp"

namespace medimg {

struct PreviewOptions {
  std::optional<std::pair<double, double>> window;  // level, width
  int panel_pixels = 256;
};

RgbPicture render_preview(const AnyImage<DeviceMemory>& image, const PreviewOptions& options = {},
                          const AnyImage<DeviceMemory>* labels = nullptr);

}  // namespace medimg
