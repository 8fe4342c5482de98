// random_intensity: TorchIO's RandomBiasField, RandomGamma and RandomNoise
// in one pass, in that order (each off when its range is 0):
//   bias   x * exp(sum c_abc X^a Y^b Z^c), a + b + c <= order, coefficients
//          uniform in [-bias, bias], X, Y, Z the voxel index mapped onto
//          [-1, 1] along each axis (TorchIO's generate_bias_field);
//   gamma  sign(x) |x|^g, g = exp(uniform in the log-gamma range);
//   noise  + normal(mean, s), s uniform in the std range: voxels 2q and
//          2q + 1 of the image take Box-Muller's two normals of counter q.
// Integer images round and clamp (pixel_cast). A batch is one launch; one
// image is a batch of one. Host backends give the same bits; GPUs' exp, pow
// and log may differ from glibc's in the last place.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <vector>

#include "medimg/core/batched_image.hpp"
#include "medimg/core/kokkos_compat.hpp"
#include "medimg/core/pixel_cast.hpp"
#include "medimg/core/random.hpp"
#include "medimg/ops/augment.hpp"

namespace medimg {

inline constexpr int max_bias_order = 6;

struct RandomIntensityOptions {
  Range log_gamma{-0.3, 0.3};
  Range noise_std{0.0, 0.25};
  double noise_mean = 0.0;
  double bias = 0.5;  // coefficients uniform in [-bias, bias]; 0: no bias field
  int bias_order = 3;
};

struct IntensityDraw {
  double gamma = 1.0;
  double noise_std = 0.0;
  std::vector<double> bias;  // (order+1)(order+2)(order+3)/6 coefficients, TorchIO's order
};

void check_random_intensity_options(const RandomIntensityOptions& options);
// Draw 0 gamma, 1 noise std, 2.. the bias coefficients; the noise of voxels
// 2q and 2q + 1 comes from the counter random_voxel_draw(stream, q).
IntensityDraw draw_random_intensity(const RandomIntensityOptions& options, const RandomKey& key);

// The counter of per-voxel draw `voxel` in `stream` (apart from the scalar
// draws: bit 39 set).
KOKKOS_INLINE_FUNCTION std::uint64_t random_voxel_draw(std::uint32_t stream, std::int64_t voxel) {
  return (static_cast<std::uint64_t>(stream) << 40) | (std::uint64_t(1) << 39) |
         static_cast<std::uint64_t>(voxel);
}

namespace impl {

struct IntensityItem {
  double gamma, noise_std, noise_mean;
  std::uint64_t seed, item;
  std::uint32_t stream;
  int terms;
  double bias[84];  // up to order 6
};

template <class View4>
struct IntensityVoxels {
  using T = typename View4::non_const_value_type;
  typename View4::const_type in;
  View4 out;
  Kokkos::View<const IntensityItem*, typename View4::memory_space> items;
  Size3 size;
  int order;

  KOKKOS_INLINE_FUNCTION static double unit(std::int64_t x, std::int64_t n) {
    return n > 1 ? (2.0 * static_cast<double>(x) - static_cast<double>(n - 1)) /
                       static_cast<double>(n - 1)
                 : 0.0;
  }

  // Voxel v of item n (flat = n * count + v) before the noise.
  KOKKOS_INLINE_FUNCTION double biased(const IntensityItem& p, std::int64_t flat,
                                       std::int64_t v) const {
    double x = static_cast<double>(in.data()[flat]);
    if (p.terms > 0) {
      const std::int64_t i = v % size[0], j = (v / size[0]) % size[1], k = v / (size[0] * size[1]);
      double px[max_bias_order + 1], py[max_bias_order + 1], pz[max_bias_order + 1];
      px[0] = py[0] = pz[0] = 1.0;
      const double X = unit(i, size[0]), Y = unit(j, size[1]), Z = unit(k, size[2]);
      for (int a = 1; a <= order; ++a) {
        px[a] = px[a - 1] * X;
        py[a] = py[a - 1] * Y;
        pz[a] = pz[a - 1] * Z;
      }
      double sum = 0.0;
      int t = 0;
      for (int a = 0; a <= order; ++a) {
        for (int b = 0; b <= order - a; ++b) {
          for (int c = 0; c <= order - a - b; ++c) sum += p.bias[t++] * px[a] * py[b] * pz[c];
        }
      }
      x *= compat::exp(sum);
    }
    if (p.gamma != 1.0) {
      const double m = compat::pow(compat::fabs(x), p.gamma);
      x = x < 0.0 ? -m : m;
    }
    return x;
  }

  // Voxels 2q and 2q + 1 of an item (work item n * pairs + q): one counter
  // (q) gives both of Box-Muller's normals, r cos and r sin.
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t pair) const {
    const std::int64_t count = size[0] * size[1] * size[2];
    const std::int64_t pairs = (count + 1) / 2;
    const std::int64_t n = pair / pairs, q = pair % pairs;
    const IntensityItem& p = items(n);
    double z[2] = {0.0, 0.0};
    if (p.noise_std != 0.0) {
      const Philox4x32 w = random_words(p.seed, p.item, random_voxel_draw(p.stream, q));
      const double r = compat::sqrt(-2.0 * compat::log(1.0 - unit_interval(w.v[0], w.v[1])));
      const double angle = 6.283185307179586 * unit_interval(w.v[2], w.v[3]);
      z[0] = r * compat::cos(angle);
      z[1] = r * compat::sin(angle);
    }
    for (int h = 0; h < 2; ++h) {
      const std::int64_t v = 2 * q + h;
      if (v >= count) break;
      const std::int64_t flat = n * count + v;
      double x = biased(p, flat, v);
      if (p.noise_std != 0.0 || p.noise_mean != 0.0) x += p.noise_mean + p.noise_std * z[h];
      out.data()[flat] = pixel_cast<T>(x);
    }
  }
};

}  // namespace impl

template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> random_intensity_batch(const ExecutionSpace& exec,
                                                    const BatchedImage<T, MemorySpace>& batch,
                                                    const RandomIntensityOptions& options,
                                                    std::uint64_t seed, std::uint64_t first_item,
                                                    std::uint32_t stream,
                                                    std::vector<IntensityDraw>* drawn = nullptr) {
  const std::size_t count = batch.count();
  Kokkos::View<impl::IntensityItem*, MemorySpace> items(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::intensity_items"), count);
  auto host_items = Kokkos::create_mirror_view(items);
  if (drawn) drawn->clear();
  for (std::size_t n = 0; n < count; ++n) {
    const RandomKey key{seed, first_item + n, stream};
    const IntensityDraw d = draw_random_intensity(options, key);
    impl::IntensityItem& p = host_items(n);
    p = impl::IntensityItem{d.gamma,
                            d.noise_std,
                            options.noise_mean,
                            key.seed,
                            key.item,
                            stream,
                            static_cast<int>(d.bias.size()),
                            {}};
    for (std::size_t t = 0; t < d.bias.size(); ++t) p.bias[t] = d.bias[t];
    if (drawn) drawn->push_back(d);
  }
  Kokkos::deep_copy(exec, items, host_items);
  auto result =
      BatchedImage<T, MemorySpace>::uninitialized(batch.geometries(), "medimg::intensity");
  for (std::size_t n = 0; n < count; ++n) result.metadata(n) = batch.metadata(n);
  const Size3& size = batch.size();
  using View4 = typename BatchedImage<T, MemorySpace>::view_type;
  Kokkos::parallel_for(
      "medimg::random_intensity",
      Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
          exec, 0, (size[0] * size[1] * size[2] + 1) / 2 * static_cast<std::int64_t>(count)),
      impl::IntensityVoxels<View4>{batch.voxels(), result.voxels(), items, size,
                                   options.bias_order});
  exec.fence();  // the item parameters are freed at the end of this scope
  return result;
}

template <class ExecutionSpace, class T, class MemorySpace>
Image<T, MemorySpace> random_intensity(const ExecutionSpace& exec,
                                       const Image<T, MemorySpace>& image,
                                       const RandomIntensityOptions& options, const RandomKey& key,
                                       IntensityDraw* drawn = nullptr) {
  const auto one = BatchedImage<T, MemorySpace>::of_one(image);
  std::vector<IntensityDraw> draws;
  const auto out =
      random_intensity_batch(exec, one, options, key.seed, key.item, key.stream, &draws);
  if (drawn) *drawn = draws.front();
  return out.item(0);
}

}  // namespace medimg
