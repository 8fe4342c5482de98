# Sourced by scripts/setup.sh --cuda, after the CPU build: uses its
# functions (install_packages, build_kokkos, ...) and variables (root, deps,
# jobs).

# ------------------------------------------------------------ 4. CUDA build
# Debian's nvidia-cuda-toolkit (11.8; Kokkos 3.4.1 does not build with CUDA
# 12+) is in the non-free component, and what it depends on needs contrib
# too (libcuda1 and nvidia-cuda-dev need nvidia-support, which is in
# contrib): an entry derived from the machine's own sources adds whichever
# of the two the machine lacks (add_apt_source in setup.sh).
# --no-install-recommends (in install_packages) keeps kernel modules and
# DKMS out. CUDA 11.8 needs g++-11 as host compiler. A newer toolkit elsewhere on the machine (PATH,
# CUDA_HOME) is not used: the compiler wrapper below pins /usr/bin/nvcc.
if ! dpkg-query -W -f='${Status}' nvidia-cuda-toolkit 2>/dev/null | grep -q 'install ok installed'; then
  missing_components=()
  for component in contrib non-free; do
    apt_source_has "$component" medimg-non-free || missing_components+=("$component")
  done
  if [ "${#missing_components[@]}" -gt 0 ]; then
    add_apt_source medimg-non-free deb "${missing_components[@]}"
  fi
fi
install_packages nvidia-cuda-toolkit g++-11
nvcc_version=$(/usr/bin/nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
case "$nvcc_version" in
11.*) ;;
*) die "/usr/bin/nvcc is CUDA $nvcc_version; the CUDA build needs Debian's 11.x" ;;
esac

# Another toolkit on the machine (a CUDA 12/13 in CUDA_HOME or PATH) must not
# be found by CMake's FindCUDAToolkit: the CUDA part runs with those removed
# and the toolkit root fixed to Debian's.
unset CUDA_HOME CUDA_PATH CUDA_ROOT LIBRARY_PATH
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -i cuda | paste -sd: -)
export PATH

# Headers are the other way in: g++ searches /usr/local/include before
# /usr/include, and a machine whose CUDA 13 is linked into /usr/local/include
# (cuda_fp16.h, crt/, ...) would hand g++-11 those headers under nvcc 11.8
# (Kokkos' half_t then fails to build). A folder of links to Debian's copy
# of every name that /usr/local/include also has is searched first
# (-isystem, through NVCC_PREPEND_FLAGS so that host and device passes both
# see it); it is rebuilt on every run, so it follows the machine.
debian_first="$deps/cuda-include-debian-first"
rm -rf "$debian_first"
mkdir -p "$debian_first"
if [ -d /usr/local/include ]; then
  for header in /usr/local/include/*; do
    name=${header##*/}
    if [ -e "/usr/include/$name" ]; then ln -s "/usr/include/$name" "$debian_first/$name"; fi
  done
fi

kokkos_cuda="$deps/kokkos-cuda"
# The compiler for Kokkos and medimg: Kokkos' nvcc_wrapper with Debian's
# nvcc and g++-11, fixed in a script so that later rebuilds need no
# environment. Kokkos' targets carry -arch=sm_80 (Kokkos_ARCH_AMPERE80).
# Kokkos 3.4.1 refuses at start-up (Kokkos::Cuda::initialize aborts) to run
# kernels whose __CUDA_ARCH__ has another major version than the device, so
# machine code for sm_90 built from compute_80 PTX does not run on a Hopper
# (H100, H200; seen on an H200): each architecture gets its own compilation.
# nvcc_wrapper takes a single -arch or -gencode, so the script turns -arch=sm_80
# into the compute_80 -> sm_80 one and hands nvcc the compute_90 -> sm_90
# one (with compute_90 PTX for later 9.x devices) through NVCC_APPEND_FLAGS.
cuda_compiler="$deps/nvcc-medimg"
wrapper_text="#!/usr/bin/env bash
# medimg's CUDA compiler, written by scripts/setup.sh --cuda.
args=()
for a in \"\$@\"; do
  case \"\$a\" in
  -arch=sm_80) args+=('-gencode=arch=compute_80,code=sm_80') ;;
  *) args+=(\"\$a\") ;;
  esac
done
NVCC_PREPEND_FLAGS='-isystem $debian_first' NVCC_APPEND_FLAGS='-gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_90,code=compute_90' CUDA_ROOT=/usr NVCC_WRAPPER_DEFAULT_COMPILER=g++-11 exec $deps/src/kokkos/bin/nvcc_wrapper \"\${args[@]}\""
if [ ! -f "$cuda_compiler" ] || [ "$(cat "$cuda_compiler")" != "$wrapper_text" ]; then
  trilinos_source >/dev/null
  printf '%s\n' "$wrapper_text" >"$cuda_compiler"
  chmod +x "$cuda_compiler"
fi
compiler_signature=$(printf '%s' "$wrapper_text" | sha256sum | cut -c1-16)
cuda_arch="-arch=sm_80"
# ITK's bundled Eigen includes CUDA's internal host_defines.h when compiled
# by nvcc, whose #warning would fail -Werror: -Wno-cpp silences #warning
# directives (only those) in the CUDA build.
cuda_flags="$cuda_arch -Wno-cpp"
kokkos_compiler=(-DCMAKE_CXX_COMPILER="$cuda_compiler" "-DCMAKE_CXX_FLAGS=$cuda_arch"
  -DCUDAToolkit_ROOT=/usr)
# glibc 2.34+ keeps dlopen in libc and ships libdl.a as an empty stub, which
# nvlink reports at every CUDA link ("Skipping incompatible ... libdl.a"):
# Kokkos (its tools loader) gets the shared libdl.so.2 instead.
libdl=$(g++-11 -print-file-name=libdl.so.2)
kokkos_signature_extra="nvcc-medimg-$compiler_signature" build_kokkos "$kokkos_cuda" -DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_OPENMP=ON \
  -DKokkos_ENABLE_CUDA=ON -DKokkos_ENABLE_CUDA_LAMBDA=ON -DKokkos_ARCH_AMPERE80=ON \
  -DLIBDL_LIBRARY="$libdl"

cuda_build_dir="${MEDIMG_CUDA_BUILD_DIR:-$root/build-cuda}"
# A build made by another compiler script starts again from scratch (ninja
# does not see a change inside the script).
if [ -f "$cuda_build_dir/build.ninja" ] &&
  [ "$(cat "$cuda_build_dir/.medimg-compiler" 2>/dev/null)" != "$compiler_signature" ]; then
  log "the CUDA compiler script changed: reconfiguring $cuda_build_dir"
  rm -rf "$cuda_build_dir"
fi
if [ ! -f "$cuda_build_dir/build.ninja" ]; then
  log "configuring the CUDA build of medimg in $cuda_build_dir"
  cmake -S "$root" -B "$cuda_build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$cuda_compiler" "-DCMAKE_CXX_FLAGS=$cuda_flags" \
    -DCUDAToolkit_ROOT=/usr -DKokkos_ROOT="$kokkos_cuda" -DKokkosKernels_ROOT="$kokkos_cuda" \
    -DMEDIMG_BUILD_PYTHON=ON -DPython_EXECUTABLE="$python_venv/bin/python" \
    -DMEDIMG_WERROR=ON ${MEDIMG_CUDA_CMAKE_ARGS:-}
  printf '%s\n' "$compiler_signature" >"$cuda_build_dir/.medimg-compiler"
fi
log "building the CUDA build of medimg"
# MEDIMG_CUDA_TARGETS: build only these targets (scripts/gpu_bundle.sh).
targets=()
for target in ${MEDIMG_CUDA_TARGETS:-}; do targets+=(--target "$target"); done
cmake --build "$cuda_build_dir" -j "$jobs" "${targets[@]}"
