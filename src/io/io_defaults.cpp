// The process-wide defaults of LoadOptions and SaveOptions (image_io.hpp).
#include <atomic>

#include "medimg/core/error.hpp"
#include "medimg/io/image_io.hpp"

namespace medimg {

namespace {
std::atomic<NiftiXform> nifti_xform_default{NiftiXform::automatic};
std::atomic<int> compression_level_default{1};
std::atomic<bool> nifti2_default{false};
}  // namespace

NiftiXform default_nifti_xform() {
  return nifti_xform_default.load();
}

void set_default_nifti_xform(NiftiXform choice) {
  nifti_xform_default = choice;
}

int default_compression_level() {
  return compression_level_default.load();
}

void set_default_compression_level(int level) {
  if (level < 1 || level > 9) {
    throw Error("compression level " + std::to_string(level) + " is outside 1..9");
  }
  compression_level_default = level;
}

bool default_nifti2() {
  return nifti2_default.load();
}

void set_default_nifti2(bool nifti2) {
  nifti2_default = nifti2;
}

}  // namespace medimg
