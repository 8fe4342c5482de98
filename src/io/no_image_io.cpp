// image_io.hpp for builds without ITK (MEDIMG_ENABLE_ITK=OFF, e.g. the GPU
// bundle): every call explains why it cannot work.
#include "medimg/io/dicom_folder.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/io/nifti_io.hpp"
#include "medimg/io/transform_io.hpp"

namespace medimg {

namespace {
[[noreturn]] void no_itk(const std::string& what, const std::string& path) {
  throw Error("cannot " + what + " '" + path +
              "': medimg was built without ITK (MEDIMG_ENABLE_ITK=OFF)");
}
}  // namespace

AnyImage<HostMemory> load_image(const std::string& path, const LoadOptions&) {
  no_itk("read", path);
}

MappedImage load_image_mapped(const std::string& path, const LoadOptions&) {
  no_itk("read", path);
}

void save_image(const AnyImage<HostMemory>&, const std::string& path, const SaveOptions&) {
  no_itk("write", path);
}

ImageHeader read_image_header(const std::string& path, const LoadOptions&) {
  no_itk("read", path);
}

void save_png(const RgbPicture&, const std::string& path) {
  no_itk("write", path);
}

DicomFolderListing list_dicom_folder(const std::string& folder) {
  no_itk("read", folder);
}

AnyImage<HostMemory> load_nifti(const std::string& path, const LoadOptions&) {
  no_itk("read", path);
}

ImageHeader read_nifti_header(const std::string& path, const LoadOptions&) {
  no_itk("read", path);
}

NiftiStream stream_nifti(const std::string& path, const LoadOptions&, std::size_t,
                         const std::function<void(PixelType, const void*, std::size_t)>&) {
  no_itk("read", path);
}

NiftiStream reduce_nifti(const std::string& path, const LoadOptions&, VoxelReduction&) {
  no_itk("read", path);
}

void save_nifti(const AnyImage<HostMemory>&, const std::string& path, const SaveOptions&) {
  no_itk("write", path);
}

// No mapping is ever made here: callers see null from open() and save as
// they would on a filesystem without shared mappings (save_image, which
// explains).
struct NiftiOutputMapping::State {};

std::unique_ptr<NiftiOutputMapping> NiftiOutputMapping::open(const std::string&, PixelType,
                                                             const std::array<std::size_t, 3>&,
                                                             const SaveOptions&, int) {
  return nullptr;
}

NiftiOutputMapping::~NiftiOutputMapping() = default;

void* NiftiOutputMapping::voxels() const {
  return nullptr;
}

bool NiftiOutputMapping::holds(const AnyImage<HostMemory>&) const {
  return false;
}

void NiftiOutputMapping::commit(const AnyImage<HostMemory>&) {
  throw Error("no NIfTI output mapping without ITK (MEDIMG_ENABLE_ITK=OFF)");
}

NiftiTransforms read_nifti_transforms(const std::string& path, const LoadOptions&) {
  no_itk("read", path);
}

bool is_writable_format(const std::string&) {
  return false;
}

void check_output_path(const std::string& path) {
  no_itk("write", path);
}

void check_transform_path(const std::string& path) {
  no_itk("write", path);
}

void save_transform(const ParametricTransform&, const std::string& path) {
  no_itk("write", path);
}

ParametricTransform load_transform(const std::string& path) {
  no_itk("read", path);
}

}  // namespace medimg
