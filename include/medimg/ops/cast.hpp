// cast<Out>(image): the same image with another pixel type, converted voxel
// by voxel with pixel_cast (integers round to nearest and clamp). Geometry and
// metadata are kept.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>

#include "medimg/core/image.hpp"
#include "medimg/core/pixel_cast.hpp"

namespace medimg {

template <class Out, class ExecutionSpace, class In, class MemorySpace>
Image<Out, MemorySpace> cast(const ExecutionSpace& exec, const Image<In, MemorySpace>& image) {
  auto result = Image<Out, MemorySpace>::uninitialized(image.geometry(), "medimg::cast");
  result.metadata() = image.metadata();
  Kokkos::parallel_for("medimg::cast",
                       Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                           exec, 0, image.geometry().voxel_count()),
                       impl::CastVoxels<Out, In>{image.voxels().data(), result.voxels().data()});
  return result;
}

template <class Out, class In, class MemorySpace>
Image<Out, MemorySpace> cast(const Image<In, MemorySpace>& image) {
  return cast<Out>(typename MemorySpace::execution_space(), image);
}

// cast_to: cast of an image whose type is known only at run time.
template <class MemorySpace>
AnyImage<MemorySpace> cast_to(const AnyImage<MemorySpace>& image, PixelType type) {
  return std::visit(
      [type](const auto& typed) {
        return visit_pixel_type(type, [&typed](auto out) -> AnyImage<MemorySpace> {
          return cast<decltype(out)>(typed);
        });
      },
      image);
}

}  // namespace medimg
