// Reading and writing images. NIfTI-1/2 (.nii, .nii.gz, .hdr/.img) is
// medimg's own reader and writer (io/nifti_io.hpp: nifti_clib checks the
// header, the voxels stream once into the image, ISA-L gzip); NRRD (.nrrd,
// .nhdr), MetaImage (.mha, .mhd), a DICOM series folder or a single DICOM
// file, and PNG go through ITK.
//
// Rules:
// - The file's pixel type is kept (load_image); load_image_as<T> converts.
//   NIfTI int8 is widened to int16, and scaled NIfTI voxels read as float
//   (nifti_io.hpp).
// - Physical space is LPS; NIfTI's RAS is converted on load and save.
// - 2D files load as one slice (nz = 1). 4D files are refused with an error,
//   except when the 4th dimension has a single time point.
// - The header's geometry is validated before any voxel is read: zero,
//   negative or non-finite spacing, a singular or non-orthonormal direction
//   are errors (ITK would silently flip a negative spacing into the direction).
// - DICOM folders: io/dicom_folder.hpp screens the files, groups them into
//   series by UID and geometry and sorts them along the slice normal;
//   `series_uid` selects a series by its id, else the largest is read (with
//   a warning when there was a choice). Rescale slope/intercept are applied;
//   the first file's tags go to Metadata::tags ("0008|0060" -> "CT"), with
//   modality and UIDs filled in. In-plane spacing is PixelSpacing when the
//   file has it (as dcm2niix); a single slice's k spacing is
//   SpacingBetweenSlices, else SliceThickness.
// - save_image writes to a temporary file in the destination folder and
//   renames it into place: a failed write leaves no file behind.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "medimg/core/image.hpp"
#include "medimg/core/picture.hpp"
#include "medimg/ops/cast.hpp"

namespace medimg {

// Which NIfTI transform places the voxels: `automatic` is nibabel's rule
// (the sform when sform_code > 0, else the qform when qform_code > 0, else
// pixdim alone); `sform` / `qform` insist on that one (an error when its code
// is 0).
enum class NiftiXform { automatic, sform, qform };

// Process-wide defaults the options below start from; the CLI's global
// flags (--nifti-xform, --compression-level, --nifti2) set them, so that every image
// the process reads or writes follows them.
NiftiXform default_nifti_xform();
void set_default_nifti_xform(NiftiXform choice);
int default_compression_level();
void set_default_compression_level(int level);
bool default_nifti2();
void set_default_nifti2(bool nifti2);

struct LoadOptions {
  std::string series_uid;  // DICOM folder: which series (empty: the largest)
  NiftiXform nifti_xform = default_nifti_xform();
};

struct SaveOptions {
  bool compress = false;  // NRRD gzip / MetaImage zlib / HDF5 deflate; .nii.gz is always gzip
  // gzip level of .nii.gz, 1 (fastest, the default) .. 9 (smallest); with
  // ISA-L, 1-2, 3-5 and 6-9 are igzip's levels 1, 2 and 3.
  int compression_level = default_compression_level();
  bool nifti2 = default_nifti2();  // write NIfTI-2 (.nii / .nii.gz); also chosen when a size
                                   // exceeds NIfTI-1's
  int threads = 0;                 // gzip compression threads (0: the host execution space's)
};

AnyImage<HostMemory> load_image(const std::string& path, const LoadOptions& options = {});

// An image whose voxels may be the file's own pages: `mapping` holds them
// and is declared first, so it outlives `image`; the image (and every copy
// of its voxels' View) must not outlive this object.
struct MappedImage {
  std::shared_ptr<void> mapping;  // null when `image` owns its voxels
  AnyImage<HostMemory> image;
};

// load_image for a caller that keeps the result while it uses the image
// (the CLI's commands): a plain NIfTI file whose stored voxels are the
// image's bytes (native byte order, no scl_slope, the same pixel type) is
// mapped copy-on-write (mmap MAP_PRIVATE) instead of read, so the voxels
// are the page cache's pages: no buffer to fault in and no copy (a fresh
// 96 MiB buffer cost this VM 10-250 ms, the mapping 4-11 ms). Writing the
// voxels stays legal (copy on write, per 4 KiB page). Every other file is
// load_image's. The file must not be truncated while it is mapped (SIGBUS,
// as for nibabel's memory maps); a file replaced by rename, as medimg and
// most tools write, is not affected.
MappedImage load_image_mapped(const std::string& path, const LoadOptions& options = {});

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

// True when save_image can write `path` (by its extension).
bool is_writable_format(const std::string& path);

// Throws medimg::Error unless save_image can write `path`: a writable format
// and an existing folder. Lets callers fail before any expensive work.
void check_output_path(const std::string& path);

}  // namespace medimg
