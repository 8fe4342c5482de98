// Geometry against ITK: index <-> physical mapping (on the host and inside
// kernels of every backend), orientation codes against ITK's
// SpatialOrientationAdapter, and validation errors.
#include <gtest/gtest.h>
#include <itkSpatialOrientationAdapter.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backends.hpp"
#include "itk_support.hpp"
#include "medimg/core/error.hpp"
#include "medimg/core/geometry.hpp"
#include "test_support.hpp"

namespace medimg::test {
namespace {

// ITK's legacy orientation enum names where axes come FROM; its bytes hold
// one coordinate term per axis (Right = 2, Left = 3, Posterior = 4,
// Anterior = 5, Inferior = 8, Superior = 9).
std::string itk_orientation_code(const Mat3& d) {
  itk::SpatialOrientationAdapter::DirectionType direction;
  for (unsigned r = 0; r < 3; ++r) {
    for (unsigned c = 0; c < 3; ++c) direction[r][c] = d[r][c];
  }
  const auto flags =
      static_cast<unsigned>(itk::SpatialOrientationAdapter().FromDirectionCosines(direction));
  std::string code;
  for (int axis = 0; axis < 3; ++axis) {
    switch ((flags >> (8 * axis)) & 0xffu) {
      case 2: code += 'R'; break;
      case 3: code += 'L'; break;
      case 4: code += 'P'; break;
      case 5: code += 'A'; break;
      case 8: code += 'I'; break;
      case 9: code += 'S'; break;
      default: code += '?';
    }
  }
  return code;
}

std::string opposite(std::string code) {
  const std::string from = "LRPASI", to = "RLAPIS";
  for (char& c : code) c = to[from.find(c)];
  return code;
}

TEST(Geometry, IndexToPhysicalMatchesItkOnObliqueAnisotropicGrid) {
  const Geometry g = oblique_geometry();
  const auto itk_image = to_itk(Image<float, HostMemory>(g));
  double worst = 0.0;
  for (double k : {-0.5, 0.0, 3.25, 10.0}) {
    for (double j : {0.0, 7.5, 16.0}) {
      for (double i : {-0.49, 0.0, 11.0, 22.4}) {
        itk::ContinuousIndex<double, 3> index;
        index[0] = i;
        index[1] = j;
        index[2] = k;
        itk::Point<double, 3> expected;
        itk_image->TransformContinuousIndexToPhysicalPoint(index, expected);
        const Vec3 p = g.index_to_physical(Vec3{i, j, k});
        for (int a = 0; a < 3; ++a) worst = std::max(worst, std::abs(p[a] - expected[a]));

        const Vec3 back = g.physical_to_continuous_index(p);
        itk::ContinuousIndex<double, 3> itk_back;
        itk_image->TransformPhysicalPointToContinuousIndex(expected, itk_back);
        for (int a = 0; a < 3; ++a) {
          EXPECT_NEAR(back[a], itk_back[a], 1e-10);
          EXPECT_NEAR(back[a], index[a], 1e-10);
        }
      }
    }
  }
  EXPECT_LT(worst, 1e-12);
}

TEST(Geometry, InsideTestIsItksIsInsideBuffer) {
  const Geometry g(Size3{4, 3, 2}, Vec3{0, 0, 0}, Vec3{1, 1, 1});
  EXPECT_TRUE(g.is_inside(Vec3{-0.5, -0.5, -0.5}));
  EXPECT_FALSE(g.is_inside(Vec3{-0.5000001, 0, 0}));
  EXPECT_TRUE(g.is_inside(Vec3{3.4999999, 2.4999, 1.4999}));
  EXPECT_FALSE(g.is_inside(Vec3{3.5, 0, 0}));
  EXPECT_FALSE(g.is_inside(Vec3{0, 0, 1.5}));
}

TEST(Geometry, CenterIsThePhysicalPointOfTheMiddleIndex) {
  const Geometry g = oblique_geometry();
  const Vec3 c = g.center();
  const Vec3 expected = g.index_to_physical(Vec3{11.0, 8.0, 5.0});
  for (int a = 0; a < 3; ++a) EXPECT_DOUBLE_EQ(c[a], expected[a]);
}

TEST(Geometry, AllFortyEightCodesRoundTripAndMatchItk) {
  const auto codes = all_orientation_codes();
  ASSERT_EQ(codes.size(), 48u);
  for (const std::string& code : codes) {
    const Mat3 d = direction_from_code(code);
    EXPECT_NEAR(std::abs(determinant(d)), 1.0, 1e-15) << code;
    EXPECT_EQ(orientation_code(d), code);
    EXPECT_EQ(itk_orientation_code(d), opposite(code)) << code;
    const Geometry g(Size3{2, 3, 4}, Vec3{1, 2, 3}, Vec3{0.5, 1, 2}, d);
    EXPECT_EQ(g.orientation_code(), code);
  }
  EXPECT_EQ(orientation_code(direction_from_code("ras")), "RAS");
}

TEST(Geometry, KnownCodes) {
  EXPECT_EQ(orientation_code(identity_matrix()), "LPS");
  EXPECT_EQ(orientation_code(Mat3{Vec3{-1, 0, 0}, Vec3{0, -1, 0}, Vec3{0, 0, 1}}), "RAS");
  // Columns name the axes: i points inferior, j left, k anterior.
  EXPECT_EQ(orientation_code(Mat3{Vec3{0, 1, 0}, Vec3{0, 0, -1}, Vec3{-1, 0, 0}}), "ILA");
}

TEST(Geometry, ObliqueCodeIsTheDominantAxisAsItk) {
  for (double degrees : {5.0, 30.0, 44.0, 46.0, 80.0, 135.0, 200.0}) {
    const Mat3 d = rotation(Vec3{0.0, 0.6, 0.8}, degrees);
    EXPECT_EQ(orientation_code(d), opposite(itk_orientation_code(d))) << degrees << " degrees";
  }
  EXPECT_EQ(oblique_geometry().orientation_code(),
            opposite(itk_orientation_code(oblique_geometry().direction())));
}

TEST(Geometry, BadCodesAreRefused) {
  for (const char* bad : {"", "LP", "LPSX", "LLS", "LRS", "XPS", "PAS"}) {
    EXPECT_THROW(direction_from_code(bad), Error) << bad;
  }
  try {
    direction_from_code("LRS");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("same axis"), std::string::npos) << e.what();
  }
}

void expect_invalid(const Size3& size, const Vec3& origin, const Vec3& spacing, const Mat3& d,
                    const std::string& needle) {
  try {
    Geometry g(size, origin, spacing, d);
    ADD_FAILURE() << "no error, expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Geometry, ValidationNamesTheProblem) {
  const Size3 n{2, 2, 2};
  const Vec3 o{0, 0, 0};
  const Vec3 s{1, 1, 1};
  const Mat3 d = identity_matrix();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  expect_invalid(n, o, Vec3{1, 0, 1}, d, "spacing along j is 0");
  expect_invalid(n, o, Vec3{1, 1, -2}, d, "spacing along k is -2");
  expect_invalid(n, o, Vec3{nan, 1, 1}, d, "spacing along i is nan");
  expect_invalid(n, o, Vec3{1, inf, 1}, d, "spacing along j is inf");
  expect_invalid(Size3{2, 0, 2}, o, s, d, "size along j is 0");
  expect_invalid(Size3{1 << 30, 1 << 30, 1 << 30}, o, s, d, "64-bit");
  expect_invalid(n, Vec3{0, nan, 0}, s, d, "origin");
  expect_invalid(n, o, s, Mat3{Vec3{1, 0, 0}, Vec3{1, 0, 0}, Vec3{0, 0, 1}}, "singular");
  expect_invalid(n, o, s, Mat3{Vec3{1, 0.1, 0}, Vec3{0, 1, 0}, Vec3{0, 0, 1}}, "not orthonormal");
  expect_invalid(n, o, s, Mat3{Vec3{1, 0, 0}, Vec3{0, nan, 0}, Vec3{0, 0, 1}}, "non-finite");
  // Within 1e-4 of orthonormal is accepted (directions read from float headers).
  EXPECT_NO_THROW(Geometry(n, o, s, Mat3{Vec3{1, 2e-5, 0}, Vec3{0, 1, 0}, Vec3{0, 0, 1}}));
}

TEST(Geometry, SameGrid) {
  const Geometry a = oblique_geometry();
  EXPECT_TRUE(a.same_grid(a));
  const Geometry b(a.size(), Vec3{a.origin()[0] + 1e-3, a.origin()[1], a.origin()[2]}, a.spacing(),
                   a.direction());
  EXPECT_FALSE(a.same_grid(b));
  EXPECT_TRUE(a.same_grid(b, 1e-2));
}

// Geometry is captured by value in kernels: the device mapping equals the
// host's. (A functor: CUDA forbids extended lambdas in the private TestBody
// of a gtest fixture, and nvcc 11.8 writes host stubs that do not compile
// for one in this function template.)
template <class View>
struct MapIndicesOnDevice {
  Geometry g;
  View out;
  KOKKOS_INLINE_FUNCTION void operator()(const int v) const {
    const Vec3 index{double(v % 23), double((v / 23) % 17), double(v / (23 * 17))};
    const Vec3 p = g.index_to_physical(index);
    const Vec3 c = g.physical_to_continuous_index(p);
    for (int a = 0; a < 3; ++a) {
      out(v, a) = p[a];
      out(v, 3 + a) = c[a];
    }
  }
};

template <class Exec>
void check_kernel_mapping_equals_host() {
  const Geometry g = oblique_geometry();
  const int n = static_cast<int>(g.voxel_count());
  using View = Kokkos::View<double* [6], typename Exec::memory_space>;
  View out("points", n);
  Kokkos::parallel_for("test::geometry_on_device", Kokkos::RangePolicy<Exec>(0, n),
                       MapIndicesOnDevice<View>{g, out});
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
  for (int v = 0; v < n; ++v) {
    const Vec3 index{double(v % 23), double((v / 23) % 17), double(v / (23 * 17))};
    const Vec3 p = g.index_to_physical(index);
    for (int a = 0; a < 3; ++a) {
      EXPECT_NEAR(host(v, a), p[a], 1e-12);
      EXPECT_NEAR(host(v, 3 + a), index[a], 1e-10);
    }
  }
}

template <class ExecutionSpace>
class GeometryOnDevice : public ::testing::Test {};
TYPED_TEST_SUITE(GeometryOnDevice, Backends);

TYPED_TEST(GeometryOnDevice, KernelMappingEqualsHost) {
  check_kernel_mapping_equals_host<TypeParam>();
}

}  // namespace
}  // namespace medimg::test
