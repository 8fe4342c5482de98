// The ITK peer of `medimg convert` for benchmarks/io/io_bench.py: reads an
// image with ITK's ImageFileReader and writes it with ImageFileWriter
// (gzip for .nii.gz, as ITK always compresses that extension), keeping the
// pixel type. It never links medimg: ITK's NIfTI IO and medimg's nifti_clib
// export the same symbols.
// Usage: medimg_io_itk IN OUT
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>

#include <cstdint>
#include <iostream>

template <class T>
void convert(const char* in, const char* out) {
  using Image = itk::Image<T, 3>;
  auto reader = itk::ImageFileReader<Image>::New();
  reader->SetFileName(in);
  auto writer = itk::ImageFileWriter<Image>::New();
  writer->SetFileName(out);
  writer->SetInput(reader->GetOutput());
  writer->Update();
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: medimg_io_itk IN OUT\n";
    return 2;
  }
  itk::NiftiImageIOFactory::RegisterOneFactory();
  try {
    auto io = itk::ImageIOFactory::CreateImageIO(argv[1], itk::IOFileModeEnum::ReadMode);
    if (!io) throw std::runtime_error("no ITK reader for the input");
    io->SetFileName(argv[1]);
    io->ReadImageInformation();
    switch (io->GetComponentType()) {
      case itk::IOComponentEnum::UCHAR: convert<std::uint8_t>(argv[1], argv[2]); break;
      case itk::IOComponentEnum::SHORT: convert<std::int16_t>(argv[1], argv[2]); break;
      case itk::IOComponentEnum::FLOAT: convert<float>(argv[1], argv[2]); break;
      default: throw std::runtime_error("pixel type not in this benchmark");
    }
  } catch (const std::exception& e) {
    std::cerr << "medimg_io_itk: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
