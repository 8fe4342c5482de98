#!/usr/bin/env bash
# Packs what a bare GPU machine (an NVIDIA driver, no toolkit, no ITK, no
# Kokkos) needs to run medimg's GPU checks, into .gpu-bundle/ (git-ignored):
#
#   bin/medimg_test_backends    every backend against OpenMP (tests/test_backends.cpp)
#   bin/medimg_device_bench     GPU throughput against OpenMP (benchmarks/device_throughput.cpp)
#   grid_sample_vs_medimg.py    the same volume and rotation through torch's grid_sample
#   lib/                        every shared library the binaries load that is not
#                               glibc's or the driver's (libcudart 11, libstdc++,
#                               libgomp, ...), found with ldd
#   python/medimg               with MEDIMG_BUNDLE_PYTHON_INCLUDE and
#                               MEDIMG_BUNDLE_PYTHON_SOABI set: the Python package,
#                               its extension built (CUDA) for that machine's
#                               interpreter, whose header folders they name and
#                               whose version this machine need not have (run
#                               `python3 -c "import sysconfig;
#                               print(sysconfig.get_paths()['include'],
#                               sysconfig.get_config_var('SOABI'))"` there and
#                               bring the folders back, with the multiarch one
#                               its pyconfig.h includes on Debian and Ubuntu),
#                               python/tests/test_gpu.py,
#                               benchmarks/gpu/python_gpu.py and
#                               benchmarks/augment_throughput.py beside it
#   run.sh [RESULTS]            runs them all, results into RESULTS (default ./results)
#
# The binaries are built by scripts/setup.sh --cuda in build-gpu-bundle/ with
# ITK, MPI and HDF5 off, so the bundle stays small and self-contained.
# Usage: scripts/gpu_bundle.sh [OUT_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="${1:-$root/.gpu-bundle}"
build="$root/build-gpu-bundle"
binaries=(medimg_test_backends medimg_device_bench)

MEDIMG_CUDA_BUILD_DIR="$build" \
  MEDIMG_CUDA_CMAKE_ARGS="-DMEDIMG_ENABLE_ITK=OFF -DMEDIMG_ENABLE_MPI=OFF -DMEDIMG_ENABLE_HDF5=OFF" \
  MEDIMG_CUDA_TARGETS="${binaries[*]}" "$root/scripts/setup.sh" --cuda

python_include="${MEDIMG_BUNDLE_PYTHON_INCLUDE:-}"
if [ -n "$python_include" ]; then
  # The extension for the GPU machine's interpreter (python/CMakeLists.txt:
  # MEDIMG_PYTHON_TARGET_*); this machine's venv Python only finds nanobind.
  cmake -S "$root" -B "$build" -DMEDIMG_BUILD_PYTHON=ON \
    "-DMEDIMG_PYTHON_TARGET_INCLUDE=${python_include//:/;}" \
    "-DMEDIMG_PYTHON_TARGET_SOABI=${MEDIMG_BUNDLE_PYTHON_SOABI:?names the interpreter SOABI}" \
    -DPython_EXECUTABLE="$root/.deps/venv-python/bin/python" >/dev/null
  cmake --build "$build" --target _medimg
fi

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
for binary in "${binaries[@]}"; do cp "$build/bin/$binary" "$out/bin/"; done
cp "$root/benchmarks/gpu/grid_sample_vs_medimg.py" "$out/"
if [ -n "$python_include" ]; then
  mkdir -p "$out/python/medimg" "$out/python/tests"
  cp "$build"/python/medimg/_medimg.*.so "$out/python/medimg/"
  cp "$root"/python/medimg/*.py "$out/python/medimg/"
  cp "$root/python/tests/test_gpu.py" "$out/python/tests/"
  cp "$root/benchmarks/gpu/python_gpu.py" "$root/benchmarks/augment_throughput.py" \
    "$root/examples/python/fit_rigid.py" "$out/"
  binaries+=(python)
fi

# Libraries: everything ldd resolves except glibc's own and the driver's
# (libcuda, which must match the machine's kernel module).
system_library='^(libc|libm|libdl|librt|libpthread|ld-linux-x86-64|libcuda|libnvidia-.*)\.so'
for binary in "${binaries[@]}"; do
  if [ "$binary" = python ]; then
    ldd "$out"/python/medimg/_medimg.*.so
  else
    ldd "$out/bin/$binary"
  fi | awk '/=> \// { print $1, $3 }'
done | sort -u | while read -r name path; do
  if [[ "$name" =~ $system_library ]]; then continue; fi
  cp -L "$path" "$out/lib/$name"
done
if ldd "$out/bin/medimg_test_backends" | grep -q "not found"; then
  echo "gpu_bundle: unresolved libraries:" >&2
  ldd "$out/bin/medimg_test_backends" | grep "not found" >&2
  exit 1
fi

cat >"$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# medimg GPU bundle (scripts/gpu_bundle.sh): the backend suite, the device
# benchmark and the torch grid_sample comparison. Results go to $1
# (default ./results): logs, gtest XML, JSON. MEDIMG_BENCH_SIZE sets the
# benchmark cube's edge (default 512). Exit status: non-zero if any part fails.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
results="${1:-$PWD/results}"
size="${MEDIMG_BENCH_SIZE:-512}"
mkdir -p "$results"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMP_PROC_BIND=false
status=0
nvidia-smi >"$results/nvidia-smi.txt" 2>&1 || true
"$here/bin/medimg_test_backends" --gtest_output="xml:$results/test_backends.xml" \
  2>&1 | tee "$results/test_backends.log" || status=1
"$here/bin/medimg_device_bench" --size "$size" --json "$results/device_bench.json" \
  2>&1 | tee "$results/device_bench.log" || status=1
if python3 -c "import torch" 2>/dev/null; then
  python3 "$here/grid_sample_vs_medimg.py" "$here/bin/medimg_device_bench" --size "$size" \
    --json "$results/grid_sample.json" 2>&1 | tee "$results/grid_sample.log" || status=1
else
  echo "no torch in python3: grid_sample comparison skipped" | tee "$results/grid_sample.log"
fi
if [ -d "$here/python/medimg" ]; then
  # The Python package on the GPU: only libcudart 11 from lib/ (the
  # machine's own libstdc++ and libgomp are newer than this one's, and torch
  # needs them).
  mkdir -p "$here/pylib"
  cp "$here"/lib/libcudart.so.* "$here/pylib/"
  (
    export LD_LIBRARY_PATH="$here/pylib" PYTHONPATH="$here/python" PYTHONUNBUFFERED=1
    failed=0
    python3 -m pytest -q -p no:cacheprovider --junitxml="$results/test_gpu.xml" \
      "$here/python/tests/test_gpu.py" 2>&1 | tee "$results/test_gpu.log" || failed=1
    python3 "$here/python_gpu.py" --json "$results/python_gpu.json" 2>&1 |
      tee "$results/python_gpu.log" || failed=1
    python3 "$here/augment_throughput.py" --size "$size" --json "$results/augment.json" 2>&1 |
      tee "$results/augment.log" || failed=1
    exit $failed
  ) || status=1
fi
exit $status
RUN
chmod +x "$out/run.sh"
du -sh "$out"
echo "gpu_bundle: $out (run: $out/run.sh RESULTS_DIR)"
