// GoogleTest main for medimg's suites: initialises Kokkos (and MPI when
// built with it) once through medimg::ScopeGuard.
#include <gtest/gtest.h>

#include <cstdlib>

#include "medimg/core/scope_guard.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  setenv("OMP_PROC_BIND", "false", 0);
  medimg::ScopeGuard guard(argc, argv);
  return RUN_ALL_TESTS();
}
