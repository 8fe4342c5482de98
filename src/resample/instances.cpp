// The explicit instantiations that resample/resample.hpp declares extern.
#include "medimg/resample/resample.hpp"

namespace medimg {

MEDIMG_FOR_EACH_PIXEL_TYPE(MEDIMG_RESAMPLE_AFFINE)

}  // namespace medimg
