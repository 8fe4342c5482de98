// The resample kernel against ITK's ResampleImageFilter, for every
// interpolator, on every backend: oblique (rotated about all three axes),
// anisotropic synthetic data and real data (ch2better, anatomical.nii),
// affine transforms (rotation, general matrix, scaling, translation) onto
// other grids, and a displacement field.
#include <gtest/gtest.h>
#include <itkDisplacementFieldTransform.h>

#include <cmath>
#include <cstring>
#include <tuple>
#include <vector>

#include "backends.hpp"
#include "itk_resample.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/ops/cast.hpp"
#include "medimg/ops/crop.hpp"
#include "medimg/resample/resample.hpp"
#include "medimg/transform/displacement_field.hpp"
#include "test_support.hpp"

namespace medimg::test {
namespace {

struct Inputs {
  std::string name;
  Image<float, HostMemory> image;
};

std::vector<Inputs> inputs() {
  std::vector<Inputs> list;
  list.push_back({"synthetic oblique", smooth_volume(synthetic_grid())});
  const auto ch2 = load_image_as<float>(mricron_dir + "/ch2better.nii.gz");
  list.push_back({"ch2better crop", crop(ch2, Size3{110, 140, 120}, Size3{56, 60, 44})});
  list.push_back({"anatomical.nii", load_image_as<float>(nibabel_data_dir + "/anatomical.nii")});
  return list;
}

// Transforms that map output points to input points, about the input centre.
std::vector<std::pair<std::string, AffineTransform>> transforms(const Geometry& g) {
  const Vec3 c = g.center();
  return {
      {"rotation 17 deg about a tilted axis",
       AffineTransform::rotation(Vec3{0.3, -0.5, 0.8}, 17.0, c)},
      {"general matrix", AffineTransform(Mat3{Vec3{1.05, 0.08, -0.03}, Vec3{-0.06, 0.93, 0.11},
                                              Vec3{0.02, -0.07, 1.1}},
                                         Vec3{1.7, -2.3, 0.9}, c)},
      {"scaling 0.8 x 1.25 x 1.1",
       AffineTransform::scaling(Vec3{0.8, 1.25, 1.1}, g.direction(), c)},
      {"translation", AffineTransform::translation(Vec3{3.3, -1.7, 2.45})},
  };
}

template <class ExecutionSpace>
class ResampleVsItk : public ::testing::Test {};
TYPED_TEST_SUITE(ResampleVsItk, Backends);

template <class Exec>
Image<float, HostMemory> medimg_resample(const Image<float, HostMemory>& input,
                                         const Geometry& output, const AffineTransform& t,
                                         Interp interp, double fill) {
  const auto device = to_memory_space<typename Exec::memory_space>(input);
  return to_host(resample(Exec(), output, device, t, interp, fill));
}

TYPED_TEST(ResampleVsItk, AffineTransformsEveryInterpolatorRealAndSyntheticData) {
  for (const auto& [name, image] : inputs()) {
    for (const Geometry& output : {image.geometry(), other_grid(image.geometry())}) {
      for (const auto& [what, transform] : transforms(image.geometry())) {
        const impl::IndexMap map = impl::index_map(output, image.geometry(), transform);
        auto index_of = [&map](std::int64_t i, std::int64_t j, std::int64_t k) {
          const Vec3 idx{double(i), double(j), double(k)};
          const Vec3 m = multiply(map.m, idx);
          return Vec3{m[0] + map.b[0], m[1] + map.b[1], m[2] + map.b[2]};
        };
        for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
          const std::string label = name + ", " + what + ", " + std::string(to_string(interp));
          const auto ours = medimg_resample<TypeParam>(image, output, transform, interp, -7.0);
          const auto theirs = itk_resample(image, output, transform, interp, -7.0);
          expect_matches_itk(ours, theirs, image, interp, index_of, label);
        }
      }
    }
  }
}

TYPED_TEST(ResampleVsItk, IntegerOutputsRoundAndClamp) {
  // int16 output of a linear resample: medimg rounds to nearest where ITK
  // truncates, so they differ by at most one unit and medimg's is the
  // rounded float result exactly.
  Image<std::int16_t, HostMemory> labels = cast<std::int16_t>(smooth_volume(synthetic_grid()));
  const auto device = to_memory_space<typename TypeParam::memory_space>(labels);
  const AffineTransform t =
      AffineTransform::rotation(Vec3{0, 0, 1}, 9.0, labels.geometry().center());
  const auto as_int = to_host(resample(TypeParam(), labels.geometry(), device, t, Interp::linear));
  const auto as_float = to_host(resample_as<float>(
      TypeParam(), labels.geometry(), Sampler(TypeParam(), device, Interp::linear), t));
  for (std::int64_t n = 0; n < labels.geometry().voxel_count(); ++n) {
    ASSERT_EQ(as_int.voxels().data()[n],
              static_cast<std::int16_t>(std::floor(as_float.voxels().data()[n] + 0.5f)));
  }
}

TYPED_TEST(ResampleVsItk, SamplerReusesBSplineCoefficients) {
  const auto image = smooth_volume(synthetic_grid());
  const auto device = to_memory_space<typename TypeParam::memory_space>(image);
  const Sampler sampler(TypeParam(), device, Interp::bspline);
  const AffineTransform t =
      AffineTransform::rotation(Vec3{1, 0, 0}, 5.0, image.geometry().center());
  const auto first = to_host(resample_as<float>(TypeParam(), image.geometry(), sampler, t));
  const auto again = to_host(resample_as<float>(TypeParam(), image.geometry(), sampler, t));
  for (std::int64_t n = 0; n < image.geometry().voxel_count(); ++n) {
    ASSERT_EQ(first.voxels().data()[n], again.voxels().data()[n]);
  }
  // Coefficients interpolate the data: at voxel centres B-spline = data.
  const auto identity =
      to_host(resample_as<float>(TypeParam(), image.geometry(), sampler, AffineTransform()));
  for (std::int64_t n = 0; n < image.geometry().voxel_count(); ++n) {
    ASSERT_NEAR(identity.voxels().data()[n], image.voxels().data()[n], 2e-3) << n;
  }
}

TYPED_TEST(ResampleVsItk, DisplacementFieldMatchesItk) {
  using Exec = TypeParam;
  using Space = typename Exec::memory_space;
  const auto image = smooth_volume(synthetic_grid());
  // The field lives on its own coarser grid covering most of the image.
  const Geometry& g = image.geometry();
  const Geometry field_grid(Size3{12, 10, 8}, g.index_to_physical(Vec3{2, 2, 1}),
                            Vec3{g.spacing()[0] * 3, g.spacing()[1] * 3, g.spacing()[2] * 3},
                            g.direction());
  using Component = typename DisplacementFieldTransform<Space>::component_view;
  auto host_x = Kokkos::create_mirror_view(Component("dx", 12, 10, 8));
  auto host_y = Kokkos::create_mirror_view(Component("dy", 12, 10, 8));
  auto host_z = Kokkos::create_mirror_view(Component("dz", 12, 10, 8));
  using ItkField = itk::Image<itk::Vector<double, 3>, 3>;
  auto field = ItkField::New();
  {
    const auto scalar = to_itk(Image<float, HostMemory>(field_grid));
    field->CopyInformation(scalar);
    field->SetRegions(scalar->GetLargestPossibleRegion());
    field->Allocate();
  }
  for (int k = 0; k < 8; ++k) {
    for (int j = 0; j < 10; ++j) {
      for (int i = 0; i < 12; ++i) {
        itk::Vector<double, 3> d;
        d[0] = 2.0 * std::sin(0.5 * i + 0.2 * k);
        d[1] = -1.5 * std::cos(0.4 * j);
        d[2] = 0.8 * std::sin(0.3 * (i + j + k));
        host_x(i, j, k) = d[0];
        host_y(i, j, k) = d[1];
        host_z(i, j, k) = d[2];
        field->SetPixel({{i, j, k}}, d);
      }
    }
  }
  const DisplacementFieldTransform<Space> ours_transform(
      field_grid, Kokkos::create_mirror_view_and_copy(Space(), host_x),
      Kokkos::create_mirror_view_and_copy(Space(), host_y),
      Kokkos::create_mirror_view_and_copy(Space(), host_z));
  auto itk_transform = itk::DisplacementFieldTransform<double, 3>::New();
  itk_transform->SetDisplacementField(field);
  const auto device = to_memory_space<Space>(image);
  for (Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
    const auto ours = to_host(resample(Exec(), g, device, ours_transform, interp, 0.0));
    const auto theirs = itk_resample(image, g, itk_transform, interp, 0.0);
    const DisplacementFieldTransform<HostMemory> host_transform(field_grid, host_x, host_y, host_z);
    auto index_of = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
      return g.physical_to_continuous_index(
          host_transform.apply(g.index_to_physical(Vec3{double(i), double(j), double(k)})));
    };
    expect_matches_itk(ours, theirs, image, interp, index_of,
                       "displacement field, " + std::string(to_string(interp)));
  }
}

template <class ExecutionSpace>
class ResampleKernels : public ::testing::Test {};
TYPED_TEST_SUITE(ResampleKernels, Backends);

// The row kernel, launched directly with one team per row: what
// run_affine_rows replaces by ResampleAxisAlignedPlanes where that applies.
template <class Out, class Exec, class T, class Memory>
Image<Out, HostMemory> row_kernel(const Geometry& grid, const Size3& start, const Size3& size,
                                  const Size3& keep_lo, const Size3& keep_hi,
                                  const Sampler<T, Memory>& sampler, double fill, double pad) {
  auto result = Image<Out, Memory>::uninitialized(region_grid(grid, start, size), "rows");
  const impl::IndexMap map = impl::index_map(grid, sampler.geometry(), AffineTransform());
  sampler.visit([&](const auto& interp) {
    using Interpolator = std::decay_t<decltype(interp)>;
    using View = typename Image<Out, Memory>::view_type;
    EXPECT_TRUE((impl::ResampleAxisAlignedPlanes<Exec, View, Interpolator>::applies(map)))
        << "the grids are not axis-aligned: the test would not exercise the plane path";
    const auto rows = impl::region_rows<Exec, View, Interpolator>(
        result.voxels(), interp, map, sampler.geometry().size(), start, size, keep_lo, keep_hi,
        pixel_cast<Out>(fill), pixel_cast<Out>(pad));
    Kokkos::parallel_for(
        Kokkos::TeamPolicy<Exec>(Exec(), static_cast<int>(size[1] * size[2]), Kokkos::AUTO), rows);
  });
  return to_host(result);
}

template <class Out, class Exec, class T>
void expect_planes_equal_rows(const Image<T, HostMemory>& input, const Geometry& grid,
                              const std::string& label) {
  using Memory = typename Exec::memory_space;
  const Sampler<T, Memory> sampler(Exec(), to_memory_space<Memory>(input), Interp::linear);
  const Size3 whole{0, 0, 0};
  const Size3& n = grid.size();
  // The whole grid, and a region reaching past it with a box kept inside.
  const Size3 start{-3, 2, -4}, size{n[0] + 5, n[1] - 1, n[2] + 6};
  const Size3 keep_lo{1, 3, 0}, keep_hi{n[0] - 2, n[1], n[2] - 1};
  const auto all =
      to_host(resample_as<Out>(Exec(), grid, sampler, AffineTransform(), /*fill=*/-5.0));
  const auto region = to_host(resample_region_as<Out>(Exec(), grid, start, size, keep_lo, keep_hi,
                                                      sampler, AffineTransform(), -5.0, 9.0));
  const auto all_rows = row_kernel<Out, Exec>(grid, whole, n, whole, n, sampler, -5.0, 0.0);
  const auto region_rows =
      row_kernel<Out, Exec>(grid, start, size, keep_lo, keep_hi, sampler, -5.0, 9.0);
  for (const auto& [ours, rows, what] : {std::tuple{&all, &all_rows, "whole grid"},
                                         std::tuple{&region, &region_rows, "padded region"}}) {
    ASSERT_EQ(to_string(ours->geometry().size()), to_string(rows->geometry().size()))
        << label << ", " << what;
    std::int64_t differ = 0, interpolated = 0;
    for (std::int64_t v = 0; v < ours->geometry().voxel_count(); ++v) {
      const Out a = ours->voxels().data()[v], b = rows->voxels().data()[v];
      differ += std::memcmp(&a, &b, sizeof(Out)) != 0 ? 1 : 0;
      interpolated += b != pixel_cast<Out>(-5.0) && b != pixel_cast<Out>(9.0) ? 1 : 0;
    }
    EXPECT_EQ(differ, 0) << label << ", " << what;
    EXPECT_GT(interpolated, ours->geometry().voxel_count() / 3) << label << ", " << what;
  }
}

TYPED_TEST(ResampleKernels, AxisAlignedPlanesAreBitForBitTheRowKernel) {
  const Geometry g = synthetic_grid();
  const auto smooth = smooth_volume(g);
  // Same direction (or flipped axes): zoom, shift, crop and pad are
  // axis-aligned index maps.
  const Mat3& d = g.direction();
  const Mat3 flipped{Vec3{-d[0][0], d[0][1], -d[0][2]}, Vec3{-d[1][0], d[1][1], -d[1][2]},
                     Vec3{-d[2][0], d[2][1], -d[2][2]}};
  const Vec3 c = g.center();
  auto grid = [&](const Mat3& direction, const Size3& n, const Vec3& spacing) {
    const Vec3 half_extent =
        multiply(direction, Vec3{0.5 * (n[0] - 1) * spacing[0], 0.5 * (n[1] - 1) * spacing[1],
                                 0.5 * (n[2] - 1) * spacing[2]});
    return Geometry(n,
                    Vec3{c[0] - half_extent[0] + 0.31, c[1] - half_extent[1] - 0.2,
                         c[2] - half_extent[2] + 0.45},
                    spacing, direction);
  };
  const std::vector<std::pair<std::string, Geometry>> grids{
      {"finer in-plane, thick slices upsampled", grid(d, Size3{52, 41, 61}, Vec3{0.7, 1.1, 1.0})},
      {"flipped i and k, coarser", grid(flipped, Size3{23, 30, 17}, Vec3{1.6, 1.45, 3.3})},
  };
  for (const auto& [what, output] : grids) {
    expect_planes_equal_rows<float, TypeParam>(smooth, output, "float, " + what);
    expect_planes_equal_rows<std::int16_t, TypeParam>(cast<std::int16_t>(smooth), output,
                                                      "int16, " + what);
    expect_planes_equal_rows<std::uint8_t, TypeParam>(cast<std::int16_t>(smooth), output,
                                                      "int16 -> uint8, " + what);
  }
}

// Output rows and planes that land exactly on the input's last y and z
// index (a 1.5 mm grid over a 1 mm one: the rows the plane kernel computes
// with border_line) and row ends exactly on its last x: bit for bit the
// row kernel.
TYPED_TEST(ResampleKernels, AxisAlignedPlanesOnTheLastInputIndexAreTheRowKernel) {
  const Mat3 identity{Vec3{1, 0, 0}, Vec3{0, 1, 0}, Vec3{0, 0, 1}};
  const Geometry input(Size3{40, 34, 26}, Vec3{0, 0, 0}, Vec3{1, 1, 1}, identity);
  // 26 * 1.5 = 39, 22 * 1.5 = 33, 20 * 1.25 = 25: the last output index of
  // every axis is the input's last, exactly.
  const Geometry output(Size3{27, 23, 21}, Vec3{0, 0, 0}, Vec3{1.5, 1.5, 1.25}, identity);
  const auto smooth = smooth_volume(input);
  expect_planes_equal_rows<float, TypeParam>(smooth, output, "float, last index");
  expect_planes_equal_rows<std::int16_t, TypeParam>(cast<std::int16_t>(smooth), output,
                                                    "int16, last index");
}

// The host kernels' chunked rows (interior_steps: positions first, then the
// loads) against interior() voxel by voxel, for rows that cross input rows
// (an oblique rotation): bit for bit, for every interpolator that has them.
template <class T, class Out>
void expect_steps_equal_interior(const Image<T, HostMemory>& input, Interp kind) {
  using Exec = Kokkos::DefaultHostExecutionSpace;
  using View = typename Image<Out, HostMemory>::view_type;
  const Sampler<T, HostMemory> sampler(Exec(), input, kind);
  const Geometry& g = input.geometry();
  const AffineTransform turn = AffineTransform::translation(Vec3{1.3, -0.7, 0.4}) *
                               AffineTransform::rotation(Vec3{0.3, -0.5, 0.81}, 20.0, g.center());
  const impl::IndexMap map = impl::index_map(g, g, turn);
  const Vec3 step{map.m[0][0], map.m[1][0], map.m[2][0]};
  ASSERT_NE(step[1], 0.0);  // rows cross input rows: interior_line does not apply
  sampler.visit([&](const auto& interp) {
    using Interpolator = std::decay_t<decltype(interp)>;
    if constexpr (impl::has_interior_steps<Interpolator>::value) {
      const impl::ResampleAffineRows<Exec, View, Interpolator> rows{
          View("rows", 1, 1, 1), interp, map, g.size(), g.size()[0], g.size()[1], Out{}};
      std::int64_t compared = 0, differ = 0;
      std::vector<Out> steps(static_cast<std::size_t>(g.size()[0]));
      for (std::int64_t k = 0; k < g.size()[2]; k += 3) {
        for (std::int64_t j = 0; j < g.size()[1]; j += 2) {
          const auto s = rows.segments(j, k);
          if (s.a >= s.b) continue;
          interp.interior_steps(s.c0, step, 0, s.a, s.b, steps.data(), impl::PixelCastTo<Out>{});
          for (std::int64_t i = s.a; i < s.b; ++i) {
            const Out one = pixel_cast<Out>(interp.interior(map.along_row(s.c0, i)));
            differ += std::memcmp(&one, &steps[static_cast<std::size_t>(i)], sizeof(Out)) != 0;
            ++compared;
          }
        }
      }
      EXPECT_EQ(differ, 0) << to_string(kind);
      EXPECT_GT(compared, g.voxel_count() / 20) << to_string(kind);
    } else {
      ADD_FAILURE() << to_string(kind) << " has no interior_steps";
    }
  });
}

TEST(ResampleRows, InteriorStepsAreBitForBitInterior) {
  const auto smooth = smooth_volume(synthetic_grid());
  for (const Interp kind : {Interp::nearest, Interp::linear, Interp::bspline}) {
    expect_steps_equal_interior<float, float>(smooth, kind);
    expect_steps_equal_interior<std::int16_t, std::int16_t>(cast<std::int16_t>(smooth), kind);
  }
}

TEST(Interp, NamesAndErrors) {
  EXPECT_EQ(parse_interp("bspline"), Interp::bspline);
  EXPECT_EQ(parse_interp("cubic"), Interp::bspline);
  EXPECT_EQ(to_string(Interp::linear), "linear");
  EXPECT_THROW(parse_interp("sinc"), Error);
}

TEST(AffineTransform, CompositionAndInverse) {
  const AffineTransform a = AffineTransform::rotation(Vec3{1, 2, 3}, 40.0, Vec3{1, -2, 5});
  const AffineTransform b(Mat3{Vec3{1.2, 0.1, 0}, Vec3{0, 0.9, 0.2}, Vec3{0.1, 0, 1.1}},
                          Vec3{3, 4, 5});
  const Vec3 x{7.5, -3.25, 11.0};
  const Vec3 ab = (a * b).apply(x);
  const Vec3 expected = a.apply(b.apply(x));
  const Vec3 back = (a * b).inverse().apply(ab);
  for (int r = 0; r < 3; ++r) {
    EXPECT_NEAR(ab[r], expected[r], 1e-12);
    EXPECT_NEAR(back[r], x[r], 1e-12);
  }
  // The centre of a rotation stays put; the right-hand rule about +z turns +x into +y.
  const AffineTransform r = AffineTransform::rotation(Vec3{0, 0, 1}, 90.0, Vec3{1, 1, 1});
  const Vec3 c = r.apply(Vec3{1, 1, 1});
  const Vec3 turned = r.apply(Vec3{2, 1, 1});
  EXPECT_NEAR(c[0], 1.0, 1e-15);
  EXPECT_NEAR(turned[0], 1.0, 1e-15);
  EXPECT_NEAR(turned[1], 2.0, 1e-15);
  EXPECT_THROW(AffineTransform(Mat3{Vec3{1, 0, 0}, Vec3{2, 0, 0}, Vec3{0, 0, 1}}, Vec3{0, 0, 0}),
               Error);
  EXPECT_THROW(AffineTransform::rotation(Vec3{0, 0, 1}, std::nan(""), Vec3{0, 0, 0}), Error);
  // Matrix forms: [A | t] with a centre c is y = A (x - c) + c + t.
  const AffineTransform m34 =
      AffineTransform::from_3x4({1.2, 0.1, 0, 3, 0, 0.9, 0.2, 4, 0.1, 0, 1.1, 5}, Vec3{1, 2, 3});
  const AffineTransform m44 = AffineTransform::from_4x4(
      {1.2, 0.1, 0, 3, 0, 0.9, 0.2, 4, 0.1, 0, 1.1, 5, 0, 0, 0, 1}, Vec3{1, 2, 3});
  const AffineTransform direct(Mat3{Vec3{1.2, 0.1, 0}, Vec3{0, 0.9, 0.2}, Vec3{0.1, 0, 1.1}},
                               Vec3{3, 4, 5}, Vec3{1, 2, 3});
  for (int axis = 0; axis < 3; ++axis) {
    EXPECT_DOUBLE_EQ(m34.apply(x)[axis], direct.apply(x)[axis]);
    EXPECT_DOUBLE_EQ(m44.apply(x)[axis], direct.apply(x)[axis]);
  }
  EXPECT_DOUBLE_EQ(direct.apply(Vec3{1, 2, 3})[0], 1 + 3);  // the centre moves by t only
  EXPECT_THROW(AffineTransform::from_4x4({1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1}), Error);
}

}  // namespace
}  // namespace medimg::test
