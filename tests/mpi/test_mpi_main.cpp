// GoogleTest main for the MPI suites: MPI and Kokkos come up once through
// medimg::ScopeGuard; only rank 0 prints the test log, and the exit code is
// non-zero on every rank if any rank failed.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>

#include "medimg/core/scope_guard.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  setenv("OMP_PROC_BIND", "false", 0);
  int failed = 0;
  {
    medimg::ScopeGuard guard(argc, argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0) {
      auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
    }
    const int local = RUN_ALL_TESTS();
    MPI_Allreduce(&local, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  }
  return failed;
}
