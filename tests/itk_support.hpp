// ITK helpers for the tests that compare medimg with ITK filters.
#pragma once

#include <itkImage.h>
#include <itkMetaImageIOFactory.h>

#include "medimg/core/image.hpp"
#include "medimg/io/itk_bridge.hpp"

namespace medimg::test {

// For tests that write with ITK directly, before any medimg IO call
// registered the factories in this process. (NIfTI is medimg's own reader;
// ITK's NIfTI IO is never linked: its niftiio clashes with nifti_clib.)
inline void register_itk_io() {
  itk::MetaImageIOFactory::RegisterOneFactory();
}

template <class T>
typename itk::Image<T, 3>::Pointer to_itk(const Image<T, HostMemory>& image) {
  return to_itk_image(image, ItkVoxels::copy);
}

}  // namespace medimg::test
