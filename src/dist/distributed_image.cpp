#include "medimg/dist/distributed_image.hpp"

#include "medimg/core/scope_guard.hpp"

#include "medimg/dist/exchange.hpp"

#include <cstdlib>

#include "medimg/config.hpp"

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

CommStats& comm_stats() {
  static CommStats stats;
  return stats;
}

namespace impl {

bool gpu_aware_mpi() {
  static const bool aware = [] {
    const char* setting = std::getenv("MEDIMG_GPU_AWARE_MPI");
    if (setting && *setting) return std::string(setting) != "0";
    return MEDIMG_GPU_AWARE_MPI_DEFAULT != 0;
  }();
  return aware;
}

std::vector<Box> all_boxes(MPI_Comm comm, const Box& mine) {
  int ranks = 1;
  MPI_Comm_size(comm, &ranks);
  const std::int64_t packed[6] = {mine.first[0], mine.first[1], mine.first[2],
                                  mine.last[0],  mine.last[1],  mine.last[2]};
  std::vector<std::int64_t> all(static_cast<std::size_t>(6 * ranks));
  check_mpi(MPI_Allgather(packed, 6, MPI_INT64_T, all.data(), 6, MPI_INT64_T, comm),
            "exchange boxes");
  std::vector<Box> boxes(static_cast<std::size_t>(ranks));
  for (std::size_t r = 0; r < boxes.size(); ++r) {
    for (int a = 0; a < 3; ++a) {
      boxes[r].first[a] = all[6 * r + static_cast<std::size_t>(a)];
      boxes[r].last[a] = all[6 * r + 3 + static_cast<std::size_t>(a)];
    }
  }
  return boxes;
}

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string("MPI error in ") + what + ": " + std::string(text, length));
}

MPI_Comm world_comm() {
  return mpi_in_use() ? MPI_COMM_WORLD : MPI_COMM_NULL;
}

void check_same_communicator(MPI_Comm a, MPI_Comm b, const char* what) {
  int result = MPI_UNEQUAL;
  MPI_Comm_compare(a, b, &result);
  if (result == MPI_IDENT || result == MPI_CONGRUENT) return;
  int na = 0, nb = 0;
  MPI_Comm_size(a, &na);
  MPI_Comm_size(b, &nb);
  throw Error(std::string(what) + ": the images are distributed over different communicators (" +
              std::to_string(na) + " and " + std::to_string(nb) + " ranks)");
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

Metadata broadcast(MPI_Comm comm, const Metadata& metadata, int root) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::string text = rank == root ? to_json(metadata) : std::string();
  long long length = static_cast<long long>(text.size());
  check_mpi(MPI_Bcast(&length, 1, MPI_LONG_LONG, root, comm), "broadcast metadata");
  text.resize(static_cast<std::size_t>(length));
  check_mpi(MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, comm),
            "broadcast metadata");
  return rank == root ? metadata : metadata_from_json(text);
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
