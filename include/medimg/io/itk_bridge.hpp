// medimg::Image <-> itk::Image<T, 3>, for code that runs ITK beside medimg:
// the IO layer, the tests that compare with ITK filters, the benchmarks.
// Needs ITK's headers (medimg::medimg does not export them). Both sides store
// voxels x-fastest in one block, so the voxel layout needs no reordering.
#pragma once

#include <itkImage.h>

#include <cstring>

#include "medimg/core/image.hpp"

namespace medimg {

enum class ItkVoxels {
  copy,   // the itk::Image owns a copy
  shared  // the itk::Image reads medimg's buffer in place; keep `image` alive
};

template <class T>
typename itk::Image<T, 3>::Pointer to_itk_image(const Image<T, HostMemory>& image,
                                                ItkVoxels voxels = ItkVoxels::copy) {
  using ItkImage = itk::Image<T, 3>;
  const Geometry& g = image.geometry();
  auto out = ItkImage::New();
  typename ItkImage::SizeType size;
  typename ItkImage::SpacingType spacing;
  typename ItkImage::PointType origin;
  typename ItkImage::DirectionType direction;
  for (unsigned c = 0; c < 3; ++c) {
    size[c] = static_cast<itk::SizeValueType>(g.size()[c]);
    spacing[c] = g.spacing()[c];
    origin[c] = g.origin()[c];
    for (unsigned r = 0; r < 3; ++r) direction[r][c] = g.direction()[r][c];
  }
  out->SetRegions(typename ItkImage::RegionType(size));
  out->SetSpacing(spacing);
  out->SetOrigin(origin);
  out->SetDirection(direction);
  const auto count = static_cast<itk::SizeValueType>(g.voxel_count());
  if (voxels == ItkVoxels::shared) {
    out->GetPixelContainer()->SetImportPointer(const_cast<T*>(image.voxels().data()), count, false);
  } else {
    out->Allocate();
    std::memcpy(out->GetBufferPointer(), image.voxels().data(), count * sizeof(T));
  }
  return out;
}

// Copies an itk::Image; throws medimg::Error if its geometry is invalid.
template <class T>
Image<T, HostMemory> from_itk_image(const itk::Image<T, 3>& itk_image, Metadata metadata = {}) {
  Size3 size;
  Vec3 origin;
  Vec3 spacing;
  Mat3 direction;
  const auto region = itk_image.GetLargestPossibleRegion().GetSize();
  for (unsigned c = 0; c < 3; ++c) {
    size[c] = static_cast<std::int64_t>(region[c]);
    origin[c] = itk_image.GetOrigin()[c];
    spacing[c] = itk_image.GetSpacing()[c];
    for (unsigned r = 0; r < 3; ++r) direction[r][c] = itk_image.GetDirection()[r][c];
  }
  auto image = Image<T, HostMemory>::uninitialized(Geometry(size, origin, spacing, direction),
                                                   "medimg::from_itk_image");
  std::memcpy(image.voxels().data(), itk_image.GetBufferPointer(),
              static_cast<std::size_t>(image.geometry().voxel_count()) * sizeof(T));
  image.metadata() = std::move(metadata);
  return image;
}

}  // namespace medimg
