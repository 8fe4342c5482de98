// medimg::ScopeGuard: initialises MPI (when medimg is built with it) and then
// Kokkos, each only if nobody has yet, and finalises in reverse order only
// what it initialised. Create one in main(), before any Image.
#pragma once

#include <string>

namespace medimg {

struct RuntimeOptions {
  int num_threads = -1;  // host threads; <= 0: Kokkos' default (OMP_NUM_THREADS)
  // GPU to use; < 0: by local MPI rank when a node has several, else Kokkos' default.
  int device_id = -1;
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

// "Kokkos::OpenMP (2 threads)" and the like: the default execution space in use.
std::string describe_backend();

}  // namespace medimg
