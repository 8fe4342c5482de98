// The ITK module's transform files: ITK's own TransformFileWriter/Reader
// (text .tfm / .txt), so that ITK and SimpleITK read what medimg writes.
// io/transform_io.cpp maps medimg's transforms to and from these records.
#include <itkAffineTransform.h>
#include <itkEuler3DTransform.h>
#include <itkScaleTransform.h>
#include <itkTransformFactoryBase.h>
#include <itkTransformFileReader.h>
#include <itkTransformFileWriter.h>
#include <itkTranslationTransform.h>
#include <itkTxtTransformIOFactory.h>

#include <mutex>

#include "itk_module/module.hpp"
#include "medimg/core/error.hpp"

namespace medimg::itk_module {

namespace {

void register_factories() {
  static std::once_flag once;
  std::call_once(once, [] {
    itk::TxtTransformIOFactory::RegisterOneFactory();
    itk::TransformFactoryBase::RegisterDefaultTransforms();
  });
}

// The ITK transform medimg writes as `itk_class` ("AffineTransform_double_3_3").
itk::TransformBaseTemplate<double>::Pointer make_itk_transform(const std::string& itk_class) {
  if (itk_class == "TranslationTransform_double_3_3")
    return itk::TranslationTransform<double, 3>::New().GetPointer();
  if (itk_class == "Euler3DTransform_double_3_3")
    return itk::Euler3DTransform<double>::New().GetPointer();
  if (itk_class == "ScaleTransform_double_3_3")
    return itk::ScaleTransform<double, 3>::New().GetPointer();
  if (itk_class == "AffineTransform_double_3_3")
    return itk::AffineTransform<double, 3>::New().GetPointer();
  throw Error("no ITK transform class " + itk_class);
}

itk::OptimizerParameters<double> parameters_of(const std::vector<double>& values) {
  itk::OptimizerParameters<double> out(static_cast<unsigned>(values.size()));
  for (std::size_t n = 0; n < values.size(); ++n) out[static_cast<unsigned>(n)] = values[n];
  return out;
}

}  // namespace

void write_transform(const std::string& path, const std::string& target,
                     const detail::ItkTransformRecord& transform) {
  register_factories();
  auto itk_transform = make_itk_transform(transform.itk_class);
  if (!transform.fixed.empty()) itk_transform->SetFixedParameters(parameters_of(transform.fixed));
  itk_transform->SetParameters(parameters_of(transform.parameters));
  try {
    auto writer = itk::TransformFileWriterTemplate<double>::New();
    writer->SetInput(itk_transform);
    writer->SetFileName(target);
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    throw Error("cannot write transform '" + path + "': " + describe_itk_error(e));
  }
}

detail::ItkTransformRecord read_transform(const std::string& path) {
  register_factories();
  auto reader = itk::TransformFileReaderTemplate<double>::New();
  reader->SetFileName(path);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw Error("cannot read transform '" + path + "': " + describe_itk_error(e));
  } catch (const std::exception& e) {
    // ITK's text reader also throws the standard library's exceptions
    // (std::out_of_range from a malformed class name).
    throw Error("cannot read transform '" + path + "': ITK could not parse it (" + e.what() + ")");
  }
  const auto* list = reader->GetTransformList();
  if (list->size() != 1) throw Error("'" + path + "' must hold exactly one transform");
  const auto& t = list->front();
  detail::ItkTransformRecord record;
  record.itk_class = t->GetNameOfClass();
  const auto fixed = t->GetFixedParameters();
  const auto values = t->GetParameters();
  record.fixed.assign(fixed.begin(), fixed.end());
  record.parameters.assign(values.begin(), values.end());
  return record;
}

}  // namespace medimg::itk_module
