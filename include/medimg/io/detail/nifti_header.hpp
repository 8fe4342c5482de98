// A NIfTI (or Analyze 7.5) header, read and checked, with the geometry the
// rules of include/medimg/io/nifti_io.hpp give it. Shared by the reader and
// `read_nifti_transforms`; the writer builds its header in nifti_io.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "medimg/core/geometry.hpp"
#include "medimg/core/pixel_type.hpp"
#include "medimg/io/detail/gzip.hpp"
#include "medimg/io/image_io.hpp"

namespace medimg::detail {

using Affine34 = std::array<std::array<double, 4>, 3>;

struct NiftiPaths {
  std::string header;
  std::string data;
  bool single_file = true;  // .nii / .nii.gz
};

// Header and voxel files of a NIfTI path; throws unless it is one.
NiftiPaths nifti_paths(const std::string& path);

struct NiftiHeader {
  int version = 1;  // 0 (Analyze 7.5), 1, 2
  bool swapped = false;
  std::uint64_t header_bytes = 348;  // read from the header file so far
  std::uint64_t voxel_offset = 0;    // where the voxels start in the data file
  std::string data_path;
  int datatype = 0;                     // NIfTI DT_* code as stored
  int stored_bytes = 0;                 // bytes per stored voxel
  PixelType type = PixelType::float32;  // what the voxels load as
  bool scaled = false;
  double slope = 1.0, inter = 0.0;
  Size3 size{};
  int sform_code = 0, qform_code = 0;  // negative codes read as 0
  Affine34 sform{}, qform{};           // RAS, mm; valid when their code > 0
  std::string used;                    // "sform", "qform", "pixdim"
  bool differ = false;
  std::string warning;  // set when both transforms are set and differ
  Geometry geometry;
};

// Reads the header from the start of `in` (the .nii, or the .hdr).
NiftiHeader parse_nifti_header(InputFile& in, bool single_file, NiftiXform choice,
                               const std::string& data_path);

}  // namespace medimg::detail
