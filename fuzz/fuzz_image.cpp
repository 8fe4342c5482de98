// One image file of the format MEDIMG_FUZZ_EXTENSION (".nii", ".nii.gz",
// ".nrrd", ".mha", ".h5"): its header as `medimg info` reads it, then the
// whole image as every command loads it.
//
// HDF5 files are read in an isolated child (io/image_io.cpp), whose coverage
// the fuzzer never sees; so a file the child read without crashing or
// hanging is read again here, in this process, through the same module
// (load_hdf5), which is what makes the HDF5 reading coverage-guided. A
// file on which the child crashed or was stopped is not: that is HDF5's own
// fault, already one error for the user.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_support.hpp"
#include "medimg/io/hdf5_io.hpp"
#include "medimg/io/image_io.hpp"

namespace {

// True when the isolated child died or was stopped (not a plain error).
bool child_failed(const medimg::Error& e) {
  const std::string message = e.what();
  return message.find("did not finish reading") != std::string::npos ||
         message.find("aborted while reading") != std::string::npos ||
         message.find("the reading process") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medimg::fuzz::initialise();
  const std::string path =
      medimg::fuzz::write_input(data, size, std::string("input") + MEDIMG_FUZZ_EXTENSION);
  bool in_process = std::strcmp(MEDIMG_FUZZ_EXTENSION, ".h5") == 0;
  // A call whose isolated child died or was stopped clears in_process.
  const auto screened = [&in_process](auto&& call) {
    return [&in_process, call] {
      try {
        call();
      } catch (const medimg::Error& e) {
        if (child_failed(e)) in_process = false;
        throw;
      }
    };
  };
  medimg::fuzz::expect_clean(screened([&] { (void)medimg::read_image_header(path); }));
  medimg::fuzz::expect_clean(screened([&] { (void)medimg::load_image(path); }));
  if (in_process) medimg::fuzz::expect_clean([&] { (void)medimg::load_hdf5(path); });
  return 0;
}
