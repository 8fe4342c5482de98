// The boundary between the medimg library and its ITK module.
//
// Everything that calls ITK or GDCM (NRRD, MetaImage, PNG and DICOM files,
// the DICOM header screen, ITK transform files) lives in a separate shared
// module, lib/medimg/libmedimg_itk.so, which the library loads with dlopen
// the first time a file needs it. A process that reads and writes NIfTI or
// HDF5 only never maps ITK's 40-odd libraries: they cost about 25 MiB of
// resident memory and 20-30 ms of relocations at every start.
//
// The module does not use Kokkos (it is not initialised there, and the
// module has its own copy of any code it links): voxels cross the boundary
// as plain buffers. A read asks a VoxelSink, given the grid and pixel type,
// for the buffer to fill; the library's sink allocates the Image there.
// Errors cross as medimg::Error. State that must be one per process (the
// isolation lock of io/detail/isolated.hpp) stays in the library; the module
// asks it through ItkHost.
//
// Where it is looked for: io/detail/modules.hpp.
#pragma once

#include <string>
#include <vector>

#include "medimg/core/geometry.hpp"
#include "medimg/core/metadata.hpp"
#include "medimg/core/picture.hpp"
#include "medimg/core/pixel_type.hpp"
#include "medimg/io/detail/dicom_scan.hpp"

namespace medimg::detail {

// Bumped whenever a signature below changes: a module of another version is
// refused instead of called.
inline constexpr int itk_module_abi = 1;

struct GridAndType {
  Geometry geometry;
  PixelType type = PixelType::float32;
};

// Receives one image: `voxels` is called once, before any voxel is read,
// and returns a buffer of geometry.voxel_count() voxels of `type`.
class VoxelSink {
 public:
  virtual ~VoxelSink() = default;
  virtual void* voxels(const Geometry& geometry, PixelType type, Metadata metadata) = 0;
};

// An ITK transform file's one transform, as ITK names and stores it.
struct ItkTransformRecord {
  std::string itk_class;  // "AffineTransform_double_3_3", ...; read: GetNameOfClass()
  std::vector<double> fixed, parameters;
};

// What the library lends the module.
struct ItkHost {
  int abi = itk_module_abi;
  bool (*in_isolated_child)() = nullptr;
};

struct ItkModule {
  int abi = itk_module_abi;
  // Before a read in an isolated child: ITK keeps to the calling thread.
  void (*prepare_isolated_child)();
  // A single file: NRRD, MetaImage, PNG or DICOM (not NIfTI).
  GridAndType (*read_file_header)(const std::string& path);
  void (*read_file)(const std::string& path, VoxelSink& sink);
  // A series the DICOM folder scan found (several files, or one).
  GridAndType (*read_dicom_series_header)(const std::string& folder,
                                          const DicomSeriesFiles& series);
  void (*read_dicom_series)(const std::string& folder, const DicomSeriesFiles& series,
                            VoxelSink& sink);
  // One file's DICOM header, screened (io/dicom_folder.cpp reads the JSON).
  std::string (*screen_dicom_file)(const std::string& path);
  // Writes NRRD or MetaImage (by the extension of `target`; the final name
  // is `path`, for messages) from `voxels`.
  void (*write_file)(const std::string& path, const std::string& target, const Geometry& geometry,
                     PixelType type, const void* voxels, bool compress);
  void (*write_png)(const std::string& path, const std::string& target, const RgbPicture& picture);
  void (*write_transform)(const std::string& path, const std::string& target,
                          const ItkTransformRecord& transform);
  ItkTransformRecord (*read_transform)(const std::string& path);
};

// The module, loaded on first use (thread-safe); throws medimg::Error
// naming `path` (the file that needed it) when it cannot be loaded.
const ItkModule& itk_module(const std::string& path);

}  // namespace medimg::detail

// The module's one exported symbol.
extern "C" const medimg::detail::ItkModule* medimg_itk_module(const medimg::detail::ItkHost* host);
