#!/usr/bin/env bash
# The cohort benchmark: generates a synthetic CT cohort (N scans, default 40,
# of NX x NX x 60..140 int16 voxels, default 512; kept in COHORT_DIR, default
# build/cohort-N-NX, and reused) as .nii.gz, .nii and HDF5, then runs the
# standard pipeline (benchmarks/cohort/standard_pipeline.json) with ITK,
# SimpleITK (setup.sh --bench installs it into .deps/venv-bench) and
# `medimg batch` in one run and prints the table (scans/s, read / compute /
# write seconds, ratios, max difference from ITK and SimpleITK).
# Usage: scripts/cohort_bench.sh [N] [NX]     (THREADS=2 by default)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" --bench >&2
bin="${MEDIMG_BUILD_DIR:-$root/build}/bin"
n="${1:-40}"
nx="${2:-512}"
dir="${COHORT_DIR:-${MEDIMG_BUILD_DIR:-$root/build}/cohort-$n-$nx}"
threads="${THREADS:-2}"
export OMP_NUM_THREADS="$threads" OMP_PROC_BIND=false ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS="$threads"
export MEDIMG_SITK_PYTHON="$root/.deps/venv-bench/bin/python"
if [ ! -f "$dir/manifest_h5.csv" ]; then
  "$bin/medimg_cohort_generate" "$dir" "$n" "$nx" "$nx"
fi
mpiexec_path="$(command -v mpiexec || true)"
exec /usr/bin/python3 "$root/benchmarks/cohort/cohort_bench.py" "$bin" "$dir" \
  "$root/benchmarks/cohort/standard_pipeline.json" "$mpiexec_path"
