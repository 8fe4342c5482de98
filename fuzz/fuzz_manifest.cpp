// A batch manifest (CSV) as `medimg batch --manifest` reads and checks it.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "medimg/pipeline/batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medimg::fuzz::initialise();
  const std::string path = medimg::fuzz::write_input(data, size, "manifest.csv");
  medimg::fuzz::expect_clean([&] { (void)medimg::read_manifest(path, ".nii.gz"); });
  return 0;
}
