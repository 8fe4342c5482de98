// is_nifti_path (include/medimg/io/nifti_io.hpp), in every build: the CLI
// asks it also where medimg has no image IO (MEDIMG_ENABLE_ITK=OFF).
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/nifti_io.hpp"

namespace medimg {

bool is_nifti_path(const std::string& path) {
  const std::string extension = format_extension(path);
  for (const char* known : {".nii", ".nii.gz", ".hdr", ".hdr.gz", ".img", ".img.gz"}) {
    if (extension == known) return true;
  }
  return false;
}

}  // namespace medimg
