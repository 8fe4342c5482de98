// DisplacementFieldTransform: y = x + d(x), with d a 3-component field on its
// own grid (physical millimetres, LPS), interpolated linearly as ITK's
// DisplacementFieldTransform (VectorLinearInterpolateImageFunction); outside
// the field's grid the displacement is 0. Device-callable apply, so elastic
// deformations run through the same resample kernel as affine maps.
#pragma once

#include <Kokkos_Core.hpp>
#include <string>

#include "medimg/core/error.hpp"
#include "medimg/core/geometry.hpp"
#include "medimg/interp/linear.hpp"

namespace medimg {

template <class MemorySpace>
class DisplacementFieldTransform {
 public:
  // Components as three scalar volumes, (nx, ny, nz) each, LayoutLeft.
  using component_view = Kokkos::View<double***, Kokkos::LayoutLeft, MemorySpace>;

  DisplacementFieldTransform(const Geometry& grid, component_view dx, component_view dy,
                             component_view dz)
      : m_grid(grid),
        m_components{LinearInterpolator<component_view>{dx, grid.size()},
                     LinearInterpolator<component_view>{dy, grid.size()},
                     LinearInterpolator<component_view>{dz, grid.size()}} {
    for (const component_view& v : {dx, dy, dz}) {
      for (unsigned a = 0; a < 3; ++a) {
        if (static_cast<std::int64_t>(v.extent(a)) != grid.size()[a]) {
          throw Error("displacement field: component extents differ from the grid size " +
                      to_string(grid.size()));
        }
      }
    }
  }

  KOKKOS_INLINE_FUNCTION const Geometry& grid() const { return m_grid; }
  // Component a (0, 1, 2) and its linear interpolator (the adjoint scatters
  // through the same weights).
  const component_view& component(int a) const { return m_components[a].data; }
  KOKKOS_INLINE_FUNCTION const LinearInterpolator<component_view>& interpolator(int a) const {
    return m_components[a];
  }

  KOKKOS_INLINE_FUNCTION Vec3 apply(const Vec3& x) const {
    const Vec3 c = m_grid.physical_to_continuous_index(x);
    if (!m_grid.is_inside(c)) return x;
    return Vec3{x[0] + m_components[0](c), x[1] + m_components[1](c), x[2] + m_components[2](c)};
  }

 private:
  Geometry m_grid;
  Kokkos::Array<LinearInterpolator<component_view>, 3> m_components;
};

}  // namespace medimg
