// Registration metrics on distributed images (DESIGN.md section 5): the
// fixed image in k-slabs, the moving image a DistributedSampler; the moving
// image is resampled onto the fixed slabs (distributed resample), every sum
// of the metric (valid count, dot products, Mattes' joint histogram) is the
// single-process MetricCore's, completed by MPI_Allreduce, and the parameter
// gradient comes from the distributed backward (its 12 sums Allreduced). So
// every rank holds the same value and gradient, and an optimiser run on
// each rank (optimize()) takes the same steps on every rank, equal to the
// single-process run up to the order of the additions.
//
// Single-level: the Gaussian pyramid of register_images is not distributed
// yet (see docs/SCALING.md).
#pragma once

#include <mpi.h>

#include <limits>

#include "medimg/dist/backward.hpp"
#include "medimg/register/metric.hpp"

namespace medimg {

namespace impl {

// min and max over every rank's owned voxels (NaN ignored).
template <class ExecutionSpace, class T, class MemorySpace>
Statistics range(const ExecutionSpace& exec, const DistributedImage<T, MemorySpace>& image) {
  const auto owned = image.owned();
  using Functor = StatisticsReduction<typename DistributedImage<T, MemorySpace>::view_type>;
  Functor functor{owned.data()};
  typename Functor::value_type local;
  Kokkos::parallel_reduce("medimg::distributed_range",
                          Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                              exec, 0, static_cast<std::int64_t>(owned.size())),
                          functor, local);
  double lo = local.min, hi = local.max;
  MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_DOUBLE, MPI_MIN, image.comm());
  MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_DOUBLE, MPI_MAX, image.comm());
  Statistics s;
  s.min = lo;
  s.max = hi;
  return s;
}

}  // namespace impl

template <class ExecutionSpace, class MemorySpace>
class DistributedMetricFunction {
 public:
  // Collective.
  DistributedMetricFunction(const ExecutionSpace& exec,
                            const DistributedImage<float, MemorySpace>& fixed,
                            const DistributedSampler<float, MemorySpace>& moving,
                            const MetricSettings& settings)
      : m_exec(exec),
        m_fixed(fixed),
        m_moving(moving),
        m_core(exec, settings, impl::range(exec, fixed), impl::range(exec, moving.image()),
               [comm = fixed.comm()](double* values, int count) {
                 impl::check_mpi(
                     MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, comm),
                     "metric sums");
               }) {
    impl::check_same_communicator(fixed.comm(), moving.image().comm(), "registration metric");
  }

  const Geometry& fixed_geometry() const { return m_fixed.geometry(); }

  // Collective. The metric at `transform` (the same on every rank); with
  // `gradient`, also dL/dtheta.
  double evaluate(const ParametricTransform& transform, std::vector<double>* gradient,
                  std::int64_t* valid_points = nullptr) const {
    return impl::evaluate_metric(
        m_exec, m_core, m_fixed, m_moving, transform, gradient, valid_points,
        [](const DistributedImage<float, MemorySpace>& image) { return image.owned(); },
        [comm = m_fixed.comm()](const Geometry& grid) {
          return DistributedImage<float, MemorySpace>(comm, grid, 0, false);
        });
  }

 private:
  ExecutionSpace m_exec;
  DistributedImage<float, MemorySpace> m_fixed;
  DistributedSampler<float, MemorySpace> m_moving;
  impl::MetricCore<ExecutionSpace, MemorySpace> m_core;
};

}  // namespace medimg
