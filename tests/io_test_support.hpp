// Helpers of the IO suites (test_io.cpp, test_dicom.cpp): a CT-like int16
// phantom, voxel-exact comparison, the bad-input check and warnings caught.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/warning.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/ops/cast.hpp"
#include "medimg/ops/phantom.hpp"

namespace medimg::test {

// The Shepp-Logan phantom in CT-like units (x 1000) as int16.
inline Image<std::int16_t, HostMemory> phantom_int16(const Geometry& g) {
  auto phantom = shepp_logan_phantom(Kokkos::DefaultHostExecutionSpace(), g);
  for (std::int64_t n = 0; n < g.voxel_count(); ++n) phantom.voxels().data()[n] *= 1000.0f;
  return cast<std::int16_t>(phantom);
}

template <class T>
void expect_same_voxels(const Image<T, HostMemory>& a, const Image<T, HostMemory>& b) {
  ASSERT_EQ(a.geometry().voxel_count(), b.geometry().voxel_count());
  std::int64_t differing = 0;
  for (std::int64_t n = 0; n < a.geometry().voxel_count(); ++n) {
    if (a.voxels().data()[n] != b.voxels().data()[n]) ++differing;
  }
  EXPECT_EQ(differing, 0);
}

// load_image(path) fails with an error naming `path` and saying `reason`.
inline void expect_read_error(const std::string& path, const std::string& reason) {
  try {
    load_image(path);
    ADD_FAILURE() << path << ": no error, expected '" << reason << "'";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'" + path + "'"), std::string::npos) << message;
    EXPECT_NE(message.find(reason), std::string::npos) << message;
  }
}

// Loads `path`, collecting the warnings it raises.
inline AnyImage<HostMemory> load_collecting(const std::string& path,
                                            std::vector<std::string>& warnings,
                                            const LoadOptions& options = {}) {
  WarningHandler previous =
      set_warning_handler([&warnings](const std::string& m) { warnings.push_back(m); });
  try {
    AnyImage<HostMemory> image = load_image(path, options);
    set_warning_handler(previous);
    return image;
  } catch (...) {
    set_warning_handler(previous);
    throw;
  }
}

}  // namespace medimg::test
