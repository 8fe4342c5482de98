// Sampler<T, MemorySpace>: an image made ready for interpolation with one
// interpolator. For Interp::bspline it holds the prefiltered coefficients,
// computed once when the Sampler is made and reused by every resample that
// takes it (registration resamples the same moving image many times).
#pragma once

#include <Kokkos_Core.hpp>
#include <utility>

#include "medimg/core/image.hpp"
#include "medimg/interp/bspline.hpp"
#include "medimg/interp/linear.hpp"
#include "medimg/interp/nearest.hpp"

namespace medimg {

template <class T, class MemorySpace>
class Sampler {
 public:
  using value_type = T;
  using memory_space = MemorySpace;
  using real_type = interp_real_t<T>;
  using voxel_view = typename Image<T, MemorySpace>::view_type::const_type;
  using coefficient_view = Kokkos::View<const real_type***, Kokkos::LayoutLeft, MemorySpace>;

  template <class ExecutionSpace>
  Sampler(const ExecutionSpace& exec, const Image<T, MemorySpace>& image, Interp interp)
      : m_image(image), m_interp(interp) {
    if (interp == Interp::bspline) m_coefficients = bspline_coefficients(exec, image);
  }
  Sampler(const Image<T, MemorySpace>& image, Interp interp)
      : Sampler(typename MemorySpace::execution_space(), image, interp) {}

  const Image<T, MemorySpace>& image() const { return m_image; }
  const Geometry& geometry() const { return m_image.geometry(); }
  Interp interp() const { return m_interp; }
  const coefficient_view& coefficients() const { return m_coefficients; }

  // Calls f(interpolator) with the device functor of this sampler's kind.
  template <class F>
  decltype(auto) visit(F&& f) const {
    const Size3& size = m_image.geometry().size();
    switch (m_interp) {
      case Interp::nearest: return f(NearestInterpolator<voxel_view>{m_image.voxels(), size});
      case Interp::linear: return f(LinearInterpolator<voxel_view>{m_image.voxels(), size});
      case Interp::bspline: break;
    }
    return f(BSplineInterpolator<coefficient_view>{m_coefficients, size});
  }

 private:
  Image<T, MemorySpace> m_image;
  Interp m_interp;
  coefficient_view m_coefficients;
};

}  // namespace medimg
