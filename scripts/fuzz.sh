#!/usr/bin/env bash
# Runs medimg's libFuzzer harnesses (fuzz/, docs/RELIABILITY.md).
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
#
# Sets up and builds build-fuzz/ (scripts/setup.sh --fuzz), writes the seed
# corpora with medimg's own writers (medimg_fuzz_seeds) plus Debian's pydicom
# DICOM test files for the dicom and dicom_lengths harnesses, then runs each harness (default:
# all) for SECONDS (default 60) on its corpus, build-fuzz/fuzz/corpus/NAME,
# which grows from run to run. A finding (crash-*, leak-*, timeout-*,
# oom-*) is written to build-fuzz/fuzz/findings/NAME/ and makes the exit
# status 1. The last lines print each harness' executions and corpus size.
# MEDIMG_FUZZ_SEED fixes libFuzzer's random seed (CI's smoke run uses 1).
# MEDIMG_FUZZ_RUNS=N also stops each harness after N executions (the
# long runs: MEDIMG_FUZZ_RUNS=1000000 scripts/fuzz.sh 36000 nrrd). Several
# fuzz.sh may run at once on one build (each writes its own seeds).
# MEDIMG_FUZZ_BUILD_DIR and MEDIMG_FUZZ_SANITIZE pick another build and its
# sanitizers (default build-fuzz/, address,undefined), e.g.
#   MEDIMG_FUZZ_BUILD_DIR=$PWD/build-fuzz-ub MEDIMG_FUZZ_SANITIZE=undefined scripts/fuzz.sh
# for the forking harnesses' long runs (docs/RELIABILITY.md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
shift || true
all=(nifti nifti_gz nrrd mha hdf5 dicom dicom_lengths pipeline manifest transform)
harnesses=("$@")
[ "${#harnesses[@]}" -gt 0 ] || harnesses=("${all[@]}")

"$root/scripts/setup.sh" --fuzz
build="${MEDIMG_FUZZ_BUILD_DIR:-$root/build-fuzz}"
work="$build/fuzz"
mkdir -p "$work"

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export OMP_NUM_THREADS=1
# Headers are parsed in a child with a time limit (image_io.cpp); a
# damaged file that makes HDF5 or MetaIO loop then costs 2 s, not 60.
export MEDIMG_HEADER_TIMEOUT=2
# libFuzzer's feature tables (23 MiB, malloc'ed) on transparent huge pages:
# every isolated read forks this process, and fork copies a few page-middle
# entries instead of 6,000 page-table entries (the nrrd harness without
# ASan: 200 -> 285 executions/s; docs/RELIABILITY.md).
export GLIBC_TUNABLES="glibc.malloc.hugetlb=1${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}"

seeds=$(mktemp -d "$work/seeds.XXXXXX")
trap 'rm -rf "$seeds"' EXIT
"$build/bin/medimg_fuzz_seeds" "$seeds" >/dev/null
pydicom_files=/usr/lib/python3/dist-packages/pydicom/data/test_files
for f in CT_small.dcm MR_small.dcm MR_small_implicit.dcm MR_small_bigendian.dcm ExplVR_BigEnd.dcm rtplan.dcm emri_small.dcm; do
  [ -f "$pydicom_files/$f" ] && cp "$pydicom_files/$f" "$seeds/dicom/"
done
# The length walk starts from the same files (its own harness: in-process).
rm -rf "$seeds/dicom_lengths"
cp -r "$seeds/dicom" "$seeds/dicom_lengths"

failed=0
summary=()
for name in "${harnesses[@]}"; do
  corpus="$work/corpus/$name"
  findings="$work/findings/$name"
  mkdir -p "$corpus" "$findings"
  log="$work/$name.log"
  echo "[fuzz] $name: ${seconds} s"
  # -rss_limit_mb: a header may ask for any size; medimg must refuse what the
  # file cannot hold before allocating it, so 2 GiB is plenty.
  if ! "$build/bin/medimg_fuzz_$name" "$corpus" "$seeds/$name" \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    ${MEDIMG_FUZZ_SEED:+-seed="$MEDIMG_FUZZ_SEED"} ${MEDIMG_FUZZ_RUNS:+-runs="$MEDIMG_FUZZ_RUNS"} \
    -artifact_prefix="$findings/" >"$log" 2>&1; then
    failed=1
    echo "[fuzz] $name: FINDING, see $log and $findings/" >&2
    # Enough to reproduce from a CI log alone: the end of libFuzzer's report
    # and each input that failed, in base64 (base64 -d > input; then
    # build-fuzz/bin/medimg_fuzz_NAME input).
    grep -v -E '^#[0-9]+' "$log" | tail -n 40 >&2 || true
    # The input the log names (isolated children may leave crash files of
    # their own in the folder: a crash there is one error, not a finding).
    sed -n 's/.*Test unit written to //p' "$log" | while read -r input; do
      [ -f "$input" ] || continue
      echo "[fuzz] $name: $(basename "$input") ($(stat -c %s "$input") bytes), base64:" >&2
      head -c 8192 "$input" | base64 -w 0 >&2
      echo >&2
    done
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  summary+=("$name: ${runs:-?} executions, $(find "$corpus" -type f | wc -l) corpus files")
done
printf '[fuzz] %s\n' "${summary[@]}"
exit "$failed"
