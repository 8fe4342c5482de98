#!/usr/bin/env bash
# Sets up whatever is missing (scripts/setup.sh --bench: SimpleITK for the
# end-to-end benchmark's smoke test too), then runs the whole test
# suite with CTest: GoogleTest suites on every enabled backend, the MPI suites
# at 1-4 ranks, the Python oracle and CLI tests, the installed-package test,
# the Spack recipe check and the benchmark smoke test. Extra arguments go to
# ctest (e.g. -L mpi, -R Geometry). Exit status is non-zero on any failure.
#
#   scripts/test.sh --sanitize [ctest args]
#     the same suites built with AddressSanitizer + UndefinedBehaviorSanitizer
#     (scripts/setup.sh --sanitize, build-sanitize/): unit, CLI (leak checks
#     on every command), Python and MPI tests; not the package, style and
#     benchmark tests, which check the default build. docs/RELIABILITY.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${1:-}" = --sanitize ]; then
  shift
  "$root/scripts/setup.sh" --sanitize
  cd "${MEDIMG_SANITIZE_BUILD_DIR:-$root/build-sanitize}"
  # Any report fails its test (the build adds -fno-sanitize-recover=all).
  # Leak checks are on for the command-line tests only (tests/CMakeLists.txt
  # sets them; lsan.supp lists what is not ours), off here for the rest.
  # allocator_may_return_null: an allocation past a limit fails as it does
  # without ASan (std::bad_alloc), e.g. under the DICOM screen's memory
  # limit (io/detail/child_memory.hpp), instead of ending the process.
  export ASAN_OPTIONS="detect_leaks=0:check_initialization_order=1:strict_init_order=1:allocator_may_return_null=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  # The tests of memory footprint (peak RSS, page faults) skip themselves:
  # ASan's allocator and quarantine change both.
  export MEDIMG_SANITIZED=1
  export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
  # Not python.test_batch: the batch forks its DICOM and HDF5 readers
  # (io/detail/isolated.hpp) while its read-ahead threads allocate, and GCC
  # 12's AddressSanitizer does not lock its allocator around fork(): a child
  # forked while another thread holds that lock waits for it forever (seen:
  # a DICOM screen child). glibc's malloc is fork-safe; the default build's
  # suite runs the test. docs/RELIABILITY.md.
  ctest --output-on-failure --timeout 1800 -j "$(nproc)" -LE "package|style|benchmark" \
    -E "python.installed|python.test_batch" "$@"
  exit
fi
"$root/scripts/setup.sh" --bench
cd "${MEDIMG_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@"
