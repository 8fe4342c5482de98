#include "medimg/core/scope_guard.hpp"

#include <Kokkos_Core.hpp>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include "medimg/config.hpp"
#include "medimg/core/cpu_pinning.hpp"
#include "medimg/core/device_memory.hpp"
#include "medimg/core/kokkos_compat.hpp"

#if MEDIMG_HAS_MPI
#include <mpi.h>
#endif

namespace medimg {

namespace {
int no_argc = 0;
char** no_argv = nullptr;

bool wants_mpi(MpiStartup startup) {
  if (startup == MpiStartup::always) return true;
  const char* forced = std::getenv("MEDIMG_MPI");
  if (forced != nullptr && std::strcmp(forced, "1") == 0) return true;
  if (forced != nullptr && std::strcmp(forced, "0") == 0) return false;
  return launched_by_mpi();
}
}  // namespace

bool launched_by_mpi() {
  // Open MPI's mpiexec, PMI-1/2 (MPICH's Hydra, Slurm's srun --mpi=pmi2),
  // PMIx (srun --mpi=pmix, Open MPI 5), MVAPICH2, Cray PALS.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK",
                           "MPI_LOCALNRANKS", "MV2_COMM_WORLD_SIZE", "PALS_RANKID"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

bool mpi_in_use() {
#if MEDIMG_HAS_MPI
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
#else
  return false;
#endif
}

int world_rank() {
  int rank = 0;
#if MEDIMG_HAS_MPI
  if (mpi_in_use()) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
#endif
  return rank;
}

int world_size() {
  int size = 1;
#if MEDIMG_HAS_MPI
  if (mpi_in_use()) MPI_Comm_size(MPI_COMM_WORLD, &size);
#endif
  return size;
}

ScopeGuard::ScopeGuard(const RuntimeOptions& options) : ScopeGuard(no_argc, no_argv, options) {}

ScopeGuard::ScopeGuard([[maybe_unused]] int& argc, [[maybe_unused]] char**& argv,
                       const RuntimeOptions& options) {
#if MEDIMG_HAS_MPI
  int mpi_initialized = 0;
  MPI_Initialized(&mpi_initialized);
  if (!mpi_initialized && wants_mpi(options.mpi)) {
    // Serialized: the batch runner's reader thread may call MPI, one thread at a time.
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    m_finalize_mpi = true;
  }
#endif
  if (!Kokkos::is_initialized()) {
    int device_id = options.device_id;
#if MEDIMG_HAS_MPI
    // Several GPUs on a node: rank -> GPU by local rank (ranks on the node).
    const int gpus = visible_gpu_count();
    if (device_id < 0 && gpus > 1 && mpi_in_use()) {
      MPI_Comm node;
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
      int local_rank = 0;
      MPI_Comm_rank(node, &local_rank);
      MPI_Comm_free(&node);
      device_id = local_rank % gpus;
    }
#endif
#ifdef KOKKOS_ENABLE_OPENMP
    if (options.pin_threads) pin_host_threads(options.num_threads);
#endif
    compat::initialize_kokkos(options.num_threads, device_id);
    m_finalize_kokkos = true;
  }
}

ScopeGuard::~ScopeGuard() {
  if (m_finalize_kokkos) Kokkos::finalize();
#if MEDIMG_HAS_MPI
  if (m_finalize_mpi) {
    int mpi_finalized = 0;
    MPI_Finalized(&mpi_finalized);
    if (!mpi_finalized) MPI_Finalize();
  }
#endif
}

std::string describe_backend() {
  using Space = Kokkos::DefaultExecutionSpace;
  std::ostringstream out;
  out << "Kokkos::" << Space::name() << " (concurrency " << Space().concurrency() << ")";
  if (!std::is_same_v<Space, Kokkos::DefaultHostExecutionSpace>) {
    out << ", host Kokkos::" << Kokkos::DefaultHostExecutionSpace::name() << " (concurrency "
        << Kokkos::DefaultHostExecutionSpace().concurrency() << ")";
  }
  const std::vector<int> cpus = host_thread_cpus();
  for (std::size_t t = 0; t < cpus.size(); ++t) {
    out << (t ? "," : ", host threads pinned to CPUs ") << cpus[t];
  }
  out << ", Kokkos " << KOKKOS_VERSION / 10000 << "." << KOKKOS_VERSION / 100 % 100 << "."
      << KOKKOS_VERSION % 100;
  return out.str();
}

}  // namespace medimg
