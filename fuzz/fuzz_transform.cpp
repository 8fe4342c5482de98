// An ITK transform file (.tfm) as `medimg affine --transform` and
// `medimg register --initial` read it.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "medimg/io/transform_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medimg::fuzz::initialise();
  const std::string path = medimg::fuzz::write_input(data, size, "transform.tfm");
  medimg::fuzz::expect_clean([&] { (void)medimg::load_transform(path); });
  return 0;
}
