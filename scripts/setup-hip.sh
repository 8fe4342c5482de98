# Sourced by scripts/setup.sh --hip, after the CPU build: uses its functions
# (install_packages, build_kokkos, ...) and variables (root, deps, jobs).

# ------------------------------------------------------------- 5. HIP build
# A compile-only check (CI has no AMD GPU): Debian's hipcc 5.2 (clang 15 with
# the AMDGPU back end) and Kokkos 3.4.1's HIP backend. Kokkos 3.4.1 knows AMD
# GPUs up to MI100 (Kokkos_ARCH_VEGA908, gfx908). hipcc's clang does not find
# GCC's omp.h: libomp-15-dev gives it LLVM's OpenMP for the host backend.
install_packages hipcc libamdhip64-dev libomp-15-dev

# The compiler for Kokkos and medimg: Debian's hipcc on the AMD platform,
# fixed in a script so that later rebuilds need no environment. Without
# HIP_PLATFORM, hipcc picks AMD only when an unversioned `clang++` is on
# PATH (Debian's hipcc installs clang++-15 only); otherwise, once the CUDA
# build has installed nvcc, it picks NVIDIA and runs
# /usr/local/cuda/bin/nvcc: a clean Debian root failed that way.
hip_compiler="$deps/hipcc-medimg"
hip_wrapper_text="#!/usr/bin/env bash
# medimg's HIP compiler, written by scripts/setup.sh --hip.
HIP_PLATFORM=amd exec /usr/bin/hipcc \"\$@\""
if [ ! -f "$hip_compiler" ] || [ "$(cat "$hip_compiler")" != "$hip_wrapper_text" ]; then
  mkdir -p "$deps"
  printf '%s\n' "$hip_wrapper_text" >"$hip_compiler"
  chmod +x "$hip_compiler"
fi
hip_arch="--offload-arch=gfx908"
kokkos_hip="$deps/kokkos-hip"
# An explicit target keeps hipcc from probing for a GPU (rocm_agent_enumerator).
kokkos_compiler=(-DCMAKE_CXX_COMPILER="$hip_compiler" "-DCMAKE_CXX_FLAGS=$hip_arch")
build_kokkos "$kokkos_hip" -DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_OPENMP=ON \
  -DKokkos_ENABLE_HIP=ON -DKokkos_ARCH_VEGA908=ON

# ITK off: Debian's ITK was configured with GCC, and its
# itk_compiler_detection.h stops any other compiler ("#error Unsupported
# compiler", hipcc being clang). Without ITK the HIP build has the library,
# the CLI (HDF5 IO), medimg_test_backends and medimg_device_bench (the
# Python extension compiles with hipcc too, -DMEDIMG_BUILD_PYTHON=ON in
# MEDIMG_HIP_CMAKE_ARGS; CI leaves it out for time: docs/CI.md).
hip_build_dir="${MEDIMG_HIP_BUILD_DIR:-$root/build-hip}"
if [ ! -f "$hip_build_dir/build.ninja" ]; then
  log "configuring the HIP build of medimg in $hip_build_dir"
  cmake -S "$root" -B "$hip_build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$hip_compiler" "-DCMAKE_CXX_FLAGS=$hip_arch" \
    -DKokkos_ROOT="$kokkos_hip" -DKokkosKernels_ROOT="$kokkos_hip" \
    -DMEDIMG_WERROR=ON -DMEDIMG_ENABLE_ITK=OFF ${MEDIMG_HIP_CMAKE_ARGS:-}
fi
log "building the HIP build of medimg"
cmake --build "$hip_build_dir" -j "$jobs"
