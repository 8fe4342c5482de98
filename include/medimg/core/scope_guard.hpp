// medimg::ScopeGuard: initialises MPI (when medimg is built with it) and then
// Kokkos, each only if nobody has yet, and finalises in reverse order only
// what it initialised. Create one in main(), before any Image.
// MPI_Init costs a plain process about 0.4 s (Open MPI's singleton start):
// with MpiStartup::when_launched (the CLI) MPI starts only when an MPI
// launcher started the process (mpiexec, srun: OMPI_COMM_WORLD_SIZE, PMI_*,
// PMIX_RANK, ...) or MEDIMG_MPI=1 asks for it; MEDIMG_MPI=0 keeps it off.
#pragma once

#include <string>

namespace medimg {

enum class MpiStartup {
  always,         // initialise MPI (libraries, tests, benchmarks)
  when_launched,  // only under an MPI launcher or with MEDIMG_MPI=1 (the CLI)
};

struct RuntimeOptions {
  int num_threads = -1;  // host threads; <= 0: Kokkos' default (OMP_NUM_THREADS)
  // GPU to use; < 0: by local MPI rank when a node has several, else Kokkos' default.
  int device_id = -1;
  MpiStartup mpi = MpiStartup::always;
  // Pin the host threads one to a CPU when they fill the process's CPUs
  // (pin_host_threads, medimg/core/cpu_pinning.hpp): the CLI.
  bool pin_threads = false;
};

class ScopeGuard {
 public:
  ScopeGuard(int& argc, char**& argv, const RuntimeOptions& options = {});
  explicit ScopeGuard(const RuntimeOptions& options = {});
  ~ScopeGuard();
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;

 private:
  bool m_finalize_kokkos = false;
  bool m_finalize_mpi = false;
};

// True when an MPI launcher started this process (its environment says so).
bool launched_by_mpi();
// True when MPI is initialised and not yet finalised (false without MPI).
bool mpi_in_use();
// Rank in and size of MPI_COMM_WORLD; 0 and 1 when MPI is not in use.
int world_rank();
int world_size();

// "Kokkos::OpenMP (2 threads)" and the like: the default execution space in use.
std::string describe_backend();

}  // namespace medimg
