#!/usr/bin/env bash
# Builds medimg (scripts/setup.sh) and prints the side-by-side comparison of
# ITK's ResampleImageFilter and medimg: same input, same thread count, same
# run (benchmarks/compare_itk.cpp). Extra arguments go to compare_itk.
# The Google Benchmark suite of every op: build/bin/medimg_bench_ops.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" >&2
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" OMP_PROC_BIND="${OMP_PROC_BIND:-false}"
exec "${MEDIMG_BUILD_DIR:-$root/build}/bin/medimg_compare_itk" "$@"
