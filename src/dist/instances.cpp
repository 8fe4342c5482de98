// The explicit instantiations that dist/resample.hpp declares extern.
#include "medimg/dist/resample.hpp"

namespace medimg {

MEDIMG_FOR_EACH_PIXEL_TYPE(MEDIMG_DIST_RESAMPLE)
MEDIMG_FOR_EACH_PIXEL_TYPE(MEDIMG_DIST_INDEX_COPY)

}  // namespace medimg
