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

// An itk::Image on `g`'s grid, its buffer not allocated.
template <class T>
typename itk::Image<T, 3>::Pointer itk_image_on(const Geometry& g) {
  using ItkImage = itk::Image<T, 3>;
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
  return out;
}

// An itk::Image on `g`'s grid that reads `voxels` in place (keep them alive).
// The ITK module (src/itk_module), which holds plain buffers, uses it too.
template <class T>
typename itk::Image<T, 3>::Pointer itk_image_over(const Geometry& g, const T* voxels) {
  auto out = itk_image_on<T>(g);
  out->GetPixelContainer()->SetImportPointer(
      const_cast<T*>(voxels), static_cast<itk::SizeValueType>(g.voxel_count()), false);
  return out;
}

// The grid of an itk::Image (or of a reader's output information); throws
// medimg::Error if it is not a valid Geometry.
template <class T>
Geometry geometry_of_itk(const itk::Image<T, 3>& itk_image) {
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
  return Geometry(size, origin, spacing, direction);
}

template <class T>
typename itk::Image<T, 3>::Pointer to_itk_image(const Image<T, HostMemory>& image,
                                                ItkVoxels voxels = ItkVoxels::copy) {
  const Geometry& g = image.geometry();
  if (voxels == ItkVoxels::shared) return itk_image_over(g, image.voxels().data());
  auto out = itk_image_on<T>(g);
  out->Allocate();
  std::memcpy(out->GetBufferPointer(), image.voxels().data(),
              static_cast<std::size_t>(g.voxel_count()) * sizeof(T));
  return out;
}

// Copies an itk::Image; throws medimg::Error if its geometry is invalid.
template <class T>
Image<T, HostMemory> from_itk_image(const itk::Image<T, 3>& itk_image, Metadata metadata = {}) {
  auto image =
      Image<T, HostMemory>::uninitialized(geometry_of_itk(itk_image), "medimg::from_itk_image");
  std::memcpy(image.voxels().data(), itk_image.GetBufferPointer(),
              static_cast<std::size_t>(image.geometry().voxel_count()) * sizeof(T));
  image.metadata() = std::move(metadata);
  return image;
}

}  // namespace medimg
