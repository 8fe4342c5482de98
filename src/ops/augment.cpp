// Random augmentation draws (include/medimg/ops/augment.hpp).
#include "medimg/ops/augment.hpp"

#include "medimg/ops/augment_elastic.hpp"
#include "medimg/ops/augment_intensity.hpp"

#include <cmath>
#include <string>

#include "medimg/core/error.hpp"

namespace medimg {

namespace {

// The counter of draw `draw` within the key's stream (bit 39 set: a
// per-voxel draw, random_voxel_draw).
std::uint64_t draw_counter(const RandomKey& key, std::uint32_t draw) {
  return (static_cast<std::uint64_t>(key.stream) << 40) | draw;
}

void check_range(const char* what, const Range& r) {
  if (!std::isfinite(r.first) || !std::isfinite(r.second) || r.first > r.second) {
    throw Error(std::string(what) + " range [" + std::to_string(r.first) + ", " +
                std::to_string(r.second) + "] must be two finite numbers, low <= high");
  }
}

}  // namespace

double random_between(const RandomKey& key, std::uint32_t draw, double low, double high) {
  if (low == high) return low;
  return low + (high - low) * random_uniform(key.seed, key.item, draw_counter(key, draw));
}

void check_random_affine_options(const RandomAffineOptions& o) {
  for (int a = 0; a < 3; ++a) {
    check_range("random_affine: degrees", o.degrees[static_cast<std::size_t>(a)]);
    check_range("random_affine: scales", o.scales[static_cast<std::size_t>(a)]);
    check_range("random_affine: translation", o.translation[static_cast<std::size_t>(a)]);
    check_range("random_affine: shear", o.shear[static_cast<std::size_t>(a)]);
    if (!(o.scales[static_cast<std::size_t>(a)].first > 0.0)) {
      throw Error("random_affine: scales must be > 0 (got a range from " +
                  std::to_string(o.scales[static_cast<std::size_t>(a)].first) + ")");
    }
  }
  if (!std::isfinite(o.fill)) throw Error("random_affine: fill must be a finite number");
}

void check_random_flip_options(const RandomFlipOptions& o) {
  if (!(o.probability >= 0.0 && o.probability <= 1.0)) {
    throw Error("random_flip: probability " + std::to_string(o.probability) +
                " must lie in [0, 1]");
  }
}

AffineTransform random_affine_transform(const Geometry& g, const Vec3& degrees, const Vec3& scales,
                                        const Vec3& translation, const Vec3& shear) {
  // Shear and scales in the image's axis frame, then the rotations about the
  // image's axes in physical space, right-hand rule (as `rotate`, also for
  // a left-handed frame).
  const Mat3 s{Vec3{scales[0], 0, 0}, Vec3{0, scales[1], 0}, Vec3{0, 0, scales[2]}};
  const Mat3 h{Vec3{1, shear[0], shear[1]}, Vec3{0, 1, shear[2]}, Vec3{0, 0, 1}};
  const Mat3& d = g.direction();
  Mat3 physical = multiply(multiply(d, multiply(h, s)), transpose(d));
  for (int a = 0; a < 3; ++a) {
    const Vec3 axis{d[0][a], d[1][a], d[2][a]};
    physical =
        multiply(AffineTransform::rotation(axis, degrees[a], Vec3{0, 0, 0}).matrix(), physical);
  }
  Vec3 moved{0, 0, 0};
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) moved[r] += d[r][c] * translation[c];
  }
  // The content motion maps input points to output points; resampling takes
  // its inverse.
  return AffineTransform(physical, moved, g.center()).inverse();
}

AffineDraw draw_random_affine(const Geometry& g, const RandomAffineOptions& o,
                              const RandomKey& key) {
  check_random_affine_options(o);
  AffineDraw draw;
  for (int a = 0; a < 3; ++a) {
    const auto u = static_cast<std::uint32_t>(a);
    const auto s = static_cast<std::size_t>(a);
    draw.degrees[a] = random_between(key, u, o.degrees[s].first, o.degrees[s].second);
    draw.scales[a] = random_between(key, 3 + u, o.scales[s].first, o.scales[s].second);
    draw.translation[a] =
        random_between(key, 6 + u, o.translation[s].first, o.translation[s].second);
    draw.shear[a] = random_between(key, 9 + u, o.shear[s].first, o.shear[s].second);
  }
  if (o.isotropic) draw.scales[1] = draw.scales[2] = draw.scales[0];
  draw.transform =
      random_affine_transform(g, draw.degrees, draw.scales, draw.translation, draw.shear);
  return draw;
}

std::array<bool, 3> draw_random_flip(const RandomFlipOptions& o, const RandomKey& key) {
  check_random_flip_options(o);
  std::array<bool, 3> flips{{false, false, false}};
  for (int a = 0; a < 3; ++a) {
    const auto s = static_cast<std::size_t>(a);
    flips[s] =
        o.axes[s] && random_between(key, static_cast<std::uint32_t>(a), 0.0, 1.0) < o.probability;
  }
  return flips;
}

void check_random_elastic_options(const RandomElasticOptions& o) {
  for (std::size_t a = 0; a < 3; ++a) {
    if (o.control_points[a] < 4 || o.control_points[a] > max_bspline_displacement_points) {
      throw Error("random_elastic: control points per axis must lie in [4, " +
                  std::to_string(max_bspline_displacement_points) + "], got " +
                  std::to_string(o.control_points[a]));
    }
    if (!std::isfinite(o.max_displacement[a]) || o.max_displacement[a] < 0.0) {
      throw Error("random_elastic: max_displacement must be finite numbers >= 0");
    }
  }
  if (o.locked_borders < 0 || o.locked_borders > 2) {
    throw Error("random_elastic: locked_borders must be 0, 1 or 2");
  }
  if (!std::isfinite(o.fill)) throw Error("random_elastic: fill must be a finite number");
}

ElasticDraw draw_random_elastic(const RandomElasticOptions& o, const RandomKey& key) {
  check_random_elastic_options(o);
  ElasticDraw draw;
  draw.points = o.control_points;
  const std::int64_t mx = o.control_points[0], my = o.control_points[1], mz = o.control_points[2];
  draw.displacements.assign(static_cast<std::size_t>(3 * mx * my * mz), 0.0);
  const std::int64_t lock = o.locked_borders;
  const auto locked = [lock](std::int64_t p, std::int64_t m) { return p < lock || p >= m - lock; };
  for (std::int64_t r = 0; r < mz; ++r) {
    for (std::int64_t q = 0; q < my; ++q) {
      for (std::int64_t p = 0; p < mx; ++p) {
        const std::int64_t at = 3 * (p + mx * (q + my * r));
        if (locked(p, mx) || locked(q, my) || locked(r, mz)) continue;
        for (int a = 0; a < 3; ++a) {
          const double m = o.max_displacement[static_cast<std::size_t>(a)];
          draw.displacements[static_cast<std::size_t>(at + a)] =
              random_between(key, static_cast<std::uint32_t>(at + a), -m, m);
        }
      }
    }
  }
  return draw;
}

void check_random_intensity_options(const RandomIntensityOptions& o) {
  check_range("random_intensity: log_gamma", o.log_gamma);
  check_range("random_intensity: noise_std", o.noise_std);
  if (o.noise_std.first < 0.0) throw Error("random_intensity: noise_std must be >= 0");
  if (!std::isfinite(o.noise_mean)) throw Error("random_intensity: noise_mean must be finite");
  if (!std::isfinite(o.bias) || o.bias < 0.0) {
    throw Error("random_intensity: bias must be a finite number >= 0");
  }
  if (o.bias_order < 0 || o.bias_order > max_bias_order) {
    throw Error("random_intensity: bias_order must lie in [0, " + std::to_string(max_bias_order) +
                "]");
  }
}

IntensityDraw draw_random_intensity(const RandomIntensityOptions& o, const RandomKey& key) {
  check_random_intensity_options(o);
  IntensityDraw d;
  d.gamma = std::exp(random_between(key, 0, o.log_gamma.first, o.log_gamma.second));
  d.noise_std = random_between(key, 1, o.noise_std.first, o.noise_std.second);
  if (o.bias > 0.0) {
    const int k = o.bias_order;
    const int terms = (k + 1) * (k + 2) * (k + 3) / 6;
    for (int t = 0; t < terms; ++t) {
      d.bias.push_back(random_between(key, static_cast<std::uint32_t>(2 + t), -o.bias, o.bias));
    }
  }
  return d;
}

}  // namespace medimg
