// The explicit instantiations that ops/detail/index_copy.hpp declares extern.
#include "medimg/ops/detail/index_copy.hpp"

namespace medimg {

MEDIMG_FOR_EACH_PIXEL_TYPE(MEDIMG_INDEX_COPY)

}  // namespace medimg
