// ITK's side of the resampling comparisons: ResampleImageFilter with the
// interpolator matching medimg's, an AffineTransform built from the same
// matrix and offset, and float output; plus the comparison rules of the
// resampling issue (linear/B-spline within 1e-4 of the input range, nearest
// identical except at rounding ties).
#pragma once

#include <gtest/gtest.h>
#include <itkAffineTransform.h>
#include <itkBSplineInterpolateImageFunction.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "itk_support.hpp"
#include "medimg/interp/interpolator.hpp"
#include "medimg/ops/statistics.hpp"
#include "medimg/transform/affine.hpp"

namespace medimg::test {

using ItkFloat = itk::Image<float, 3>;

inline itk::AffineTransform<double, 3>::Pointer to_itk_transform(const AffineTransform& t) {
  auto out = itk::AffineTransform<double, 3>::New();
  itk::AffineTransform<double, 3>::MatrixType m;
  itk::AffineTransform<double, 3>::OutputVectorType offset;
  for (unsigned r = 0; r < 3; ++r) {
    offset[r] = t.offset()[r];
    for (unsigned c = 0; c < 3; ++c) m[r][c] = t.matrix()[r][c];
  }
  out->SetMatrix(m);
  out->SetOffset(offset);
  return out;
}

template <class Transform>
Image<float, HostMemory> itk_resample(const Image<float, HostMemory>& input, const Geometry& output,
                                      const Transform& transform, Interp interp,
                                      double fill = 0.0) {
  using Filter = itk::ResampleImageFilter<ItkFloat, ItkFloat, double>;
  auto filter = Filter::New();
  filter->SetInput(to_itk(input));
  const auto reference = to_itk(Image<float, HostMemory>(output));
  filter->SetOutputParametersFromImage(reference);
  filter->SetTransform(transform);
  filter->SetDefaultPixelValue(static_cast<float>(fill));
  switch (interp) {
    case Interp::nearest:
      filter->SetInterpolator(
          itk::NearestNeighborInterpolateImageFunction<ItkFloat, double>::New());
      break;
    case Interp::linear:
      filter->SetInterpolator(itk::LinearInterpolateImageFunction<ItkFloat, double>::New());
      break;
    case Interp::bspline: {
      auto bspline = itk::BSplineInterpolateImageFunction<ItkFloat, double, double>::New();
      bspline->SetSplineOrder(3);
      filter->SetInterpolator(bspline);
      break;
    }
  }
  filter->Update();
  return from_itk_image(*filter->GetOutput());
}

inline Image<float, HostMemory> itk_resample(const Image<float, HostMemory>& input,
                                             const Geometry& output, const AffineTransform& t,
                                             Interp interp, double fill = 0.0) {
  return itk_resample(input, output, to_itk_transform(t), interp, fill);
}

// Compares medimg's output with ITK's on the same grid. `index_of` gives the
// input continuous index of an output voxel (for nearest's rounding ties).
// Returns the largest |difference|.
template <class IndexOf>
double expect_matches_itk(const Image<float, HostMemory>& ours, const Image<float, HostMemory>& itk,
                          const Image<float, HostMemory>& input, Interp interp, IndexOf index_of,
                          const std::string& what) {
  EXPECT_TRUE(ours.geometry().same_grid(itk.geometry(), 1e-6)) << what;
  const Statistics range = statistics(Kokkos::DefaultHostExecutionSpace(), input);
  const double tolerance = 1e-4 * (range.max - range.min);
  const Size3& n = ours.geometry().size();
  double worst = 0.0;
  std::int64_t mismatches = 0, ties = 0;
  for (std::int64_t k = 0; k < n[2]; ++k) {
    for (std::int64_t j = 0; j < n[1]; ++j) {
      for (std::int64_t i = 0; i < n[0]; ++i) {
        const double d = std::abs(double(ours.voxels()(i, j, k)) - double(itk.voxels()(i, j, k)));
        if (d == 0.0) continue;
        // Within 1e-5 of a tie two correct implementations may decide either
        // way: nearest's rounding (fraction 0.5) and, for every interpolator,
        // the inside test's boundary (-0.5 and size - 0.5) - ITK accumulates
        // the index along a row, medimg evaluates it, so they differ by ulps.
        const Vec3 c = index_of(i, j, k);
        bool tie = false;
        for (int a = 0; a < 3; ++a) {
          const double frac = c[a] - std::floor(c[a]);
          const double edge = static_cast<double>(input.geometry().size()[a]) - 0.5;
          tie = tie || std::abs(c[a] + 0.5) < 1e-5 || std::abs(c[a] - edge) < 1e-5 ||
                (interp == Interp::nearest && std::abs(frac - 0.5) < 1e-5);
        }
        if (tie) {
          ++ties;
          continue;
        }
        if (interp == Interp::nearest) ++mismatches;
        worst = std::max(worst, d);
      }
    }
  }
  std::printf("[vs ITK] %-60s max |diff| %.3g (range %.4g, %lld tie voxels skipped)\n",
              what.c_str(), worst, range.max - range.min, static_cast<long long>(ties));
  if (interp == Interp::nearest) {
    EXPECT_EQ(mismatches, 0) << what << ": nearest differs from ITK away from ties (" << ties
                             << " ties)";
  } else {
    EXPECT_LE(worst, tolerance) << what << ": max |medimg - ITK| " << worst << " > 1e-4 x range ("
                                << ties << " boundary ties skipped)";
  }
  return worst;
}

}  // namespace medimg::test
