// Uses installed medimg: synthesise an oblique phantom, save it as NIfTI,
// read it back and check voxels and geometry. Exit code 0 when all agree.
#include <medimg/config.hpp>
#include <medimg/core/scope_guard.hpp>
#include <medimg/io/image_io.hpp>
#include <medimg/ops/phantom.hpp>
#include <medimg/ops/statistics.hpp>

#include <cmath>
#include <iostream>

int main(int argc, char** argv) {
  medimg::ScopeGuard guard(argc, argv);
  const std::string path = argc > 1 ? argv[1] : "downstream_phantom.nii.gz";
  const double c = std::cos(0.3), s = std::sin(0.3);
  const medimg::Geometry geometry(
      medimg::Size3{48, 40, 12}, medimg::Vec3{-20.0, 10.0, 5.0}, medimg::Vec3{0.9, 0.9, 3.0},
      medimg::Mat3{medimg::Vec3{c, -s, 0.0}, medimg::Vec3{s, c, 0.0}, medimg::Vec3{0.0, 0.0, 1.0}});
  const auto phantom = medimg::shepp_logan_phantom(geometry);
  medimg::save_image(phantom, path);
  const auto loaded = medimg::load_image_as<float>(path);
  const auto a = medimg::statistics(phantom);
  const auto b = medimg::statistics(loaded);
  std::cout << "downstream: " << path << " orientation " << loaded.geometry().orientation_code()
            << ", mean " << b.mean << " (written " << a.mean << ")\n";
  // NRRD goes through medimg's ITK module, which the installed package
  // loads at run time (found through this program's run path).
  const std::string nrrd = path + ".nrrd";
  medimg::save_image(loaded, nrrd);
  const auto again = medimg::load_image_as<float>(nrrd);
  const auto round_trip = medimg::statistics(again);
  std::cout << "downstream: " << nrrd << " mean " << round_trip.mean << "\n";
  bool same = a.mean == b.mean && a.max == b.max && round_trip.mean == b.mean &&
              loaded.geometry().same_grid(geometry, 1e-5) &&
              again.geometry().same_grid(geometry, 1e-5);
#if MEDIMG_HAS_HDF5
  // So does HDF5 (the HDF5 module).
  const std::string h5 = path + ".h5:/downstream/phantom";
  medimg::save_image(loaded, h5);
  const auto stored = medimg::load_image_as<float>(h5);
  std::cout << "downstream: " << h5 << " mean " << medimg::statistics(stored).mean << "\n";
  same = same && medimg::statistics(stored).mean == b.mean &&
         stored.geometry().same_grid(geometry, 1e-5);
#endif
  return same ? 0 : 1;
}
