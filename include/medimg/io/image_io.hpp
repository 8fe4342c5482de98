// Reading and writing images through ITK's IO. Formats: NIfTI (.nii,
// .nii.gz), NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd) and, for reading, a
// DICOM series folder or a single DICOM file (and PNG).
//
// Rules:
// - The file's pixel type is kept (load_image); load_image_as<T> converts.
// - Physical space is LPS; ITK converts NIfTI's RAS on load and save.
// - 2D files load as one slice (nz = 1). 4D files are refused with an error,
//   except when the 4th dimension has a single time point.
// - The header's geometry is validated before any voxel is read: zero,
//   negative or non-finite spacing, a singular or non-orthonormal direction
//   are errors (ITK would silently flip a negative spacing into the direction).
// - DICOM: GDCM sorts the files of a series by position; with several series
//   in a folder, `series_uid` selects one, else the series with most files is
//   read. Rescale slope/intercept are applied; the first file's tags go to
//   Metadata::tags ("0008|0060" -> "CT"), with modality and UIDs filled in.
// - NIfTI specifics, as ITK 5.2 does them: the sform is used when the qform
//   code is unknown, the sform code is SCANNER_ANAT or the two agree, else the
//   qform; float voxels that are NaN or infinite read as 0; NIfTI-2 files are
//   not readable (a clear error says so). Geometry is stored in float32.
// - save_image writes to a temporary file in the destination folder and
//   renames it into place: a failed write leaves no file behind.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "medimg/core/image.hpp"
#include "medimg/core/picture.hpp"
#include "medimg/ops/cast.hpp"

namespace medimg {

struct LoadOptions {
  std::string series_uid;  // DICOM folder: which series (empty: the largest)
};

struct SaveOptions {
  bool compress = false;  // NRRD gzip / MetaImage zlib; .nii.gz is always gzip
};

AnyImage<HostMemory> load_image(const std::string& path, const LoadOptions& options = {});

template <class T>
Image<T, HostMemory> load_image_as(const std::string& path, const LoadOptions& options = {}) {
  AnyImage<HostMemory> image = load_image(path, options);
  if (auto* same = std::get_if<Image<T, HostMemory>>(&image)) return std::move(*same);
  return std::get<Image<T, HostMemory>>(cast_to(image, pixel_type_of<T>()));
}

void save_image(const AnyImage<HostMemory>& image, const std::string& path,
                const SaveOptions& options = {});

template <class T, class MemorySpace>
void save_image(const Image<T, MemorySpace>& image, const std::string& path,
                const SaveOptions& options = {}) {
  save_image(AnyImage<HostMemory>(to_host(image)), path, options);
}

// What an image file (or DICOM folder, or HDF5 dataset) holds, read from its
// header(s) only: no voxels are read. The same validation as load_image.
struct ImageHeader {
  Geometry geometry;
  PixelType type = PixelType::float32;
};
ImageHeader read_image_header(const std::string& path, const LoadOptions& options = {});

// Writes a PNG (through ITK's PNG IO), atomically like save_image.
void save_png(const RgbPicture& picture, const std::string& path);

// The series UIDs found in a DICOM folder (empty when there is none).
std::vector<std::string> dicom_series_uids(const std::string& folder);

// True when save_image can write `path` (by its extension).
bool is_writable_format(const std::string& path);

// Throws medimg::Error unless save_image can write `path`: a writable format
// and an existing folder. Lets callers fail before any expensive work.
void check_output_path(const std::string& path);

}  // namespace medimg
