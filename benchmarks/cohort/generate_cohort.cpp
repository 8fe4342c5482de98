// medimg_cohort_generate DIR [N] [NX NY] [FORMATS] [NZ]
// A synthetic but CT-like cohort for the cohort benchmark: N scans (default
// 40) of NX x NY (default 512 x 512) x NZ (default 60..140) int16 voxels in Hounsfield-like
// units (air -1000, soft tissue 40, lungs -850, spine 700, noise), spacing
// (0.6..0.9, same, 1.5..5) mm, directions cycling LPS / RAS / oblique (12
// degrees about a tilted axis). Each scan is written in every format of
// FORMATS (default "nii.gz,nii,h5") to DIR/<format>/scanNNN.<ext>, with one
// manifest per format, DIR/manifest_<format>.csv.
#include <Kokkos_Core.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/scope_guard.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/transform/affine.hpp"

namespace {

using namespace medimg;

// Deterministic per-voxel noise: a hash to [0, 1), four of them summed
// (roughly Gaussian, sd about 0.29).
KOKKOS_INLINE_FUNCTION double unit_noise(std::uint64_t seed, std::uint64_t n) {
  double sum = 0.0;
  for (std::uint64_t r = 0; r < 4; ++r) {
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + n * 4 + r;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    sum += static_cast<double>(x >> 11) * (1.0 / 9007199254740992.0);
  }
  return sum - 2.0;
}

struct CtPhantom {
  std::int16_t* voxels;
  std::int64_t nx, ny, nz;
  double sx, sy, sz;
  std::uint64_t seed;

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t k) const {
    for (std::int64_t j = 0; j < ny; ++j) {
      for (std::int64_t i = 0; i < nx; ++i) {
        const double x = (static_cast<double>(i) - 0.5 * static_cast<double>(nx - 1)) * sx;
        const double y = (static_cast<double>(j) - 0.5 * static_cast<double>(ny - 1)) * sy;
        const double z = (static_cast<double>(k) - 0.5 * static_cast<double>(nz - 1)) * sz;
        const std::uint64_t n = static_cast<std::uint64_t>((k * ny + j) * nx + i);
        double hu = -1000.0 + 5.0 * unit_noise(seed, n);
        const double body = (x / 150.0) * (x / 150.0) + (y / 110.0) * (y / 110.0);
        if (body < 1.0) {
          hu = 40.0 + 20.0 * std::sin(0.02 * z) + 60.0 * unit_noise(seed, n);
          for (const double side : {-70.0, 70.0}) {
            const double lung = ((x - side) / 45.0) * ((x - side) / 45.0) +
                                ((y + 10.0) / 60.0) * ((y + 10.0) / 60.0);
            if (lung < 1.0) hu = -850.0 + 40.0 * unit_noise(seed, n);
          }
          if (x * x + (y - 70.0) * (y - 70.0) < 15.0 * 15.0)
            hu = 700.0 + 80.0 * unit_noise(seed, n);
          if (body > 0.92) hu = -100.0 + 30.0 * unit_noise(seed, n);  // fat layer
        }
        voxels[n] = static_cast<std::int16_t>(std::lround(hu));
      }
    }
  }
};

Mat3 direction_of(int scan) {
  switch (scan % 3) {
    case 0: return identity_matrix();  // LPS
    case 1: return direction_from_code("RAS");
    default: {
      const double t = 1.0 / std::sqrt(1.0 + 0.09);
      return AffineTransform::rotation(Vec3{t, 0.3 * t, 0.0}, 12.0, Vec3{0, 0, 0}).matrix();
    }
  }
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream s(text);
  for (std::string part; std::getline(s, part, ',');) parts.push_back(part);
  return parts;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [N] [NX NY] [FORMATS] [NZ]\n", argv[0]);
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  const int count = argc > 2 ? std::atoi(argv[2]) : 40;
  const std::int64_t nx = argc > 4 ? std::atoll(argv[3]) : 512;
  const std::int64_t ny = argc > 4 ? std::atoll(argv[4]) : 512;
  const std::vector<std::string> formats = split(argc > 5 ? argv[5] : "nii.gz,nii,h5");
  // NZ: every scan that many slices (default: 60 to 140, varying).
  const std::int64_t fixed_nz = argc > 6 ? std::atoll(argv[6]) : 0;
  try {
    medimg::ScopeGuard guard(argc, argv);
    for (const std::string& format : formats) fs::create_directories(dir / format);
    std::vector<std::ofstream> manifests;
    for (const std::string& format : formats) {
      manifests.emplace_back(dir / ("manifest_" + format + ".csv"));
      manifests.back() << "input,output,modality\n";
    }
    std::uint64_t voxels = 0;
    for (int s = 0; s < count; ++s) {
      const std::int64_t nz = fixed_nz > 0 ? fixed_nz : 60 + (s * 37) % 81;
      const double sxy = 0.6 + 0.3 * std::fmod(s * 0.618034, 1.0);
      const double sz = 1.5 + 3.5 * std::fmod(s * 0.414214 + 0.25, 1.0);
      const Size3 size{nx, ny, nz};
      const Mat3 d = direction_of(s);
      // Origin: the grid centred on the physical origin.
      Vec3 origin{0, 0, 0};
      const Vec3 half_extent{0.5 * (nx - 1) * sxy, 0.5 * (ny - 1) * sxy, 0.5 * (nz - 1) * sz};
      for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 3; ++c) origin[r] -= d[r][c] * half_extent[c];
      }
      Image<std::int16_t, HostMemory> scan(Geometry(size, origin, Vec3{sxy, sxy, sz}, d),
                                           "cohort_scan");
      scan.metadata().modality = Modality::CT;
      Kokkos::parallel_for("cohort_phantom",
                           Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>(0, nz),
                           CtPhantom{scan.voxels().data(), nx, ny, nz, sxy, sxy, sz,
                                     static_cast<std::uint64_t>(s + 1)});
      Kokkos::fence();
      char name[32];
      std::snprintf(name, sizeof name, "scan%03d", s);
      for (std::size_t f = 0; f < formats.size(); ++f) {
        const std::string ext = formats[f] == "h5" ? ".h5" : "." + formats[f];
        const fs::path path = dir / formats[f] / (name + ext);
        save_image(scan, path.string());
        manifests[f] << fs::absolute(path).string() << "," << name << ext << ",CT\n";
      }
      voxels += static_cast<std::uint64_t>(nx * ny * nz);
      std::printf("generated %s %lldx%lldx%lld spacing %.3f %.3f %.2f %s\n", name,
                  static_cast<long long>(nx), static_cast<long long>(ny),
                  static_cast<long long>(nz), sxy, sxy, sz,
                  scan.geometry().orientation_code().c_str());
      std::fflush(stdout);
    }
    std::printf("cohort: %d scans, %.2f Gvoxels, in %s\n", count, voxels / 1e9,
                dir.string().c_str());
  } catch (const medimg::Error& e) {
    std::fprintf(stderr, "medimg_cohort_generate: %s\n", e.what());
    return 1;
  }
  return 0;
}
