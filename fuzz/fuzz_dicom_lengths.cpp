// The DICOM length walk (io/detail/dicom_lengths.hpp) on the fuzzer's
// bytes, in this process: the walk runs on every file before GDCM parses
// it, inside an isolated child in the product, where libFuzzer neither
// guides nor sanitizes it (fuzz_dicom.cpp). Contract: it returns, never
// reads outside the buffer, and any finding is one line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "medimg/io/detail/dicom_lengths.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string problem = medimg::detail::dicom_length_problem(data, size);
  if (problem.find('\n') != std::string::npos) std::abort();
  return 0;
}
