// OutputBuffer: memory for a command's result, supplied by the code that will
// save it. While an OutputBuffer::Scope is alive on a thread, the first host
// Image that thread allocates (Image::uninitialized, the zero-filled
// constructor) asks the scope's provider for its voxels, with the pixel type
// and extents; the provider returns memory for exactly that many voxels, or
// null, and the image then allocates as usual. Only the first allocation
// asks, whatever the answer: a scope is opened around one operation whose
// first allocation is its output (the CLI's geometric commands map the
// output .nii there, io/nifti_io.hpp's NiftiOutputMapping, so the kernel
// writes straight into the file's pages). The caller must check that the
// result really lives there (an operation may allocate a scratch image
// first) and otherwise save it as usual; and keep the memory valid while any
// image may still use it: the Image does not own it.
#pragma once

#include <array>
#include <cstddef>
#include <functional>

#include "medimg/core/pixel_type.hpp"

namespace medimg {

class OutputBuffer {
 public:
  using Provider = std::function<void*(PixelType type, const std::array<std::size_t, 3>& extents)>;

  class Scope {
   public:
    explicit Scope(Provider provider);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Provider m_previous;
  };

  // The provider's memory for this allocation, or null (no scope on this
  // thread, already asked once, or the provider declined).
  static void* claim(PixelType type, std::size_t n0, std::size_t n1, std::size_t n2);
};

}  // namespace medimg
