// The ITK module's own declarations (the boundary is
// include/medimg/io/detail/itk_module.hpp). Everything here has hidden
// visibility except the entry point: the module's copies of medimg code
// (geometry, metadata ...) never clash with the library's.
#pragma once

#include <string>
#include <utility>

#include "medimg/io/detail/itk_module.hpp"

#define MEDIMG_ITK_MODULE_EXPORT __attribute__((visibility("default")))

namespace itk {
class ExceptionObject;
}

namespace medimg::itk_module {

// An ITK exception's description on one line, without ITK's location
// boilerplate (images.cpp).
std::string describe_itk_error(const itk::ExceptionObject& e);

// The library's answer (io/detail/isolated.hpp): true in an isolated child.
bool in_isolated_child();

// images.cpp
void prepare_isolated_child();
detail::GridAndType read_header(const std::string& path);
void read_file(const std::string& path, detail::VoxelSink& sink);
detail::GridAndType read_dicom_series_header(const std::string& folder,
                                             const detail::DicomSeriesFiles& series);
void read_dicom_series(const std::string& folder, const detail::DicomSeriesFiles& series,
                       detail::VoxelSink& sink);
void write_file(const std::string& path, const std::string& target, const Geometry& geometry,
                PixelType type, const void* voxels, bool compress);
void write_png(const std::string& path, const std::string& target, const RgbPicture& picture);

// dicom_screen.cpp
std::string screen_dicom_file(const std::string& path);
// The in-plane spacing (column, row) a file's PixelSpacing (0028,0030)
// gives, as dcm2niix reads it; {0, 0} when absent or invalid. `text` is the
// tag's value ("row\column").
std::pair<double, double> pixel_spacing_from_tag(const std::string& text);

// transforms.cpp
void write_transform(const std::string& path, const std::string& target,
                     const detail::ItkTransformRecord& transform);
detail::ItkTransformRecord read_transform(const std::string& path);

}  // namespace medimg::itk_module
