// One file in a folder, read as a DICOM series (the folder scan and GDCM's
// header screen, which run in an isolated child: io/detail/isolated.hpp),
// then loaded. The child's coverage does not reach libFuzzer; the parent's
// side (the screen's JSON, grouping, geometry rules) is what is guided, and
// the length walk that runs in the child before GDCM
// (io/detail/dicom_lengths.hpp) is run here too, in this process, so that
// it is guided and under the sanitizers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_support.hpp"
#include "medimg/io/detail/dicom_lengths.hpp"
#include "medimg/io/image_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medimg::fuzz::initialise();
  const std::string problem = medimg::detail::dicom_length_problem(data, size);
  if (problem.find('\n') != std::string::npos) std::abort();
  const std::string file = medimg::fuzz::write_input(data, size, "series/slice.dcm");
  const std::string folder = std::filesystem::path(file).parent_path().string();
  medimg::fuzz::expect_clean([&] { (void)medimg::read_image_header(folder); });
  medimg::fuzz::expect_clean([&] { (void)medimg::load_image(folder); });
  return 0;
}
