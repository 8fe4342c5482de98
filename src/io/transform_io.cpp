#include "medimg/io/transform_io.hpp"

#include "medimg/io/detail/isolated.hpp"

#include <itkAffineTransform.h>
#include <itkEuler3DTransform.h>
#include <itkScaleTransform.h>
#include <itkTransformFactoryBase.h>
#include <itkTransformFileReader.h>
#include <itkTransformFileWriter.h>
#include <itkTranslationTransform.h>
#include <itkTxtTransformIOFactory.h>

#include <mutex>

#include "medimg/core/error.hpp"
#include "medimg/io/atomic_output.hpp"

namespace medimg {

namespace {

void register_factories() {
  static std::once_flag once;
  std::call_once(once, [] { itk::TxtTransformIOFactory::RegisterOneFactory(); });
}

itk::TransformBaseTemplate<double>::Pointer make_itk_transform(TransformKind kind) {
  switch (kind) {
    case TransformKind::translation:
      return itk::TranslationTransform<double, 3>::New().GetPointer();
    case TransformKind::rigid: return itk::Euler3DTransform<double>::New().GetPointer();
    case TransformKind::scale: return itk::ScaleTransform<double, 3>::New().GetPointer();
    case TransformKind::similarity:
    case TransformKind::affine: return itk::AffineTransform<double, 3>::New().GetPointer();
  }
  return nullptr;
}

}  // namespace

void check_transform_path(const std::string& path) {
  const std::string ext = format_extension(path);
  if (ext != ".tfm" && ext != ".txt") {
    throw Error("cannot write transform '" + path + "': use a .tfm or .txt file (ITK text format)");
  }
  check_output_folder(path);
}

void save_transform(const ParametricTransform& transform, const std::string& path) {
  check_transform_path(path);
  const detail::LibraryCall call;  // no fork of a DICOM reader meanwhile
  register_factories();
  auto itk_transform = make_itk_transform(transform.kind());
  const std::vector<double> fixed = transform.itk_fixed_parameters();
  const std::vector<double> values = transform.itk_parameters();
  itk::OptimizerParameters<double> fixed_parameters(static_cast<unsigned>(fixed.size()));
  for (std::size_t n = 0; n < fixed.size(); ++n) fixed_parameters[n] = fixed[n];
  itk::OptimizerParameters<double> parameters(static_cast<unsigned>(values.size()));
  for (std::size_t n = 0; n < values.size(); ++n) parameters[n] = values[n];
  if (!fixed.empty()) itk_transform->SetFixedParameters(fixed_parameters);
  itk_transform->SetParameters(parameters);
  AtomicOutput output(path);
  try {
    auto writer = itk::TransformFileWriterTemplate<double>::New();
    writer->SetInput(itk_transform);
    writer->SetFileName(output.temporary_path());
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    throw Error("cannot write transform '" + path + "': " + e.GetDescription());
  }
  output.commit();
}

ParametricTransform load_transform(const std::string& path) {
  const detail::LibraryCall call;  // no fork of a DICOM reader meanwhile
  register_factories();
  itk::TransformFactoryBase::RegisterDefaultTransforms();
  auto reader = itk::TransformFileReaderTemplate<double>::New();
  reader->SetFileName(path);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw Error("cannot read transform '" + path + "': " + e.GetDescription());
  }
  const auto* list = reader->GetTransformList();
  if (list->size() != 1) throw Error("'" + path + "' must hold exactly one transform");
  const auto& t = list->front();
  const std::string name = t->GetNameOfClass();
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
  const auto fixed = t->GetFixedParameters();
  const auto values = t->GetParameters();
  Vec3 center{0, 0, 0};
  if (kind != TransformKind::translation) {
    for (int a = 0; a < 3; ++a) center[a] = fixed[static_cast<unsigned>(a)];
  }
  ParametricTransform out(kind, center);
  out.set_parameters(std::vector<double>(values.begin(), values.end()));
  return out;
}

}  // namespace medimg
