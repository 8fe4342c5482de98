// medimg_e2e_itk COMMAND ARGS: medimg's CLI commands written as the ITK 5.2
// program a user would write (Read -> filter -> Write), for the end-to-end
// benchmark (benchmarks/e2e/bench_e2e.py). Threads: ITK's default, set by
// ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS (as OMP_NUM_THREADS for medimg).
// Each command does what the medimg command does (the same grid rules), so
// the outputs can be compared:
//   info IN                          read; min, max, mean (StatisticsImageFilter)
//   convert IN OUT                   read, write
//   resample IN OUT S INTERP         spacing S mm on every axis: size
//                                    round(n * old / S), origin and direction kept
//   rotate IN OUT AXIS DEG INTERP    about the image's axis (0, 1, 2: i, j, k)
//                                    through the grid's centre, right-hand rule
//   reorient IN OUT                  to RAS (ITK's code LPI), OrientImageFilter
//   crop IN OUT I J K NX NY NZ       RegionOfInterestImageFilter
//   pipeline IN OUT                  reorient RAS -> resample 1 mm linear ->
//                                    z-score (NormalizeImageFilter, float)
// INTERP: nearest, linear or bspline (cubic). Pixel types: the file's, for
// int16 and float32 files. It links ITK's NIfTI IO and never medimg.
#include <itkBSplineInterpolateImageFunction.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkImageIOFactory.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNormalizeImageFilter.h>
#include <itkOrientImageFilter.h>
#include <itkRegionOfInterestImageFilter.h>
#include <itkResampleImageFilter.h>
#include <itkStatisticsImageFilter.h>
#include <itkVersorRigid3DTransform.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

template <class Image>
typename Image::Pointer read(const std::string& path) {
  auto reader = itk::ImageFileReader<Image>::New();
  reader->SetFileName(path);
  reader->Update();
  typename Image::Pointer image = reader->GetOutput();
  image->DisconnectPipeline();
  return image;
}

template <class Image>
void write(const Image* image, const std::string& path) {
  auto writer = itk::ImageFileWriter<Image>::New();
  writer->SetFileName(path);
  writer->SetInput(image);
  writer->Update();
}

template <class Image>
typename itk::InterpolateImageFunction<Image, double>::Pointer interpolator(
    const std::string& name) {
  if (name == "nearest") return itk::NearestNeighborInterpolateImageFunction<Image, double>::New();
  if (name == "bspline") return itk::BSplineInterpolateImageFunction<Image, double, double>::New();
  return itk::LinearInterpolateImageFunction<Image, double>::New();
}

// medimg's resample_to_spacing grid: size round(n * old / new), origin and
// direction kept.
template <class Image>
typename Image::Pointer resample_to_spacing(const Image* image, double spacing,
                                            const std::string& interp) {
  auto resample = itk::ResampleImageFilter<Image, Image>::New();
  resample->SetInput(image);
  resample->SetInterpolator(interpolator<Image>(interp));
  typename Image::SizeType size;
  typename Image::SpacingType out_spacing;
  for (unsigned a = 0; a < 3; ++a) {
    const double n = static_cast<double>(image->GetLargestPossibleRegion().GetSize(a));
    size[a] = static_cast<itk::SizeValueType>(
        std::max(1.0, std::round(n * image->GetSpacing()[a] / spacing)));
    out_spacing[a] = spacing;
  }
  resample->SetSize(size);
  resample->SetOutputSpacing(out_spacing);
  resample->SetOutputOrigin(image->GetOrigin());
  resample->SetOutputDirection(image->GetDirection());
  resample->SetDefaultPixelValue(0);
  resample->Update();
  typename Image::Pointer out = resample->GetOutput();
  out->DisconnectPipeline();
  return out;
}

template <class Image>
typename Image::Pointer orient_ras(const Image* image) {
  auto orient = itk::OrientImageFilter<Image, Image>::New();
  orient->UseImageDirectionOn();
  orient->SetDesiredCoordinateOrientation(
      itk::SpatialOrientation::ITK_COORDINATE_ORIENTATION_LPI);  // medimg's and nibabel's RAS
  orient->SetInput(image);
  orient->Update();
  typename Image::Pointer out = orient->GetOutput();
  out->DisconnectPipeline();
  return out;
}

template <class T>
int run(const std::vector<std::string>& a) {
  using Image = itk::Image<T, 3>;
  const std::string& command = a[0];
  auto image = read<Image>(a[1]);
  if (command == "info") {
    auto stats = itk::StatisticsImageFilter<Image>::New();
    stats->SetInput(image);
    stats->Update();
    const auto size = image->GetLargestPossibleRegion().GetSize();
    std::printf("size %lu %lu %lu min %g max %g mean %g\n", size[0], size[1], size[2],
                static_cast<double>(stats->GetMinimum()), static_cast<double>(stats->GetMaximum()),
                stats->GetMean());
    return 0;
  }
  if (command == "convert") {
    write(image.GetPointer(), a[2]);
  } else if (command == "resample") {
    write(resample_to_spacing(image.GetPointer(), std::stod(a[3]), a[4]).GetPointer(), a[2]);
  } else if (command == "rotate") {
    const unsigned axis = static_cast<unsigned>(std::stoi(a[3]));
    const double degrees = std::stod(a[4]);
    // The grid's centre and the axis' direction column.
    itk::Point<double, 3> center;
    itk::Vector<double, 3> direction;
    const auto size = image->GetLargestPossibleRegion().GetSize();
    itk::ContinuousIndex<double, 3> middle;
    for (unsigned c = 0; c < 3; ++c) {
      middle[c] = 0.5 * (static_cast<double>(size[c]) - 1.0);
      direction[c] = image->GetDirection()[c][axis];
    }
    image->TransformContinuousIndexToPhysicalPoint(middle, center);
    // ResampleImageFilter maps output points to input points: the content
    // turns by +degrees when the points turn by -degrees.
    auto transform = itk::VersorRigid3DTransform<double>::New();
    transform->SetCenter(center);
    transform->SetRotation(direction, -degrees * std::acos(-1.0) / 180.0);
    auto resample = itk::ResampleImageFilter<Image, Image>::New();
    resample->SetInput(image);
    resample->SetTransform(transform);
    resample->SetInterpolator(interpolator<Image>(a[5]));
    resample->SetOutputParametersFromImage(image);
    resample->SetDefaultPixelValue(0);
    resample->Update();
    write(resample->GetOutput(), a[2]);
  } else if (command == "reorient") {
    write(orient_ras(image.GetPointer()).GetPointer(), a[2]);
  } else if (command == "crop") {
    typename Image::RegionType region;
    for (unsigned c = 0; c < 3; ++c) {
      region.SetIndex(c, std::stol(a[3 + c]));
      region.SetSize(c, static_cast<itk::SizeValueType>(std::stol(a[6 + c])));
    }
    auto crop = itk::RegionOfInterestImageFilter<Image, Image>::New();
    crop->SetInput(image);
    crop->SetRegionOfInterest(region);
    crop->Update();
    write(crop->GetOutput(), a[2]);
  } else if (command == "pipeline") {
    auto oriented = orient_ras(image.GetPointer());
    image = nullptr;
    auto resampled = resample_to_spacing(oriented.GetPointer(), 1.0, "linear");
    oriented = nullptr;
    auto normalize = itk::NormalizeImageFilter<Image, itk::Image<float, 3>>::New();
    normalize->SetInput(resampled);
    normalize->Update();
    write(normalize->GetOutput(), a[2]);
  } else {
    std::fprintf(stderr, "medimg_e2e_itk: unknown command %s\n", command.c_str());
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s COMMAND IN [OUT ...] (see the source)\n", argv[0]);
    return 2;
  }
  itk::NiftiImageIOFactory::RegisterOneFactory();
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    auto io = itk::ImageIOFactory::CreateImageIO(args[1].c_str(), itk::IOFileModeEnum::ReadMode);
    if (!io) throw std::runtime_error("cannot read " + args[1]);
    io->SetFileName(args[1]);
    io->ReadImageInformation();
    if (io->GetComponentType() == itk::IOComponentEnum::SHORT) return run<short>(args);
    return run<float>(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "medimg_e2e_itk: %s\n", e.what());
    return 1;
  }
}
