// One image file of the format MEDIMG_FUZZ_EXTENSION (".nii", ".nii.gz",
// ".nrrd", ".mha", ".h5"): its header as `medimg info` reads it, then the
// whole image as every command loads it.
//
// ITK and HDF5 files are read in an isolated child (io/image_io.cpp), whose
// coverage the fuzzer does not see. Reading HDF5 files again in this process
// for coverage was tried and dropped: after a few hundred damaged files,
// HDF5 1.10 corrupted the heap (an AddressSanitizer CHECK on a chunk header
// when a thread ended) and lost 80 bytes, neither reproducible by one file
// alone, which is what the isolation is for (docs/RELIABILITY.md).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "medimg/io/image_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medimg::fuzz::initialise();
  const std::string path =
      medimg::fuzz::write_input(data, size, std::string("input") + MEDIMG_FUZZ_EXTENSION);
  medimg::fuzz::expect_clean([&] { (void)medimg::read_image_header(path); });
  medimg::fuzz::expect_clean([&] { (void)medimg::load_image(path); });
  return 0;
}
