#!/usr/bin/env bash
# Instructions per output voxel of each resample kernel, counted by
# callgrind on a portable build (no -march=native: valgrind cannot run
# AVX-512, and the count should not depend on the building CPU).
#
#   scripts/instruction_count.sh [N]     (N^3 float phantom, default 64)
#
# Configures build-portable/ (MEDIMG_ARCH_NATIVE=OFF, the same Kokkos as
# build/) if it is missing and builds medimg_resample_cost there. Each case
# runs once on one thread (`--only CASE --repeat 1`); its count less that
# of `--only none` (the same inputs, no kernel), over N^3, is the figure.
# The per-row work (segments, borders) is included: rows of N voxels.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n="${1:-64}"
"$root/scripts/setup.sh" >&2
command -v valgrind >/dev/null || { echo "valgrind is missing: scripts/setup.sh installs it" >&2; exit 1; }
build="${MEDIMG_PORTABLE_BUILD_DIR:-$root/build-portable}"
main_build="${MEDIMG_BUILD_DIR:-$root/build}"
if [ ! -f "$build/build.ninja" ]; then
  kokkos_root=$(sed -n 's/^Kokkos_DIR:[A-Z]*=//p' "$main_build/CMakeCache.txt")
  kernels_root=$(sed -n 's/^KokkosKernels_DIR:[A-Z]*=//p' "$main_build/CMakeCache.txt")
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMEDIMG_ARCH_NATIVE=OFF \
    -DKokkos_DIR="$kokkos_root" -DKokkosKernels_DIR="$kernels_root" >&2
fi
cmake --build "$build" --target medimg_resample_cost >&2
export OMP_NUM_THREADS=1 OMP_PROC_BIND=false
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() {
  valgrind --tool=callgrind --callgrind-out-file="$work/out" \
    "$build/bin/medimg_resample_cost" "$n" --only "$1" --repeat 1 >/dev/null 2>"$work/log" ||
    { cat "$work/log" >&2; exit 1; }
  sed -n 's/^summary: *//p' "$work/out"
}
base=$(count none)
printf 'instructions per output voxel, %s^3 float, callgrind, portable build\n' "$n"
for case in linear-identity linear-k linear-i nearest-k bspline-k prefilter; do
  total=$(count "$case")
  awk -v t="$total" -v b="$base" -v n="$n" -v c="$case" \
    'BEGIN { printf "  %-16s %8.1f\n", c, (t - b) / (n * n * n) }'
done
