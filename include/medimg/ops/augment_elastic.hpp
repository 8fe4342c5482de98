// random_elastic: TorchIO's RandomElasticDeformation. A coarse grid of
// control points, each given a random displacement (millimetres along the
// image's axes, uniform in [-max, max]), is the coefficient grid of a cubic
// B-spline (SimpleITK's BSplineTransform, as TorchIO uses it); the spline's
// value at a voxel is that voxel's displacement d, and the output is the
// displacement-field resample out(x) = in(x + d(x)) (physical: p + D d).
//
// Control-point layout, per axis with m points on n voxels: the points are
// h = (n - 1) / (m - 3) voxels apart, point p at index (p - 1) h, so points
// 1..m-2 span the image and 0 and m-1 lie one spacing outside it (the grid
// of a B-spline mesh of m - 3 cells). With u = x / h + 1,
//   d(x) = sum_{p,q,r} c[p,q,r] B3(u_i - p) B3(u_j - q) B3(u_k - r)
// (scipy.ndimage.map_coordinates(c, u, order=3, prefilter=False); tests/
// python/test_augment.py checks it). `locked_borders` 1 zeroes the outer
// ring of points, 2 the outer two (TorchIO's default).
//
// The kernel is the resample layer's (resample/bspline_displacement.hpp:
// one launch per batch, no field stored); this header draws the control
// points. One image is a batch of one.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "medimg/core/batched_image.hpp"
#include "medimg/ops/augment.hpp"
#include "medimg/resample/bspline_displacement.hpp"

namespace medimg {

// What random_elastic drew: the control-point displacements.
using ElasticDraw = BSplineDisplacementGrid;

struct RandomElasticOptions {
  std::array<std::int64_t, 3> control_points{{7, 7, 7}};
  std::array<double, 3> max_displacement{{7.5, 7.5, 7.5}};  // mm, per image axis
  int locked_borders = 2;
  Interp interp = Interp::linear;
  double fill = 0.0;
};

void check_random_elastic_options(const RandomElasticOptions& options);
ElasticDraw draw_random_elastic(const RandomElasticOptions& options, const RandomKey& key);

template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> random_elastic_batch(const ExecutionSpace& exec,
                                                  const BatchedImage<T, MemorySpace>& batch,
                                                  const RandomElasticOptions& options,
                                                  std::uint64_t seed, std::uint64_t first_item,
                                                  std::uint32_t stream,
                                                  std::vector<ElasticDraw>* drawn = nullptr) {
  std::vector<ElasticDraw> draws;
  for (std::size_t n = 0; n < batch.count(); ++n) {
    draws.push_back(draw_random_elastic(options, RandomKey{seed, first_item + n, stream}));
  }
  auto out = resample_bspline_displacement_batch(exec, batch, draws, options.interp, options.fill);
  if (drawn) *drawn = std::move(draws);
  return out;
}

// One image: a batch of one over the image's own voxels.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> random_elastic(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                                     const RandomElasticOptions& options, const RandomKey& key,
                                     ElasticDraw* drawn = nullptr) {
  const auto one = BatchedImage<T, MemorySpace>::of_one(image);
  std::vector<ElasticDraw> draws;
  const auto out = random_elastic_batch(exec, one, options, key.seed, key.item, key.stream, &draws);
  if (drawn) *drawn = draws.front();
  // The batch's voxels, kept alive by the returned image.
  return out.item(0);
}

}  // namespace medimg
