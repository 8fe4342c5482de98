#include <cmath>

#include "medimg/ops/phantom.hpp"

namespace medimg::impl {

Kokkos::Array<Ellipsoid, 10> shepp_logan_ellipsoids() {
  // intensity, semi-axes a b c, centre x0 y0 z0, rotation phi (degrees) about
  // k: the modified 3D Shepp-Logan phantom (Toft's intensities).
  const double table[10][8] = {
      {1.0, 0.6900, 0.920, 0.810, 0.0, 0.0, 0.0, 0.0},
      {-0.8, 0.6624, 0.874, 0.780, 0.0, -0.0184, 0.0, 0.0},
      {-0.2, 0.1100, 0.310, 0.220, 0.22, 0.0, 0.0, -18.0},
      {-0.2, 0.1600, 0.410, 0.280, -0.22, 0.0, 0.0, 18.0},
      {0.1, 0.2100, 0.250, 0.410, 0.0, 0.35, -0.15, 0.0},
      {0.1, 0.0460, 0.046, 0.050, 0.0, 0.1, 0.25, 0.0},
      {0.1, 0.0460, 0.046, 0.050, 0.0, -0.1, 0.25, 0.0},
      {0.1, 0.0460, 0.023, 0.050, -0.08, -0.605, 0.0, 0.0},
      {0.1, 0.0230, 0.023, 0.020, 0.0, -0.606, 0.0, 0.0},
      {0.1, 0.0230, 0.046, 0.020, 0.06, -0.605, 0.0, 0.0},
  };
  Kokkos::Array<Ellipsoid, 10> ellipsoids;
  for (int e = 0; e < 10; ++e) {
    const double* row = table[e];
    const double phi = row[7] * 3.14159265358979323846 / 180.0;
    ellipsoids[e] = Ellipsoid{row[0], row[1], row[2],        row[3],       row[4],
                              row[5], row[6], std::cos(phi), std::sin(phi)};
  }
  return ellipsoids;
}

}  // namespace medimg::impl
