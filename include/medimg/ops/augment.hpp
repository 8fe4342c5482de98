// Random augmentation, seeded and reproducible (docs/AUGMENTATION.md).
//
// Every random number is a pure function of (seed, item, stream, draw)
// (core/random.hpp): `item` is the image's index in its cohort (not in a
// batch), `stream` tells steps of one pipeline apart (the step number), and
// `draw` numbers the values one augmentation takes. So an item's result is
// the same on every backend, thread count, rank count and batch size.
//
//   random_affine   rotation, scaling, shear and translation about the
//                   image's centre, along the image's own axes (TorchIO's
//                   RandomAffine; MONAI's RandAffine for the shear)
//   random_flip     each chosen axis flipped with a probability (TorchIO's
//                   RandomFlip)
//
// A draw is returned with the image (and, in a pipeline, recorded in the
// batch report) so that any output can be made again exactly.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "medimg/core/batched_image.hpp"
#include "medimg/core/random.hpp"
#include "medimg/interp/interpolator.hpp"
#include "medimg/ops/batched.hpp"
#include "medimg/ops/flip.hpp"
#include "medimg/resample/batched.hpp"
#include "medimg/resample/resample.hpp"
#include "medimg/transform/affine.hpp"

namespace medimg {

// Where an item's random numbers come from.
struct RandomKey {
  std::uint64_t seed = 0;
  std::uint64_t item = 0;
  std::uint32_t stream = 0;
};

// Uniform in [low, high) for draw `draw` of `key` (low when low == high).
double random_between(const RandomKey& key, std::uint32_t draw, double low, double high);

using Range = std::pair<double, double>;  // [low, high], low <= high

struct RandomAffineOptions {
  // Per image axis (i, j, k). Degrees: the content turns about the axis
  // through the centre, right-hand rule (as `rotate`). Scales: > 1 enlarges
  // the content (as `scale`); `isotropic` takes axis i's draw for all three.
  // Translation: millimetres along the image's axes (the content moves).
  // Shear: the (i, j), (i, k) and (j, k) terms of an upper triangular matrix.
  std::array<Range, 3> degrees{{{-10.0, 10.0}, {-10.0, 10.0}, {-10.0, 10.0}}};
  std::array<Range, 3> scales{{{0.9, 1.1}, {0.9, 1.1}, {0.9, 1.1}}};
  bool isotropic = false;
  std::array<Range, 3> translation{{{0.0, 0.0}, {0.0, 0.0}, {0.0, 0.0}}};
  std::array<Range, 3> shear{{{0.0, 0.0}, {0.0, 0.0}, {0.0, 0.0}}};
  Interp interp = Interp::linear;
  double fill = 0.0;
};

// What random_affine drew for one item, and the transform it resampled with
// (output points to input points, as `affine`).
struct AffineDraw {
  Vec3 degrees{}, scales{}, translation{}, shear{};
  AffineTransform transform;
};

// Draws 0-2 degrees, 3-5 scales, 6-8 translation, 9-11 shear. Throws
// medimg::Error for a range with low > high or a scale range reaching 0.
AffineDraw draw_random_affine(const Geometry& geometry, const RandomAffineOptions& options,
                              const RandomKey& key);

// The content motion of a draw: y = c + D R_k R_j R_i H S D^T (x - c) + D t
// (c the centre, D the direction, H the shear, S the scales, t the
// translation), inverted for resampling.
AffineTransform random_affine_transform(const Geometry& geometry, const Vec3& degrees,
                                        const Vec3& scales, const Vec3& translation,
                                        const Vec3& shear);

struct RandomFlipOptions {
  std::array<bool, 3> axes{{true, false, false}};
  double probability = 0.5;
};

// Draw a (0, 1, 2): axis a flipped when axes[a] and the draw < probability.
std::array<bool, 3> draw_random_flip(const RandomFlipOptions& options, const RandomKey& key);

void check_random_affine_options(const RandomAffineOptions& options);
void check_random_flip_options(const RandomFlipOptions& options);

// One image.
template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> random_affine(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                                    const RandomAffineOptions& options, const RandomKey& key,
                                    AffineDraw* drawn = nullptr) {
  const AffineDraw draw = draw_random_affine(image.geometry(), options, key);
  if (drawn) *drawn = draw;
  return resample(exec, image.geometry(), image, draw.transform, options.interp, options.fill);
}

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> random_flip(const ExecutionSpace& exec, const Image<T, MemorySpace>& image,
                                  const RandomFlipOptions& options, const RandomKey& key,
                                  std::array<bool, 3>* drawn = nullptr) {
  const std::array<bool, 3> flips = draw_random_flip(options, key);
  if (drawn) *drawn = flips;
  Image<T, MemorySpace> out = image;
  bool copied = false;
  for (int a = 0; a < 3; ++a) {
    if (!flips[static_cast<std::size_t>(a)]) continue;
    out = flip(exec, out, static_cast<Axis>(a));
    copied = true;
  }
  return copied ? out : clone(image);
}

// A batch: item n draws with item index first_item + n, so its result is
// the one-image result of that item. One resample launch (one index copy
// for flips) for the whole batch.
template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> random_affine_batch(const ExecutionSpace& exec,
                                                 const BatchedImage<T, MemorySpace>& batch,
                                                 const RandomAffineOptions& options,
                                                 std::uint64_t seed, std::uint64_t first_item,
                                                 std::uint32_t stream,
                                                 std::vector<AffineDraw>* drawn = nullptr) {
  std::vector<AffineTransform> transforms;
  if (drawn) drawn->clear();
  for (std::size_t n = 0; n < batch.count(); ++n) {
    const AffineDraw draw =
        draw_random_affine(batch.geometry(n), options, RandomKey{seed, first_item + n, stream});
    transforms.push_back(draw.transform);
    if (drawn) drawn->push_back(draw);
  }
  return resample_batch(exec, batch.geometries(), batch, transforms, options.interp, options.fill);
}

template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> random_flip_batch(const ExecutionSpace& exec,
                                               const BatchedImage<T, MemorySpace>& batch,
                                               const RandomFlipOptions& options, std::uint64_t seed,
                                               std::uint64_t first_item, std::uint32_t stream,
                                               std::vector<std::array<bool, 3>>* drawn = nullptr) {
  std::vector<std::array<bool, 3>> flips;
  for (std::size_t n = 0; n < batch.count(); ++n) {
    flips.push_back(draw_random_flip(options, RandomKey{seed, first_item + n, stream}));
  }
  if (drawn) *drawn = flips;
  return flip_batch(exec, batch, flips);
}

}  // namespace medimg
