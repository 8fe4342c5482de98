// HDF5 storage (parallel HDF5 build; serial use goes through the same code
// with the default file driver). Layout, also in docs/HDF5.md:
//
// - One dataset per image at any path ("file.h5:/group/name"; default
//   "/image"), shape (nz, ny, nx) in C order, so h5py sees (z, y, x) and the
//   bytes are medimg's LayoutLeft voxel array; the HDF5 type is the pixel
//   type (uint8, int16, uint16, int32, float32, float64, little-endian
//   native). Chunked along k: a chunk is whole planes (about 1 MiB), so a
//   k-slab is whole chunks. gzip optional for serial writes only.
// - Attributes on the dataset: origin (3 doubles), spacing (3 doubles),
//   direction_row_major (9 doubles, row-major, columns = the i, j, k axis
//   directions in LPS), direction (the same 9 numbers: MedImages.jl's name
//   and order), image_type and image_subtype (int64, MedImages.jl's enums:
//   MRI 0, PET 1, CT 2 (-1: other); CT 0, ADC 1, DWI 2, T1 3, T2 4, FLAIR 5,
//   FDG 6, PSMA 7 (-1: unknown)), patient_id, study_uid, series_uid
//   (UTF-8 strings), metadata (JSON: medimg's Metadata, tags included).
// - A reader of MedImages.jl's files: the same attribute names; its dataset
//   is named by the study UID inside a group; with no dataset named, the
//   file's only dataset is read. Missing optional attributes default.
//
// Writes are atomic: the file is written to a temporary name in the same
// folder (an existing file is copied first, so its other datasets are
// kept; a dataset at the same path is replaced) and renamed into place.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "medimg/core/image.hpp"

namespace medimg {

struct Hdf5Location {
  std::string file;
  std::string dataset;  // empty: the default ("/image" on save, the only dataset on load)
};

// True when the file part of `spec` ends in .h5, .hdf5 or .he5.
bool is_hdf5_path(const std::string& spec);
// "scan.h5:/group/name" -> {"scan.h5", "/group/name"}; "scan.h5" -> {"scan.h5", ""}.
Hdf5Location parse_hdf5_location(const std::string& spec);

struct Hdf5Options {
  int gzip = 0;  // 1-9: deflate level (serial writes only)
};

void save_hdf5(const AnyImage<HostMemory>& image, const std::string& file,
               const std::string& dataset = "", const Hdf5Options& options = {});
AnyImage<HostMemory> load_hdf5(const std::string& file, const std::string& dataset = "");
// Every dataset's path in `file`.
std::vector<std::string> hdf5_datasets(const std::string& file);
// The dataset's grid and pixel type, without reading voxels.
void read_hdf5_shape(const std::string& file, const std::string& dataset, Geometry& geometry,
                     PixelType& type);

// The HDF5 library (parallel build) is not thread-safe: the serial calls
// above take this lock, so a batch's reader and writer threads may use them.
std::recursive_mutex& hdf5_lock();

}  // namespace medimg
