// NIfTI-1 and NIfTI-2, read and written by medimg: .nii, .nii.gz and the
// .hdr/.img pair (either part may be gzip-compressed). nifti_clib
// (libnifti2) recognises, byte-swaps and checks the header; the voxels are
// then streamed once, straight into the image's voxels, inflating on the fly.
//
// What a file means (nibabel's reading, which FSL, SPM and dcm2niix share):
// - Geometry: the sform when sform_code > 0, else the qform when
//   qform_code > 0, else NIfTI-1's "method 1" (spacing from pixdim, no
//   rotation, origin 0). LoadOptions::nifti_xform insists on one. When both
//   codes are set and the two transforms differ (origin or spacing by more
//   than 1e-4 mm, a direction by more than 1e-6), one warning names the one
//   used. An sform with shear (axes further than 1e-4 from orthogonal) is
//   refused: a medimg Geometry has none. Units: micron and metre scale
//   spacing and origin to mm. Negative codes count as 0 (as nifti_clib and
//   ITK; nibabel would use them). Analyze 7.5 (.hdr/.img without the NIfTI
//   magic) has no orientation: method 1, as a code-0 NIfTI.
// - pixdim of an axis the geometry comes from (qform or method 1) must be
//   finite and > 0.
// - Voxels: scl_slope 0, NaN or infinite means no scaling; otherwise
//   value * slope + inter, computed in double, and the image is float32
//   (float64 when the stored type is int32 or float64), as nibabel. NaN and
//   infinite float voxels are kept as stored. int8 is widened to int16.
// - Refused, with one line naming the file and the problem: a .nii without
//   the NIfTI magic, a dimension <= 0, more than one volume along dims 4-7,
//   datatypes medimg does not hold (named), a non-finite intercept, a payload
//   shorter than the header promises, a corrupt or truncated gzip stream,
//   more voxel bytes than this node's memory.
// - Writing: sform and qform both set from the geometry, with the codes the
//   image was read with (Metadata tags "nifti|sform_code", "nifti|qform_code";
//   an MNI atlas stays 4) and 1 (scanner) for an image from elsewhere;
//   xyzt_units mm and s; scl_slope 1, scl_inter 0. NIfTI-2 when asked
//   (SaveOptions::nifti2) or when a size exceeds 32767.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "medimg/io/image_io.hpp"

namespace medimg {

// True for .nii, .nii.gz, .hdr, .hdr.gz, .img, .img.gz.
bool is_nifti_path(const std::string& path);

AnyImage<HostMemory> load_nifti(const std::string& path, const LoadOptions& options = {});
// load_image_mapped (image_io.hpp) for a NIfTI file.
MappedImage load_nifti_mapped(const std::string& path, const LoadOptions& options = {});
ImageHeader read_nifti_header(const std::string& path, const LoadOptions& options = {});

// Both transforms of a NIfTI header, as `medimg info` shows them: 3x4
// voxel-to-world matrices in the file's RAS frame, in mm.
struct NiftiTransforms {
  int version = 1;  // 0 (Analyze 7.5), 1 or 2
  int sform_code = 0;
  int qform_code = 0;
  std::array<std::array<double, 4>, 3> sform{};  // valid when sform_code > 0
  std::array<std::array<double, 4>, 3> qform{};  // valid when qform_code > 0
  std::string used;                              // "sform", "qform" or "pixdim"
  bool differ = false;                           // both set and not the same placement
};
// The voxels of a NIfTI file without the image: `consume(type, voxels,
// count)` is called in file order with pieces of at most `chunk_voxels` voxels, in one
// buffer reused, of the pixel type load_nifti gives (byte-swapped, scaled,
// widened as it does); the same checks and errors as load_nifti. `medimg
// info` on a compressed file uses it: the statistics in one pass through a
// few MiB instead of an image-sized buffer to fault in.
struct NiftiStream {
  Geometry geometry;
  PixelType type = PixelType::float32;
  Metadata metadata;
  NiftiTransforms transforms;
  // reduce_nifti: where in the inflated file the second thread's part
  // began; 0 when one thread read it all.
  std::uint64_t split_at = 0;
};
NiftiStream stream_nifti(
    const std::string& path, const LoadOptions& options, std::size_t chunk_voxels,
    const std::function<void(PixelType type, const void* voxels, std::size_t count)>& consume);

// A reduction over voxels whose result does not depend on their order (the
// statistics of `medimg info`). reduce_nifti may feed several of them (made
// by empty_like) from two threads, one each, and merges them into the one
// it was given.
class VoxelReduction {
 public:
  virtual ~VoxelReduction() = default;
  virtual void add(PixelType type, const void* voxels, std::size_t count) = 0;
  virtual std::unique_ptr<VoxelReduction> empty_like() const = 0;
  virtual void merge(const VoxelReduction& other) = 0;
};

// The voxels of a NIfTI file reduced: as stream_nifti, in any order. A
// single-member .nii.gz of 16 MiB or more, read with two or more host
// threads, is inflated by two threads (io/detail/gzip_split.hpp): the
// calling thread's part in file order, the other's part into one reduction
// per possible voxel alignment (its offset in the file is known only at
// the end), of which the right one is merged. Anything that does not check
// there falls back to the ordinary stream, which reports what is wrong.
NiftiStream reduce_nifti(const std::string& path, const LoadOptions& options,
                         VoxelReduction& reduction);
void save_nifti(const AnyImage<HostMemory>& image, const std::string& path,
                const SaveOptions& options = {});

// A plain .nii written in place: a temporary file (AtomicOutput) made at its
// full size (fallocate: a full disk or a file-size limit is found before
// anything is written), mapped shared, its pages faulted in by `threads`
// threads; voxels() is where the voxels go, at the offset save_nifti uses,
// so a kernel that writes its output there writes the file's page-cache
// pages themselves: no anonymous buffer, no copy by write(). commit() writes
// the header save_nifti would write for `image` with `options` (byte for
// byte the same file) and renames the file into place; without commit() the temporary is
// removed. The CLI's geometric commands use it through OutputBuffer
// (core/output_buffer.hpp); MEDIMG_MAP_OUTPUT=0 turns it off.
class NiftiOutputMapping {
 public:
  // Null where the file cannot be made this way (not .nii, a filesystem
  // without fallocate or shared mappings, no space): save_nifti then
  // writes, and reports any error in its words.
  static std::unique_ptr<NiftiOutputMapping> open(const std::string& path, PixelType type,
                                                  const std::array<std::size_t, 3>& extents,
                                                  const SaveOptions& options = {}, int threads = 1);
  ~NiftiOutputMapping();
  NiftiOutputMapping(const NiftiOutputMapping&) = delete;
  NiftiOutputMapping& operator=(const NiftiOutputMapping&) = delete;

  void* voxels() const;
  // Whether `image`'s voxels are voxels(), in full (type and extents).
  bool holds(const AnyImage<HostMemory>& image) const;
  // Requires holds(image). The mapping is gone afterwards.
  void commit(const AnyImage<HostMemory>& image);

 private:
  NiftiOutputMapping() = default;
  struct State;
  std::unique_ptr<State> m_state;
};

NiftiTransforms read_nifti_transforms(const std::string& path, const LoadOptions& options = {});

}  // namespace medimg
