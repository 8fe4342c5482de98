// medimg_cohort_itk MANIFEST OUT_DIR EXT
// The cohort benchmark's standard pipeline written against ITK 5.2 filters,
// one scan after the other on ITK's default threads (set
// ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS like OMP_NUM_THREADS for medimg):
//   OrientImageFilter (to RAS: ITK's LPI code) -> ResampleImageFilter (1 mm
//   isotropic, linear, medimg's grid rule: size round(n * old / new), origin
//   and direction kept) -> CropImageFilter + ConstantPadImageFilter (256^3
//   around the centre, pad -1024) -> ClampImageFilter [-160, 240] (the
//   window) -> NormalizeImageFilter (z-score, float).
// Prints one line per scan and a JSON summary of the read, compute and write
// seconds (scripts/cohort_bench.sh compares them with medimg batch).
#include <itkClampImageFilter.h>
#include <itkConstantPadImageFilter.h>
#include <itkCropImageFilter.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNormalizeImageFilter.h>
#include <itkOrientImageFilter.h>
#include <itkResampleImageFilter.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Short = itk::Image<short, 3>;
using Float = itk::Image<float, 3>;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Float::Pointer standard_pipeline(Short::Pointer image) {
  auto orient = itk::OrientImageFilter<Short, Short>::New();
  orient->UseImageDirectionOn();
  orient->SetDesiredCoordinateOrientation(
      itk::SpatialOrientation::ITK_COORDINATE_ORIENTATION_LPI);  // nibabel's RAS
  orient->SetInput(image);
  orient->Update();
  const Short* oriented = orient->GetOutput();

  auto resample = itk::ResampleImageFilter<Short, Short>::New();
  resample->SetInput(oriented);
  resample->SetInterpolator(itk::LinearInterpolateImageFunction<Short, double>::New());
  Short::SizeType size;
  Short::SpacingType spacing;
  for (unsigned a = 0; a < 3; ++a) {
    const double n = static_cast<double>(oriented->GetLargestPossibleRegion().GetSize(a));
    size[a] = static_cast<itk::SizeValueType>(
        std::max(1.0, std::round(n * oriented->GetSpacing()[a] / 1.0)));
    spacing[a] = 1.0;
  }
  resample->SetSize(size);
  resample->SetOutputSpacing(spacing);
  resample->SetOutputOrigin(oriented->GetOrigin());
  resample->SetOutputDirection(oriented->GetDirection());
  resample->SetDefaultPixelValue(0);
  resample->Update();

  Short::SizeType crop_low, crop_high, pad_low, pad_high;
  for (unsigned a = 0; a < 3; ++a) {
    const auto n = static_cast<long>(size[a]);
    const long excess = std::max(n - 256L, 0L), deficit = std::max(256L - n, 0L);
    crop_low[a] = static_cast<itk::SizeValueType>(excess / 2);
    crop_high[a] = static_cast<itk::SizeValueType>(excess - excess / 2);
    pad_low[a] = static_cast<itk::SizeValueType>(deficit / 2);
    pad_high[a] = static_cast<itk::SizeValueType>(deficit - deficit / 2);
  }
  auto crop = itk::CropImageFilter<Short, Short>::New();
  crop->SetInput(resample->GetOutput());
  crop->SetLowerBoundaryCropSize(crop_low);
  crop->SetUpperBoundaryCropSize(crop_high);
  auto pad = itk::ConstantPadImageFilter<Short, Short>::New();
  pad->SetInput(crop->GetOutput());
  pad->SetPadLowerBound(pad_low);
  pad->SetPadUpperBound(pad_high);
  pad->SetConstant(-1024);
  auto clamp = itk::ClampImageFilter<Short, Short>::New();
  clamp->SetInput(pad->GetOutput());
  clamp->SetBounds(-160, 240);
  auto normalize = itk::NormalizeImageFilter<Short, Float>::New();
  normalize->SetInput(clamp->GetOutput());
  normalize->Update();
  Float::Pointer result = normalize->GetOutput();
  result->DisconnectPipeline();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MANIFEST OUT_DIR EXT\n", argv[0]);
    return 2;
  }
  itk::NiftiImageIOFactory::RegisterOneFactory();
  std::ifstream manifest(argv[1]);
  std::vector<std::string> inputs;
  std::string line;
  std::getline(manifest, line);  // header
  while (std::getline(manifest, line)) {
    if (!line.empty()) inputs.push_back(line.substr(0, line.find(',')));
  }
  const std::filesystem::path out_dir = argv[2];
  std::filesystem::create_directories(out_dir);
  double read = 0.0, compute = 0.0, write = 0.0;
  const auto start = Clock::now();
  try {
    for (const std::string& input : inputs) {
      auto t = Clock::now();
      auto reader = itk::ImageFileReader<Short>::New();
      reader->SetFileName(input);
      reader->Update();
      Short::Pointer image = reader->GetOutput();
      image->DisconnectPipeline();
      const double r = seconds_since(t);
      t = Clock::now();
      Float::Pointer result = standard_pipeline(image);
      const double c = seconds_since(t);
      t = Clock::now();
      auto writer = itk::ImageFileWriter<Float>::New();
      std::string name = std::filesystem::path(input).filename().string();
      name = name.substr(0, name.find('.')) + argv[3];
      writer->SetFileName((out_dir / name).string());
      writer->SetInput(result);
      writer->Update();
      const double w = seconds_since(t);
      std::printf("itk: %s read %.3f s, compute %.3f s, write %.3f s\n", name.c_str(), r, c, w);
      std::fflush(stdout);
      read += r;
      compute += c;
      write += w;
    }
  } catch (const itk::ExceptionObject& e) {
    std::fprintf(stderr, "medimg_cohort_itk: %s\n", e.GetDescription());
    return 1;
  }
  std::printf(
      "itk summary: {\"scans\": %zu, \"read_s\": %.3f, \"compute_s\": %.3f, \"write_s\": %.3f, "
      "\"total_s\": %.3f, \"threads\": %u}\n",
      inputs.size(), read, compute, write, seconds_since(start),
      itk::MultiThreaderBase::GetGlobalDefaultNumberOfThreads());
  return 0;
}
