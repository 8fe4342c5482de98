// ITK transform files (include/medimg/io/transform_io.hpp): the reading and
// writing is the ITK module's (src/itk_module/transforms.cpp); this maps
// ParametricTransform to and from its records.
#include "medimg/io/transform_io.hpp"

#include "medimg/core/error.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/detail/isolated.hpp"
#include "medimg/io/detail/itk_module.hpp"

namespace medimg {

void check_transform_path(const std::string& path) {
  const std::string ext = format_extension(path);
  if (ext != ".tfm" && ext != ".txt") {
    throw Error("cannot write transform '" + path + "': use a .tfm or .txt file (ITK text format)");
  }
  check_output_folder(path);
}

void save_transform(const ParametricTransform& transform, const std::string& path) {
  check_transform_path(path);
  const detail::ItkModule& module = detail::itk_module(path);
  const detail::LibraryCall call;  // no fork of a DICOM reader meanwhile
  AtomicOutput output(path);
  module.write_transform(
      path, output.temporary_path(),
      {transform.itk_class(), transform.itk_fixed_parameters(), transform.itk_parameters()});
  output.commit();
}

ParametricTransform load_transform(const std::string& path) {
  const detail::ItkModule& module = detail::itk_module(path);
  const detail::LibraryCall call;  // no fork of a DICOM reader meanwhile
  const detail::ItkTransformRecord record = module.read_transform(path);
  const std::string& name = record.itk_class;
  TransformKind kind;
  if (name == "TranslationTransform") {
    kind = TransformKind::translation;
  } else if (name == "Euler3DTransform") {
    kind = TransformKind::rigid;
  } else if (name == "ScaleTransform") {
    kind = TransformKind::scale;
  } else if (name == "AffineTransform") {
    kind = TransformKind::affine;
  } else {
    throw Error("'" + path + "' holds a " + name +
                "; medimg reads Translation, Euler3D, Scale and Affine transforms");
  }
  Vec3 center{0, 0, 0};
  if (kind != TransformKind::translation) {
    if (record.fixed.size() < 3) {
      throw Error("'" + path + "': the " + name + " has no center (FixedParameters)");
    }
    for (int a = 0; a < 3; ++a) center[a] = record.fixed[static_cast<std::size_t>(a)];
  }
  ParametricTransform out(kind, center);
  out.set_parameters(record.parameters);
  return out;
}

}  // namespace medimg
