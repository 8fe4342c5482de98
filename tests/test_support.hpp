// Helpers shared by the suites: real-data paths (Debian packages installed by
// scripts/setup.sh), a scratch folder per test, the oblique anisotropic
// geometry the tests use, and geometry comparison.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "medimg/core/image.hpp"
#include "medimg/transform/affine.hpp"

namespace medimg::test {

inline const std::string mricron_dir = "/usr/share/mricron/templates";
inline const std::string nibabel_data_dir = "/usr/lib/python3/dist-packages/nibabel/tests/data";
inline const std::string pydicom_data_dir =
    "/usr/lib/python3/dist-packages/pydicom/data/test_files";

// A fresh, empty folder for one test under the build tree's Testing/ area.
inline std::filesystem::path scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  const auto dir = std::filesystem::current_path() / "scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A rotation (right-handed, about an axis) as a direction matrix.
// A file's bytes, and a file made of bytes (tests that damage headers).
inline std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline Mat3 rotation(const Vec3& axis, double degrees) {
  return AffineTransform::rotation(axis, degrees, Vec3{0.0, 0.0, 0.0}).matrix();
}

// Oblique (about a tilted axis) and anisotropic: what every geometry test uses.
inline Geometry oblique_geometry(Size3 size = Size3{23, 17, 11}) {
  const double n = std::sqrt(1.0 + 4.0 + 9.0);
  return Geometry(size, Vec3{-12.5, 30.25, -7.75}, Vec3{0.7, 1.3, 2.9},
                  rotation(Vec3{1.0 / n, 2.0 / n, 3.0 / n}, 27.0));
}

// Rotated about all three axes by non-trivial angles.
inline Mat3 oblique_direction() {
  return multiply(rotation(Vec3{0, 0, 1}, 31.0),
                  multiply(rotation(Vec3{0, 1, 0}, -23.0), rotation(Vec3{1, 0, 0}, 17.0)));
}

// A smooth volume: sinusoids and a Gaussian blob in physical coordinates.
inline Image<float, HostMemory> smooth_volume(const Geometry& g) {
  Image<float, HostMemory> image(g);
  const Vec3 c = g.center();
  for (std::int64_t k = 0; k < g.size()[2]; ++k) {
    for (std::int64_t j = 0; j < g.size()[1]; ++j) {
      for (std::int64_t i = 0; i < g.size()[0]; ++i) {
        const Vec3 p = g.index_to_physical(Vec3{double(i), double(j), double(k)});
        const double x = p[0] - c[0], y = p[1] - c[1], z = p[2] - c[2];
        const double v = 400.0 + 150.0 * std::sin(0.21 * x) * std::cos(0.17 * y) +
                         90.0 * std::cos(0.11 * z + 0.3) +
                         300.0 * std::exp(-(x * x + y * y + z * z) / 180.0);
        image.voxels()(i, j, k) = static_cast<float>(v);
      }
    }
  }
  return image;
}

inline Geometry synthetic_grid() {
  return Geometry(Size3{40, 34, 26}, Vec3{-17.5, 22.25, -31.0}, Vec3{0.9, 1.3, 2.7},
                  oblique_direction());
}

// Another grid over the same region: oblique differently, finer, offset.
inline Geometry other_grid(const Geometry& g) {
  const Vec3 c = g.center();
  const Size3 n{g.size()[0] + 7, g.size()[1] - 3, g.size()[2] + 5};
  const Vec3 spacing{g.spacing()[0] * 0.85, g.spacing()[1] * 1.1, g.spacing()[2] * 0.7};
  const Mat3 d = multiply(rotation(Vec3{1, 1, 0}, 12.0), g.direction());
  const Vec3 half_extent =
      multiply(d, Vec3{0.5 * (n[0] - 1) * spacing[0], 0.5 * (n[1] - 1) * spacing[1],
                       0.5 * (n[2] - 1) * spacing[2]});
  return Geometry(
      n, Vec3{c[0] - half_extent[0] + 0.4, c[1] - half_extent[1], c[2] - half_extent[2] - 0.6},
      spacing, d);
}

// The 48 orientation codes: every permutation of {L/R, P/A, S/I} and sign.
inline std::vector<std::string> all_orientation_codes() {
  std::vector<std::string> codes;
  const std::string axes[3] = {"LR", "PA", "SI"};
  int perm[3] = {0, 1, 2};
  do {
    for (int signs = 0; signs < 8; ++signs) {
      std::string code;
      for (int c = 0; c < 3; ++c) code += axes[perm[c]][(signs >> c) & 1];
      codes.push_back(code);
    }
  } while (std::next_permutation(perm, perm + 3));
  return codes;
}

inline void expect_same_geometry(const Geometry& a, const Geometry& b, double tolerance) {
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(a.size()[r], b.size()[r]) << "size along axis " << r;
    EXPECT_NEAR(a.origin()[r], b.origin()[r], tolerance) << "origin " << r;
    EXPECT_NEAR(a.spacing()[r], b.spacing()[r], tolerance) << "spacing " << r;
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(a.direction()[r][c], b.direction()[r][c], tolerance)
          << "direction[" << r << "][" << c << "]";
    }
  }
}

}  // namespace medimg::test
