// impl::agree_on_failure (include/medimg/dist/distributed_image.hpp): MPI
// only, no Kokkos, so the HDF5 module (src/hdf5_module) compiles it too.
#include <mpi.h>

#include <string>

#include "medimg/core/error.hpp"
#include "medimg/dist/distributed_image.hpp"

namespace medimg::impl {

void agree_on_failure(MPI_Comm comm, const std::string& failure) {
  if (comm == MPI_COMM_NULL) {
    if (!failure.empty()) throw Error(failure);
    return;
  }
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  int first = failure.empty() ? ranks : rank;
  MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == ranks) return;
  long long length = rank == first ? static_cast<long long>(failure.size()) : 0;
  MPI_Bcast(&length, 1, MPI_LONG_LONG, first, comm);
  std::string message =
      rank == first ? failure : std::string(static_cast<std::size_t>(length), ' ');
  MPI_Bcast(message.data(), static_cast<int>(length), MPI_CHAR, first, comm);
  throw Error(message);
}

}  // namespace medimg::impl
