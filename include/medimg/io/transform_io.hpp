// ITK's text transform format (.tfm / .txt, "#Insight Transform File V1.0"),
// written and read through ITK's own TransformFileWriter/Reader so any ITK
// or SimpleITK program reads medimg's registration results (and the other
// way round). The class names and parameters are ParametricTransform's
// (itk_class, itk_parameters, itk_fixed_parameters). Writes are atomic.
#pragma once

#include <string>

#include "medimg/transform/parametric.hpp"

namespace medimg {

// Throws medimg::Error unless `path` ends in .tfm or .txt and its folder exists.
void check_transform_path(const std::string& path);
void save_transform(const ParametricTransform& transform, const std::string& path);
// Reads a TranslationTransform, Euler3DTransform, ScaleTransform or
// AffineTransform (double, 3-D) written by ITK or medimg.
ParametricTransform load_transform(const std::string& path);

}  // namespace medimg
