// Conversion of medimg images to itk::Image, for comparing with ITK filters.
#pragma once

#include <itkImage.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>

#include <cstring>

#include "medimg/core/image.hpp"

namespace medimg::test {

// For tests that write with ITK directly, before any medimg IO call
// registered the factories in this process.
inline void register_itk_io() {
  itk::NiftiImageIOFactory::RegisterOneFactory();
  itk::MetaImageIOFactory::RegisterOneFactory();
}

template <class T>
typename itk::Image<T, 3>::Pointer to_itk(const Image<T, HostMemory>& image) {
  using ItkImage = itk::Image<T, 3>;
  auto out = ItkImage::New();
  typename ItkImage::SizeType size;
  typename ItkImage::SpacingType spacing;
  typename ItkImage::PointType origin;
  typename ItkImage::DirectionType direction;
  const Geometry& g = image.geometry();
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
  out->Allocate();
  std::memcpy(out->GetBufferPointer(), image.voxels().data(),
              static_cast<std::size_t>(g.voxel_count()) * sizeof(T));
  return out;
}

}  // namespace medimg::test
