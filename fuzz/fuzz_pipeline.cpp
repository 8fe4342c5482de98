// A pipeline document (JSON) as `medimg pipeline --steps` and `medimg batch`
// load it, then planned for a small input (the shapes and peak memory the
// batch runner computes before any item runs).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "medimg/pipeline/pipeline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medimg::fuzz::initialise();
  const std::string text(reinterpret_cast<const char*>(data), size);
  medimg::fuzz::expect_clean([&] {
    const medimg::Pipeline pipeline = medimg::Pipeline::from_json_text(text, "fuzz.json");
    const medimg::Geometry grid({20, 16, 12}, {-10.0, 4.0, 7.0}, {1.0, 1.2, 2.5});
    (void)pipeline.shapes({grid, medimg::PixelType::int16});
    (void)pipeline.peak_bytes({grid, medimg::PixelType::int16});
  });
  return 0;
}
