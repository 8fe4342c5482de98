#!/usr/bin/env bash
# Sets up whatever is missing (scripts/setup.sh --bench: SimpleITK for the
# end-to-end benchmark's smoke test too), then runs the whole test
# suite with CTest: GoogleTest suites on every enabled backend, the MPI suites
# at 1-4 ranks, the Python oracle and CLI tests, the installed-package test,
# the Spack recipe check and the benchmark smoke test. Extra arguments go to
# ctest (e.g. -L mpi, -R Geometry). Exit status is non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" --bench
cd "${MEDIMG_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@"
