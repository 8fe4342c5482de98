#include "medimg/dist/distributed_image.hpp"

#include <cstdint>

namespace medimg {

template <>
MPI_Datatype mpi_datatype<std::uint8_t>() {
  return MPI_UNSIGNED_CHAR;
}
template <>
MPI_Datatype mpi_datatype<std::int16_t>() {
  return MPI_SHORT;
}
template <>
MPI_Datatype mpi_datatype<std::uint16_t>() {
  return MPI_UNSIGNED_SHORT;
}
template <>
MPI_Datatype mpi_datatype<std::int32_t>() {
  return MPI_INT;
}
template <>
MPI_Datatype mpi_datatype<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_datatype<double>() {
  return MPI_DOUBLE;
}

namespace impl {

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string("MPI error in ") + what + ": " + std::string(text, length));
}

std::array<double, 18> pack(const Geometry& g) {
  std::array<double, 18> v{};
  for (int a = 0; a < 3; ++a) {
    v[a] = static_cast<double>(g.size()[a]);
    v[3 + a] = g.origin()[a];
    v[6 + a] = g.spacing()[a];
    for (int c = 0; c < 3; ++c) v[9 + 3 * a + c] = g.direction()[a][c];
  }
  return v;
}

Geometry unpack(const std::array<double, 18>& v) {
  Size3 size;
  Vec3 origin, spacing;
  Mat3 direction;
  for (int a = 0; a < 3; ++a) {
    size[a] = static_cast<std::int64_t>(v[a]);
    origin[a] = v[3 + a];
    spacing[a] = v[6 + a];
    for (int c = 0; c < 3; ++c) direction[a][c] = v[9 + 3 * a + c];
  }
  return Geometry(size, origin, spacing, direction);
}

}  // namespace impl
}  // namespace medimg
