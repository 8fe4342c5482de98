// Every geometric operation against the ITK filter doing the same thing, on
// every backend, plus the properties the operations promise and their
// refusals of bad arguments.
#include <gtest/gtest.h>
#include <itkConstantPadImageFilter.h>
#include <itkCropImageFilter.h>
#include <itkFlipImageFilter.h>
#include <itkImageRegionConstIteratorWithIndex.h>
#include <itkOrientImageFilter.h>
#include <itkRegionOfInterestImageFilter.h>
#include <itkTranslationTransform.h>

#include <cmath>
#include <functional>
#include <set>

#include "backends.hpp"
#include "itk_resample.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/ops/affine.hpp"
#include "medimg/ops/change_orientation.hpp"
#include "medimg/ops/crop.hpp"
#include "medimg/ops/crop_or_pad.hpp"
#include "medimg/ops/flip.hpp"
#include "medimg/ops/pad.hpp"
#include "medimg/ops/resample_to_image.hpp"
#include "medimg/ops/resample_to_spacing.hpp"
#include "medimg/ops/resize.hpp"
#include "medimg/ops/rotate.hpp"
#include "medimg/ops/scale.hpp"
#include "medimg/ops/translate.hpp"
#include "test_support.hpp"

namespace medimg::test {
namespace {

const Interp all_interps[] = {Interp::nearest, Interp::linear, Interp::bspline};

template <class ExecutionSpace>
class OpsVsItk : public ::testing::Test {
 protected:
  using Exec = ExecutionSpace;
  using Space = typename ExecutionSpace::memory_space;
  template <class T>
  static Image<T, Space> dev(const Image<T, HostMemory>& image) {
    return to_memory_space<Space>(image);
  }
};
TYPED_TEST_SUITE(OpsVsItk, Backends);

std::vector<std::pair<std::string, Image<float, HostMemory>>> intensity_inputs() {
  const auto ch2 = load_image_as<float>(mricron_dir + "/ch2better.nii.gz");
  return {{"synthetic oblique", smooth_volume(synthetic_grid())},
          {"ch2better crop", crop(ch2, Size3{110, 140, 120}, Size3{56, 60, 44})},
          {"anatomical.nii", load_image_as<float>(nibabel_data_dir + "/anatomical.nii")}};
}

// The continuous input index of each output voxel under an affine map.
auto index_of_map(const Geometry& output, const Geometry& input, const AffineTransform& t) {
  const impl::IndexMap map = impl::index_map(output, input, t);
  return [map](std::int64_t i, std::int64_t j, std::int64_t k) {
    const Vec3 m = multiply(map.m, Vec3{double(i), double(j), double(k)});
    return Vec3{m[0] + map.b[0], m[1] + map.b[1], m[2] + map.b[2]};
  };
}

template <class T>
void expect_identical(const Image<T, HostMemory>& a, const Image<T, HostMemory>& b,
                      const std::string& what) {
  ASSERT_EQ(a.geometry().voxel_count(), b.geometry().voxel_count()) << what;
  std::int64_t differing = 0;
  for (std::int64_t n = 0; n < a.geometry().voxel_count(); ++n) {
    if (a.voxels().data()[n] != b.voxels().data()[n]) ++differing;
  }
  EXPECT_EQ(differing, 0) << what;
}

TYPED_TEST(OpsVsItk, ResampleToSpacing) {
  for (const auto& [name, image] : intensity_inputs()) {
    const Geometry& g = image.geometry();
    const Vec3 spacing{1.0, 1.55, 0.8};
    // The rule, computed here independently: size = max(1, round(n * old / new)).
    const Size3 size{std::max<std::int64_t>(1, std::llround(g.size()[0] * g.spacing()[0] / 1.0)),
                     std::max<std::int64_t>(1, std::llround(g.size()[1] * g.spacing()[1] / 1.55)),
                     std::max<std::int64_t>(1, std::llround(g.size()[2] * g.spacing()[2] / 0.8))};
    const Geometry expected(size, g.origin(), spacing, g.direction());
    for (Interp interp : all_interps) {
      const auto ours =
          to_host(resample_to_spacing(TypeParam(), this->dev(image), spacing, interp));
      EXPECT_TRUE(ours.geometry().same_grid(expected, 1e-12)) << name;
      const auto theirs = itk_resample(image, expected, AffineTransform(), interp);
      expect_matches_itk(ours, theirs, image, interp, index_of_map(expected, g, AffineTransform()),
                         "resample_to_spacing, " + name + ", " + std::string(to_string(interp)));
    }
  }
}

TYPED_TEST(OpsVsItk, ResampleToImageWithObliqueReference) {
  for (const auto& [name, image] : intensity_inputs()) {
    const Geometry fixed = other_grid(image.geometry());
    for (Interp interp : all_interps) {
      const auto ours =
          to_host(resample_to_image(TypeParam(), fixed, this->dev(image), interp, -3.0));
      const auto theirs = itk_resample(image, fixed, AffineTransform(), interp, -3.0);
      expect_matches_itk(ours, theirs, image, interp,
                         index_of_map(fixed, image.geometry(), AffineTransform()),
                         "resample_to_image, " + name + ", " + std::string(to_string(interp)));
    }
  }
}

TYPED_TEST(OpsVsItk, RotateMatchesItkRotate3DAboutTheImageAxis) {
  for (const auto& [name, image] : intensity_inputs()) {
    const Geometry& g = image.geometry();
    for (Axis axis : {Axis::i, Axis::j, Axis::k}) {
      const double degrees = 23.5;
      // ITK builds its own rotation: about the image's axis column, through
      // the physical centre; the output->input map turns by -degrees.
      auto itk_transform = itk::AffineTransform<double, 3>::New();
      const auto reference = to_itk(Image<float, HostMemory>(g));
      itk::ContinuousIndex<double, 3> middle;
      for (unsigned a = 0; a < 3; ++a) middle[a] = 0.5 * double(g.size()[a] - 1);
      itk::Point<double, 3> center;
      reference->TransformContinuousIndexToPhysicalPoint(middle, center);
      itk_transform->SetCenter(center);
      itk::Vector<double, 3> direction;
      for (unsigned r = 0; r < 3; ++r)
        direction[r] = reference->GetDirection()[r][static_cast<int>(axis)];
      itk_transform->Rotate3D(direction, -degrees * 3.14159265358979323846 / 180.0);
      for (Interp interp : all_interps) {
        const auto ours =
            to_host(rotate(TypeParam(), this->dev(image), axis, degrees, interp, 0.0));
        const auto theirs = itk_resample(image, g, itk_transform, interp, 0.0);
        expect_matches_itk(ours, theirs, image, interp,
                           index_of_map(g, g, rotation_about_center(g, axis, degrees)),
                           "rotate " + std::to_string(static_cast<int>(axis)) + ", " + name + ", " +
                               std::string(to_string(interp)));
      }
    }
  }
}

TYPED_TEST(OpsVsItk, RotateFollowsTheRightHandRule) {
  // A marker one voxel along +i from the centre, rotated 90 degrees about +k,
  // lands one voxel along +j (i x j = k for a right-handed grid).
  const Geometry g(Size3{9, 9, 5}, Vec3{3, -2, 7}, Vec3{1.5, 1.5, 2.0}, oblique_direction());
  Image<float, HostMemory> marker(g);
  marker.voxels()(5, 4, 2) = 1.0f;
  const auto turned =
      to_host(rotate(TypeParam(), this->dev(marker), Axis::k, 90.0, Interp::nearest));
  EXPECT_EQ(turned.voxels()(4, 5, 2), 1.0f);
  EXPECT_EQ(statistics(Kokkos::DefaultHostExecutionSpace(), turned).mean * g.voxel_count(), 1.0);
}

TYPED_TEST(OpsVsItk, RotateExpandHoldsTheWholeImage) {
  const Geometry g(Size3{40, 20, 6}, Vec3{0, 0, 0}, Vec3{1, 1, 2});
  Image<float, HostMemory> ones(g);
  Kokkos::deep_copy(ones.voxels(), 1.0f);
  const auto expanded =
      to_host(rotate(TypeParam(), this->dev(ones), Axis::k, 45.0, Interp::linear, 0.0, true));
  // Rotated corners of a 39 x 19 span: (39 + 19) / sqrt(2) = 41.01 -> 43 voxels.
  EXPECT_EQ(expanded.geometry().size()[0], 43);
  EXPECT_EQ(expanded.geometry().size()[1], 43);
  EXPECT_EQ(expanded.geometry().size()[2], 6);
  for (int a = 0; a < 3; ++a) EXPECT_NEAR(expanded.geometry().center()[a], g.center()[a], 1e-9);
  // Every input voxel centre, rotated, lands inside the expanded grid: the
  // corners are the extreme ones.
  const AffineTransform forward = rotation_about_center(g, Axis::k, 45.0).inverse();
  for (int corner = 0; corner < 8; ++corner) {
    const Vec3 p = g.index_to_physical(
        Vec3{(corner & 1) ? 39.0 : 0.0, (corner & 2) ? 19.0 : 0.0, (corner & 4) ? 5.0 : 0.0});
    EXPECT_TRUE(expanded.geometry().is_inside(
        expanded.geometry().physical_to_continuous_index(forward.apply(p))))
        << corner;
  }
  // The centre voxel keeps its value and the corners of the new grid are fill.
  EXPECT_EQ(expanded.voxels()(21, 21, 3), 1.0f);
  EXPECT_EQ(expanded.voxels()(0, 0, 3), 0.0f);
}

TYPED_TEST(OpsVsItk, ScaleMatchesItkAndScaleOneIsIdentity) {
  for (const auto& [name, image] : intensity_inputs()) {
    const Geometry& g = image.geometry();
    const Vec3 factors{1.3, 0.9, 1.15};
    // ITK: an affine about the physical centre scaling the image's own axes by 1/factor.
    Mat3 m = g.direction();
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) m[r][c] /= factors[c];
    }
    const AffineTransform expected(multiply(m, transpose(g.direction())), Vec3{0, 0, 0},
                                   g.center());
    for (Interp interp : all_interps) {
      const auto ours = to_host(scale(TypeParam(), this->dev(image), factors, interp));
      expect_matches_itk(ours, itk_resample(image, g, expected, interp), image, interp,
                         index_of_map(g, g, expected),
                         "scale, " + name + ", " + std::string(to_string(interp)));
      const auto same = to_host(scale(TypeParam(), this->dev(image), Vec3{1, 1, 1}, interp));
      const auto same_spacing =
          to_host(resample_to_spacing(TypeParam(), this->dev(image), g.spacing(), interp));
      if (interp == Interp::bspline) {
        // The spline interpolates the data: identity within 1e-4 of the range.
        const Statistics range = statistics(Kokkos::DefaultHostExecutionSpace(), image);
        for (std::int64_t n = 0; n < g.voxel_count(); ++n) {
          ASSERT_NEAR(same.voxels().data()[n], image.voxels().data()[n],
                      1e-4 * (range.max - range.min));
          ASSERT_NEAR(same_spacing.voxels().data()[n], image.voxels().data()[n],
                      1e-4 * (range.max - range.min));
        }
      } else {
        expect_identical(same, image, "scale(1), " + std::string(to_string(interp)));
        expect_identical(same_spacing, image,
                         "resample to the same spacing, " + std::string(to_string(interp)));
      }
    }
  }
}

TYPED_TEST(OpsVsItk, ResizeKeepsTheExtentAndMatchesItk) {
  for (const auto& [name, image] : intensity_inputs()) {
    const Geometry& g = image.geometry();
    const Size3 size{g.size()[0] * 3 / 2, g.size()[1] - 5, g.size()[2] + 3};
    const auto ours_linear = to_host(resize(TypeParam(), this->dev(image), size, Interp::linear));
    const Geometry& r = ours_linear.geometry();
    // Outer voxel edges stay: the edge of voxel -0.5 and of n - 0.5 on every axis.
    for (double corner : {-0.5, 1.0}) {
      const Vec3 before = g.index_to_physical(Vec3{corner < 0 ? -0.5 : g.size()[0] - 0.5,
                                                   corner < 0 ? -0.5 : g.size()[1] - 0.5,
                                                   corner < 0 ? -0.5 : g.size()[2] - 0.5});
      const Vec3 after = r.index_to_physical(Vec3{corner < 0 ? -0.5 : r.size()[0] - 0.5,
                                                  corner < 0 ? -0.5 : r.size()[1] - 0.5,
                                                  corner < 0 ? -0.5 : r.size()[2] - 0.5});
      for (int a = 0; a < 3; ++a) EXPECT_NEAR(before[a], after[a], 1e-9) << name;
    }
    for (Interp interp : all_interps) {
      const auto ours = to_host(resize(TypeParam(), this->dev(image), size, interp));
      expect_matches_itk(ours, itk_resample(image, r, AffineTransform(), interp), image, interp,
                         index_of_map(r, g, AffineTransform()),
                         "resize, " + name + ", " + std::string(to_string(interp)));
    }
  }
}

TYPED_TEST(OpsVsItk, TranslateMovesTheOriginAndTranslateResampleMatchesItk) {
  for (const auto& [name, image] : intensity_inputs()) {
    const Geometry& g = image.geometry();
    const Vec3 offset{2.75, -4.1, 1.3};
    const auto moved = translate(image, offset);
    for (int a = 0; a < 3; ++a)
      EXPECT_DOUBLE_EQ(moved.geometry().origin()[a], g.origin()[a] + offset[a]);
    EXPECT_EQ(moved.voxels().data(), image.voxels().data());  // metadata only
    auto itk_shift = itk::TranslationTransform<double, 3>::New();
    itk::TranslationTransform<double, 3>::OutputVectorType back;
    for (unsigned a = 0; a < 3; ++a) back[a] = -offset[a];
    itk_shift->SetOffset(back);
    for (Interp interp : all_interps) {
      const auto ours =
          to_host(translate_resample(TypeParam(), this->dev(image), offset, interp, 0.0));
      expect_matches_itk(
          ours, itk_resample(image, g, itk_shift, interp), image, interp,
          index_of_map(g, g, AffineTransform::translation(Vec3{back[0], back[1], back[2]})),
          "translate_resample, " + name + ", " + std::string(to_string(interp)));
    }
  }
}

TYPED_TEST(OpsVsItk, AffineOpMatchesItk) {
  const auto image = smooth_volume(synthetic_grid());
  const AffineTransform t(
      Mat3{Vec3{0.95, 0.1, 0.0}, Vec3{-0.08, 1.02, 0.05}, Vec3{0.0, -0.04, 0.97}},
      Vec3{1.0, 2.0, -1.5}, image.geometry().center());
  for (Interp interp : all_interps) {
    const auto ours =
        to_host(affine(TypeParam(), this->dev(image), t, interp, 5.0, image.geometry()));
    expect_matches_itk(ours, itk_resample(image, image.geometry(), t, interp, 5.0), image, interp,
                       index_of_map(image.geometry(), image.geometry(), t),
                       "affine, " + std::string(to_string(interp)));
  }
}

// ---------------------------------------------------------------- index ops

// ITK's legacy orientation enum for medimg's code: ITK names where axes come
// from, i.e. the opposite letters; each letter is a coordinate term.
itk::SpatialOrientation::ValidCoordinateOrientationFlags itk_orientation(const std::string& code) {
  unsigned value = 0;
  for (int a = 0; a < 3; ++a) {
    unsigned term = 0;
    switch (code[a]) {
      case 'L': term = 2; break;  // ITK's R
      case 'R': term = 3; break;  // ITK's L
      case 'P': term = 5; break;  // ITK's A
      case 'A': term = 4; break;  // ITK's P
      case 'S': term = 8; break;  // ITK's I
      case 'I': term = 9; break;  // ITK's S
    }
    value |= term << (8 * a);
  }
  return static_cast<itk::SpatialOrientation::ValidCoordinateOrientationFlags>(value);
}

TYPED_TEST(OpsVsItk, ChangeOrientationAllCodesMatchesOrientImageFilter) {
  for (const auto& [name, image] :
       {std::pair{std::string("synthetic oblique"),
                  smooth_volume(Geometry(Size3{13, 9, 7}, Vec3{4, -3, 2}, Vec3{0.9, 1.3, 2.7},
                                         oblique_direction()))},
        std::pair{std::string("anatomical.nii"),
                  load_image_as<float>(nibabel_data_dir + "/anatomical.nii")}}) {
    for (const std::string& code : all_orientation_codes()) {
      const auto ours = to_host(change_orientation(TypeParam(), this->dev(image), code));
      using Orient = itk::OrientImageFilter<ItkFloat, ItkFloat>;
      auto filter = Orient::New();
      filter->SetInput(to_itk(image));
      filter->UseImageDirectionOn();
      filter->SetDesiredCoordinateOrientation(itk_orientation(code));
      filter->Update();
      const auto theirs = from_itk_image(*filter->GetOutput());
      EXPECT_EQ(ours.geometry().orientation_code(), code) << name;
      expect_same_geometry(ours.geometry(), theirs.geometry(), 1e-6);
      expect_identical(ours, theirs, "change_orientation " + code + ", " + name);
      // And back, bit-exact.
      const auto back = to_host(
          change_orientation(TypeParam(), this->dev(ours), image.geometry().orientation_code()));
      expect_identical(back, image, "change_orientation round trip " + code);
      expect_same_geometry(back.geometry(), image.geometry(), 1e-12);
    }
  }
}

TYPED_TEST(OpsVsItk, CropMatchesRegionOfInterest) {
  const auto labels = load_image_as<std::uint8_t>(mricron_dir + "/aal.nii.gz");
  const Size3 start{10, 21, 7}, size{50, 60, 41};
  const auto ours = to_host(crop(TypeParam(), this->dev(labels), start, size));
  using Roi =
      itk::RegionOfInterestImageFilter<itk::Image<std::uint8_t, 3>, itk::Image<std::uint8_t, 3>>;
  auto filter = Roi::New();
  filter->SetInput(to_itk(labels));
  Roi::RegionType region;
  for (unsigned a = 0; a < 3; ++a) {
    region.SetIndex(a, start[a]);
    region.SetSize(a, static_cast<itk::SizeValueType>(size[a]));
  }
  filter->SetRegionOfInterest(region);
  filter->Update();
  const auto theirs = from_itk_image(*filter->GetOutput());
  expect_same_geometry(ours.geometry(), theirs.geometry(), 1e-9);
  expect_identical(ours, theirs, "crop");
}

TYPED_TEST(OpsVsItk, PadMatchesConstantPadAndCropUndoesIt) {
  const auto image = smooth_volume(synthetic_grid());
  const Size3 before{3, 0, 5}, after{2, 4, 1};
  const auto ours = to_host(pad(TypeParam(), this->dev(image), before, after, -11.0));
  using Pad = itk::ConstantPadImageFilter<ItkFloat, ItkFloat>;
  auto filter = Pad::New();
  filter->SetInput(to_itk(image));
  Pad::SizeType lower, upper;
  for (unsigned a = 0; a < 3; ++a) {
    lower[a] = static_cast<itk::SizeValueType>(before[a]);
    upper[a] = static_cast<itk::SizeValueType>(after[a]);
  }
  filter->SetPadLowerBound(lower);
  filter->SetPadUpperBound(upper);
  filter->SetConstant(-11.0f);
  filter->Update();
  // ITK keeps the origin and starts the region at index -before: the
  // physical point of that index is medimg's origin.
  const auto* padded = filter->GetOutput();
  itk::Point<double, 3> first;
  padded->TransformIndexToPhysicalPoint(padded->GetLargestPossibleRegion().GetIndex(), first);
  for (int a = 0; a < 3; ++a) EXPECT_NEAR(ours.geometry().origin()[a], first[a], 1e-9);
  std::int64_t differing = 0;
  for (itk::ImageRegionConstIteratorWithIndex<ItkFloat> it(padded,
                                                           padded->GetLargestPossibleRegion());
       !it.IsAtEnd(); ++it) {
    const auto idx = it.GetIndex();
    if (ours.voxels()(idx[0] + before[0], idx[1] + before[1], idx[2] + before[2]) != it.Get())
      ++differing;
  }
  EXPECT_EQ(differing, 0);
  const auto back = to_host(crop(TypeParam(), this->dev(ours), before, image.geometry().size()));
  expect_identical(back, image, "crop(pad(x))");
  expect_same_geometry(back.geometry(), image.geometry(), 1e-9);
}

TYPED_TEST(OpsVsItk, CropOrPadMatchesCropThenConstantPad) {
  // Oblique, anisotropic; per axis: crop an odd excess, pad an odd deficit, keep.
  const auto image = smooth_volume(synthetic_grid());
  const Size3 n = image.geometry().size();
  const Size3 target{n[0] - 5, n[1] + 7, n[2]};
  const auto ours = to_host(crop_or_pad(TypeParam(), this->dev(image), target, -3.0));
  using Crop = itk::CropImageFilter<ItkFloat, ItkFloat>;
  using Pad = itk::ConstantPadImageFilter<ItkFloat, ItkFloat>;
  auto crop_filter = Crop::New();
  crop_filter->SetInput(to_itk(image));
  Crop::SizeType lower_crop, upper_crop;
  Pad::SizeType lower_pad, upper_pad;
  for (unsigned a = 0; a < 3; ++a) {
    const std::int64_t excess = std::max<std::int64_t>(n[a] - target[a], 0);
    const std::int64_t deficit = std::max<std::int64_t>(target[a] - n[a], 0);
    lower_crop[a] = static_cast<itk::SizeValueType>(excess / 2);
    upper_crop[a] = static_cast<itk::SizeValueType>(excess - excess / 2);
    lower_pad[a] = static_cast<itk::SizeValueType>(deficit / 2);
    upper_pad[a] = static_cast<itk::SizeValueType>(deficit - deficit / 2);
  }
  crop_filter->SetLowerBoundaryCropSize(lower_crop);
  crop_filter->SetUpperBoundaryCropSize(upper_crop);
  auto pad_filter = Pad::New();
  pad_filter->SetInput(crop_filter->GetOutput());
  pad_filter->SetPadLowerBound(lower_pad);
  pad_filter->SetPadUpperBound(upper_pad);
  pad_filter->SetConstant(-3.0f);
  pad_filter->Update();
  const auto* theirs = pad_filter->GetOutput();
  const auto region = theirs->GetLargestPossibleRegion();
  itk::Point<double, 3> first;
  theirs->TransformIndexToPhysicalPoint(region.GetIndex(), first);
  for (unsigned a = 0; a < 3; ++a) {
    EXPECT_EQ(ours.geometry().size()[a], static_cast<std::int64_t>(region.GetSize(a)));
    EXPECT_NEAR(ours.geometry().origin()[a], first[a], 1e-9);
  }
  std::int64_t differing = 0;
  for (itk::ImageRegionConstIteratorWithIndex<ItkFloat> it(theirs, region); !it.IsAtEnd(); ++it) {
    const auto idx = it.GetIndex();
    if (ours.voxels()(idx[0] - region.GetIndex(0), idx[1] - region.GetIndex(1),
                      idx[2] - region.GetIndex(2)) != it.Get()) {
      ++differing;
    }
  }
  EXPECT_EQ(differing, 0);
}

TYPED_TEST(OpsVsItk, FlipMatchesFlipImageFilterVoxels) {
  const auto image = load_image_as<float>(nibabel_data_dir + "/anatomical.nii");
  for (Axis axis : {Axis::i, Axis::j, Axis::k}) {
    const auto ours = to_host(flip(TypeParam(), this->dev(image), axis));
    using Flip = itk::FlipImageFilter<ItkFloat>;
    auto filter = Flip::New();
    filter->SetInput(to_itk(image));
    Flip::FlipAxesArrayType axes;
    for (unsigned a = 0; a < 3; ++a) axes[a] = a == static_cast<unsigned>(axis);
    filter->SetFlipAxes(axes);
    filter->Update();
    const auto theirs = from_itk_image(*filter->GetOutput());
    expect_identical(ours, theirs, "flip");
    EXPECT_TRUE(ours.geometry().same_grid(image.geometry(), 0.0));  // geometry kept
    expect_identical(to_host(flip(TypeParam(), this->dev(ours), axis)), image, "flip twice");
  }
}

// ------------------------------------------------------------- properties

TYPED_TEST(OpsVsItk, RotateThenBackIsIdentityInTheInterior) {
  const auto image = smooth_volume(synthetic_grid());
  const Statistics range = statistics(Kokkos::DefaultHostExecutionSpace(), image);
  const auto there = rotate(TypeParam(), this->dev(image), Axis::k, 12.0, Interp::linear);
  const auto back = to_host(rotate(TypeParam(), there, Axis::k, -12.0, Interp::linear));
  const Size3& n = image.geometry().size();
  double worst = 0.0;
  for (std::int64_t k = 3; k < n[2] - 3; ++k) {
    for (std::int64_t j = 8; j < n[1] - 8; ++j) {
      for (std::int64_t i = 8; i < n[0] - 8; ++i) {
        worst = std::max(worst, double(std::abs(back.voxels()(i, j, k) - image.voxels()(i, j, k))));
      }
    }
  }
  // Two linear interpolations of a smooth volume blur it slightly.
  EXPECT_LT(worst, 0.02 * (range.max - range.min));
}

TYPED_TEST(OpsVsItk, LabelsThroughNearestKeepTheLabelSet) {
  const auto labels = load_image_as<std::uint8_t>(mricron_dir + "/aal.nii.gz");
  std::set<int> input_labels;
  for (std::int64_t n = 0; n < labels.geometry().voxel_count(); ++n)
    input_labels.insert(labels.voxels().data()[n]);
  const auto rotated =
      to_host(rotate(TypeParam(), this->dev(labels), Axis::k, 17.0, Interp::nearest, 0.0, true));
  const auto resampled = to_host(
      resample_to_spacing(TypeParam(), this->dev(labels), Vec3{1.5, 1.5, 1.5}, Interp::nearest));
  for (const auto* image : {&rotated, &resampled}) {
    std::set<int> output_labels;
    for (std::int64_t n = 0; n < image->geometry().voxel_count(); ++n)
      output_labels.insert(image->voxels().data()[n]);
    EXPECT_EQ(output_labels, input_labels);
  }
}

// ------------------------------------------------------------ bad input

void expect_error(const std::function<void()>& call, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "no error, expected '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(OpsBadInput, ClearErrors) {
  const Image<float, HostMemory> image(Geometry(Size3{10, 8, 6}, Vec3{}, Vec3{1, 1, 1}));
  expect_error([&] { crop(image, Size3{5, 0, 0}, Size3{6, 8, 6}); }, "lies outside the image");
  expect_error([&] { crop(image, Size3{-1, 0, 0}, Size3{2, 2, 2}); }, "lies outside the image");
  expect_error([&] { crop(image, Size3{0, 0, 0}, Size3{0, 2, 2}); }, "must be >= 1");
  expect_error([&] { pad(image, Size3{-1, 0, 0}, Size3{0, 0, 0}); }, "must be >= 0");
  expect_error(
      [&] {
        resample_to_spacing(image, Vec3{1, 0, 1}, Interp::linear);
      },
      "must be finite and > 0");
  expect_error(
      [&] {
        resample_to_spacing(image, Vec3{1, -2, 1}, Interp::linear);
      },
      "must be finite and > 0");
  expect_error([&] { scale(image, Vec3{1, 0, 1}, Interp::linear); }, "factor");
  expect_error([&] { scale(image, -2.0, Interp::linear); }, "factor");
  expect_error([&] { change_orientation(image, "XYZ"); }, "orientation code 'XYZ'");
  expect_error([&] { change_orientation(image, "LLS"); }, "same axis");
  expect_error([&] { rotate(image, Axis::k, std::nan(""), Interp::linear); },
               "not a finite number of degrees");
  expect_error([&] { resize(image, Size3{0, 4, 4}, Interp::linear); }, "must be >= 1");
  expect_error([&] { parse_axis("w"); }, "unknown axis 'w'");
}

}  // namespace
}  // namespace medimg::test
