// Lets ITK 5.2's headers compile under nvcc (CUDA 11.8). The CUDA build
// pre-includes this file (`-include`) in every unit that sees ITK headers
// (the medimg_itk_headers target); other compilers never see it.
//
// The bug: cudafe++, nvcc's front end, re-prints the host code for g++ and
// names `::itk::LightObject::Pointer` (the return type itkNewMacro gives
// CreateAnother()) by a typedef. Inside a class deriving from LightObject
// it shortens that name to `Pointer` or `SmartPointer< Self>`, which there
// name the derived class's own pointer, and g++ rejects the override:
// "invalid covariant return type for CreateAnother()" (itkImageBase.h:117).
// Spelling the same type through an alias outside ITK's class hierarchy
// keeps cudafe++'s name qualified. The redefinition below is itkMacro.h's
// itkCreateAnotherMacro with only that spelling changed.
#pragma once

#if defined(__CUDACC__)
#include <itkLightObject.h>
#include <itkMacro.h>

namespace medimg_itk_nvcc {
using LightObjectPointer = ::itk::LightObject::Pointer;
}  // namespace medimg_itk_nvcc

#undef itkCreateAnotherMacro
#define itkCreateAnotherMacro(x)                                         \
  ::medimg_itk_nvcc::LightObjectPointer CreateAnother() const override { \
    ::medimg_itk_nvcc::LightObjectPointer smartPtr;                      \
    smartPtr = x::New().GetPointer();                                    \
    return smartPtr;                                                     \
  }                                                                      \
  ITK_MACROEND_NOOP_STATEMENT
#endif
