#!/usr/bin/env bash
# Sets up everything medimg needs on a Debian (bookworm) machine and builds it.
#
#   scripts/setup.sh            Debian packages, Kokkos + Kokkos Kernels, build/
#   scripts/setup.sh --cuda     the same, then the CUDA build (also MEDIMG_CUDA=1):
#                               Debian's CUDA 11.8 toolkit and g++-11, Kokkos +
#                               Kernels with CUDA (+ OpenMP, Serial) in
#                               .deps/kokkos-cuda, medimg in build-cuda/ (sm_80
#                               and sm_90 code plus compute_80 PTX)
#     MEDIMG_CUDA_BUILD_DIR, MEDIMG_CUDA_CMAKE_ARGS and MEDIMG_CUDA_TARGETS
#     choose another folder, configure options and targets for it
#     (scripts/gpu_bundle.sh uses them).
#   scripts/setup.sh --hip      the same, then a compile-only HIP build (also
#                               MEDIMG_HIP=1): Debian's hipcc 5.2, Kokkos +
#                               Kernels with HIP (+ OpenMP, Serial) in
#                               .deps/kokkos-hip, medimg in build-hip/ for
#                               gfx908 (MI100). No AMD GPU runs it here.
#   scripts/setup.sh --sanitize packages, Kokkos and the Python environment as
#                               above, then instead of build/ the sanitizer
#                               build build-sanitize/ (MEDIMG_SANITIZE=
#                               address,undefined; no benchmarks, no pip
#                               install; scripts/test.sh --sanitize runs it).
#   scripts/setup.sh --fuzz     the same, then the libFuzzer build
#                               build-fuzz/: clang-14, Kokkos (Serial) built
#                               with it in .deps/kokkos-clang, the library and
#                               harnesses with fuzzer-no-link,address,undefined
#                               (scripts/fuzz.sh runs them). MEDIMG_FUZZ_SANITIZE
#                               replaces address,undefined (e.g. "undefined" with
#                               MEDIMG_FUZZ_BUILD_DIR=build-fuzz-ub: the forking
#                               harnesses 3x faster, docs/RELIABILITY.md).
#   scripts/setup.sh --bench    the same, then the peers of the end-to-end
#                               benchmark (scripts/bench_e2e.sh): SimpleITK from
#                               PyPI in the virtual environment .deps/venv-bench,
#                               and TorchIO 0.19 (benchmarks/augment_vs_torchio.py)
#                               (--system-site-packages: Debian's numpy and
#                               nibabel stay visible).
#
# Idempotent: every step checks whether its result is already there.
#  1. Debian packages (apt-get) that are missing.
#  2. Kokkos + Kokkos Kernels: an installed one (Kokkos_ROOT, KokkosKernels_ROOT,
#     CMAKE_PREFIX_PATH, e.g. a Spack view) wins; otherwise Kokkos 3.4.1 is built
#     from Debian's trilinos source package into .deps/ (OpenMP + Serial, Kokkos
#     Kernels without explicit template instantiation).
#  3. The Python environment .deps/venv-python (nanobind, scikit-build-core,
#     pytest, SimpleITK from PyPI); configure (Release, Ninja) and build the
#     project into build/ (with the Python extension), then `pip install .`
#     into that environment (its build in build-python/).
set -euo pipefail

cuda="${MEDIMG_CUDA:-0}"
hip="${MEDIMG_HIP:-0}"
bench=0
sanitize=0
fuzz=0
for arg in "$@"; do
  case "$arg" in
  --cuda) cuda=1 ;;
  --hip) hip=1 ;;
  --bench) bench=1 ;;
  --sanitize) sanitize=1 ;;
  --fuzz) fuzz=1 ;;
  *)
    echo "usage: scripts/setup.sh [--cuda] [--hip] [--bench] [--sanitize] [--fuzz]" >&2
    exit 2
    ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps="$root/.deps"
build_dir="${MEDIMG_BUILD_DIR:-$root/build}"
jobs=$(nproc)

log() { printf '[setup %ss] %s\n' "$SECONDS" "$*" >&2; }
die() {
  printf '[setup] error: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------- 1. packages
packages=(
  build-essential cmake ninja-build pkg-config dpkg-dev xz-utils
  openmpi-bin libopenmpi-dev libhdf5-openmpi-dev
  libinsighttoolkit5-dev libgdcm-tools
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev zlib1g-dev libnifti2-dev libisal-dev time
  mricron-data dcm2niix python3 python3-nibabel python3-pydicom python3-scipy python3-numpy python3-h5py python3-jsonschema python3-pil
  python3-dev python3-venv python3-torch
  clang-format valgrind
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
}

# Apt entries medimg adds are derived from the machine's own Debian sources,
# so no mirror name is written in this repository: the deb822
# /etc/apt/sources.list.d/debian.sources of a Debian 12 install or image, or
# the one-line /etc/apt/sources.list that debootstrap writes.
apt_lists=/etc/apt/sources.list.d
# apt_source_has WHAT [SKIP]: whether a source other than add_apt_source's
# SKIP (a NAME) has component WHAT (contrib, non-free, ...) or, for
# WHAT=deb-src, source entries.
apt_source_has() {
  local what=$1 skip=${2:-} f
  for f in /etc/apt/sources.list "$apt_lists"/*.list "$apt_lists"/*.sources; do
    [ -f "$f" ] || continue
    [ -n "$skip" ] && case "$f" in "$apt_lists/$skip".*) continue ;; esac
    if [ "$what" = deb-src ]; then
      grep -qsE '^(Types:.*deb-src|deb-src )' "$f" && return 0
    else
      grep -qsE "^(Components:(.* )?|deb .* )$what( |\$)" "$f" && return 0
    fi
  done
  return 1
}
# add_apt_source NAME TYPE [COMPONENTS...]: the machine's Debian entries with
# their type set to TYPE (deb or deb-src) and, when given, their components
# replaced, written to $apt_lists/NAME.sources (or NAME.list, beside a
# one-line sources.list); prints nothing on stdout (trilinos_source is
# called inside $(...)).
add_apt_source() {
  local name=$1 type=$2
  shift 2
  local components="$*" entry target
  if [ -f "$apt_lists/debian.sources" ]; then
    target="$apt_lists/$name.sources"
    entry=$(sed -e "s/^Types: .*/Types: $type/" "$apt_lists/debian.sources")
    [ -z "$components" ] || entry=$(sed "s/^Components: .*/Components: $components/" <<<"$entry")
  elif grep -qsE '^deb ' /etc/apt/sources.list; then
    target="$apt_lists/$name.list"
    # deb [options] URI SUITE COMPONENT...
    entry=$(awk -v type="$type" -v components="$components" '$1 == "deb" {
      first = ($2 ~ /^\[/) ? 3 : 2
      line = type (first == 3 ? " " $2 : "") " " $first " " $(first + 1)
      if (components != "") line = line " " components
      else for (i = first + 2; i <= NF; i++) line = line " " $i
      print line
    }' /etc/apt/sources.list)
  else
    die "neither $apt_lists/debian.sources nor /etc/apt/sources.list has a Debian entry to derive one from"
  fi
  if [ "$(cat "$target" 2>/dev/null)" != "$entry" ]; then
    log "adding apt entries ($type${components:+ $components}) derived from the machine's sources: $target"
    printf '%s\n' "$entry" | as_root tee "$target" >/dev/null
    apt_updated=0
  fi
}

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_update_once
    log "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

install_packages "${packages[@]}"

# ------------------------------------------------------ 2. Kokkos + Kernels
# A prefix "has" a package when it holds <prefix>/lib*/cmake/<Name>/<Name>Config.cmake.
prefix_has() {
  local prefix=$1 name=$2
  compgen -G "$prefix/lib*/cmake/$name/${name}Config.cmake" >/dev/null ||
    compgen -G "$prefix/lib*/cmake/$name/$(echo "$name" | tr '[:upper:]' '[:lower:]')-config.cmake" >/dev/null
}

find_installed() {
  local name=$1 var="${1}_ROOT" p
  if [ -n "${!var:-}" ]; then
    prefix_has "${!var}" "$name" && {
      echo "${!var}"
      return
    }
    die "$var=${!var} holds no ${name}Config.cmake"
  fi
  IFS=: read -r -a paths <<<"${CMAKE_PREFIX_PATH:-}"
  for p in "${paths[@]}"; do
    [ -n "$p" ] && prefix_has "$p" "$name" && {
      echo "$p"
      return
    }
  done
  return 0
}

kokkos_prefix=$(find_installed Kokkos)
kernels_prefix=$(find_installed KokkosKernels)

trilinos_source() {
  # Fetches Debian's trilinos source package and extracts only Kokkos and
  # Kokkos Kernels into $deps/src. The deb-src entry is derived from the
  # machine's own sources (add_apt_source).
  local src="$deps/src"
  if [ -f "$src/.extracted" ]; then
    echo "$src"
    return
  fi
  mkdir -p "$src/download"
  if ! compgen -G "$src/download/trilinos_*.orig.tar.*" >/dev/null; then
    apt_source_has deb-src || add_apt_source medimg-deb-src deb-src
    apt_update_once
    log "downloading Debian's trilinos source package"
    (cd "$src/download" && apt-get source --download-only trilinos >/dev/null 2>&1) ||
      die "apt-get source --download-only trilinos failed"
  fi
  local tarball
  tarball=$(compgen -G "$src/download/trilinos_*.orig.tar.*" | head -n 1)
  log "extracting packages/kokkos and packages/kokkos-kernels from $(basename "$tarball")"
  rm -rf "$src/kokkos" "$src/kokkos-kernels" "$src/tmp"
  mkdir -p "$src/tmp"
  tar -xf "$tarball" -C "$src/tmp" --wildcards '*/packages/kokkos/*' '*/packages/kokkos-kernels/*'
  mv "$src"/tmp/*/packages/kokkos "$src/kokkos"
  mv "$src"/tmp/*/packages/kokkos-kernels "$src/kokkos-kernels"
  rm -rf "$src/tmp" "$src/download"  # 166 MB; the extracted sources are all later builds need
  touch "$src/.extracted"
  echo "$src"
}

build_kokkos() {
  # $1 = install prefix, remaining args = extra Kokkos CMake options;
  # kokkos_compiler (an array, may be empty) = CMake options naming the
  # compiler, for Kokkos and Kokkos Kernels alike.
  local prefix=$1
  shift
  local stamp="$prefix/.medimg-built"
  # kokkos_signature_extra: what else the build depends on (the CUDA
  # compiler script's text), so that a change to it rebuilds Kokkos.
  local signature="kokkos-3.4.1 kernels-without-tpls ${kokkos_signature_extra:+$kokkos_signature_extra }${kokkos_compiler[*]} $*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$signature" ]; then
    return
  fi
  local src
  src=$(trilinos_source)
  local work="$deps/builds/$(basename "$prefix")"
  rm -rf "$work" "$prefix"
  mkdir -p "$work"
  log "building Kokkos into $prefix"
  cmake -S "$src/kokkos" -B "$work/kokkos" -G Ninja -Wno-dev \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_CXX_STANDARD=17 -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DBUILD_SHARED_LIBS=OFF "${kokkos_compiler[@]}" "$@" >"$work.kokkos.log" 2>&1 ||
    die "configuring Kokkos failed, see $work.kokkos.log"
  cmake --build "$work/kokkos" --target install -j "$jobs" >>"$work.kokkos.log" 2>&1 ||
    die "building Kokkos failed, see $work.kokkos.log"

  # Every KokkosKernels_INST_* option OFF: no explicit instantiation, the
  # kernels we call are instantiated in our own translation units.
  local inst=()
  local opt
  for opt in $(grep -rhoE '^\s*INST_[A-Z0-9_]+' "$src/kokkos-kernels/cmake/" | tr -d ' ' | sort -u); do
    inst+=("-DKokkosKernels_${opt}=OFF")
  done
  # No vendor TPLs (cuBLAS, cuSPARSE, ...): medimg calls portable BLAS-1
  # kernels only, and a TPL search can find another toolkit's libraries.
  local tpl
  for tpl in CUBLAS CUSPARSE BLAS LAPACK MKL; do inst+=("-DKokkosKernels_ENABLE_TPL_${tpl}=OFF"); done
  log "building Kokkos Kernels into $prefix (no ETI)"
  cmake -S "$src/kokkos-kernels" -B "$work/kernels" -G Ninja -Wno-dev \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_CXX_STANDARD=17 -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DBUILD_SHARED_LIBS=OFF -DKokkos_ROOT="$prefix" "${kokkos_compiler[@]}" \
    -DKokkosKernels_ENABLE_TESTS=OFF -DKokkosKernels_ENABLE_EXAMPLES=OFF \
    "${inst[@]}" >"$work.kernels.log" 2>&1 ||
    die "configuring Kokkos Kernels failed, see $work.kernels.log"
  cmake --build "$work/kernels" --target install -j "$jobs" >>"$work.kernels.log" 2>&1 ||
    die "building Kokkos Kernels failed, see $work.kernels.log"
  rm -rf "$work"
  echo "$signature" >"$stamp"
}

if [ -n "$kokkos_prefix" ]; then
  log "using installed Kokkos at $kokkos_prefix"
  [ -n "$kernels_prefix" ] || kernels_prefix=$(prefix_has "$kokkos_prefix" KokkosKernels && echo "$kokkos_prefix" || true)
  [ -n "$kernels_prefix" ] || die "Kokkos found at $kokkos_prefix but no KokkosKernels; set KokkosKernels_ROOT"
else
  kokkos_prefix="$deps/kokkos"
  kokkos_compiler=()
  build_kokkos "$kokkos_prefix" -DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_OPENMP=ON
  kernels_prefix="$kokkos_prefix"
fi

# ------------------------------------------- 3a. the Python environment
# The Python package (python/, docs/PYTHON.md) is built with nanobind and
# scikit-build-core from PyPI, in a virtual environment made with Debian's
# python3 and --system-site-packages (Debian's numpy, nibabel, scipy and
# torch stay visible); pytest and SimpleITK (the peer of its tests) too.
python_venv="$deps/venv-python"
python_pins=("nanobind>=2.0,<3" "scikit-build-core>=0.8,<2" "pytest>=7" "SimpleITK>=2.2,<3")
if ! "$python_venv/bin/python" -c "import nanobind, scikit_build_core, pytest, SimpleITK" 2>/dev/null; then
  log "installing nanobind, scikit-build-core, pytest and SimpleITK from PyPI into $python_venv"
  /usr/bin/python3 -m venv --system-site-packages "$python_venv"
  "$python_venv/bin/python" -m pip install --quiet --disable-pip-version-check "${python_pins[@]}"
fi

# ----------------------------------------------------------- 3. the project
configure_args=(
  -G Ninja -DCMAKE_BUILD_TYPE=Release
  -DKokkos_ROOT="$kokkos_prefix" -DKokkosKernels_ROOT="$kernels_prefix"
  -DMEDIMG_WERROR=ON -DMEDIMG_ARCH_NATIVE=ON
  -DMEDIMG_BUILD_PYTHON=ON -DPython_EXECUTABLE="$python_venv/bin/python"
)
if [ "$sanitize" = 1 ]; then
  # AddressSanitizer + UndefinedBehaviorSanitizer on every target; the
  # benchmarks are left out (their timings mean nothing under ASan).
  build_dir="${MEDIMG_SANITIZE_BUILD_DIR:-$root/build-sanitize}"
  configure_args+=(-DMEDIMG_SANITIZE=address,undefined -DMEDIMG_BUILD_BENCHMARKS=OFF)
fi
if [ ! -f "$build_dir/build.ninja" ]; then
  log "configuring medimg in $build_dir"
  cmake -S "$root" -B "$build_dir" "${configure_args[@]}" ${MEDIMG_CMAKE_ARGS:-}
fi
log "building medimg"
cmake --build "$build_dir" -j "$jobs"

# `pip install .` into the virtual environment: the package as a user gets
# it (ctest's python.installed runs the suite on it). Its CMake build stays
# in build-python/ (pyproject.toml), so a second run rebuilds only changes.
# Only for the default build: another MEDIMG_BUILD_DIR (scripts/check-kokkos.sh
# with another Kokkos) must not replace the environment's package.
if [ -z "${MEDIMG_BUILD_DIR:-}" ] && [ "$sanitize" = 0 ]; then
  # CMake's cache keeps the Kokkos it found first: another Kokkos starts the
  # package's build folder again.
  python_build_stamp="$root/build-python/.medimg-kokkos"
  if [ -d "$root/build-python" ] && [ "$(cat "$python_build_stamp" 2>/dev/null)" != "$kokkos_prefix $kernels_prefix" ]; then
    log "Kokkos changed: removing build-python/"
    rm -rf "$root/build-python"
  fi
  log "pip install . (the medimg Python package) into $python_venv"
  "$python_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-build-isolation --no-deps "$root" \
    --config-settings=cmake.define.Kokkos_ROOT="$kokkos_prefix" \
    --config-settings=cmake.define.KokkosKernels_ROOT="$kernels_prefix" \
    --config-settings=cmake.define.MEDIMG_WERROR=ON \
    --config-settings=cmake.define.MEDIMG_ARCH_NATIVE=ON
  printf '%s\n' "$kokkos_prefix $kernels_prefix" >"$python_build_stamp"
fi

# GPU builds (sections 4 and 5), each in its own file, sourced so they share
# the functions above.
if [ "$cuda" = 1 ]; then
  # shellcheck source=scripts/setup-cuda.sh
  source "$root/scripts/setup-cuda.sh"
fi
if [ "$hip" = 1 ]; then
  # shellcheck source=scripts/setup-hip.sh
  source "$root/scripts/setup-hip.sh"
fi

# ------------------------------------------- 6. end-to-end benchmark peers
if [ "$bench" = 1 ]; then
  venv="$deps/venv-bench"
  if ! "$venv/bin/python" -c "import SimpleITK" 2>/dev/null; then
    log "installing SimpleITK from PyPI into $venv"
    install_packages python3-venv
    /usr/bin/python3 -m venv --system-site-packages "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "SimpleITK>=2.2,<3"
  fi
  # TorchIO, the peer of benchmarks/augment_vs_torchio.py: the last series
  # that runs on Debian's torch 1.13 (1.x needs jaxtyping and a newer torch),
  # without its dependencies so pip never replaces Debian's torch; the few
  # small ones it imports are listed.
  if ! "$venv/bin/python" -c "import torchio" 2>/dev/null; then
    log "installing TorchIO (0.19) from PyPI into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
      "torchio>=0.19,<0.20" "wrapt<3" "deprecated<2" "humanize<5" "tqdm<5" "typer<1"
  fi
fi

# ----------------------------------------------- 7. the fuzz build (--fuzz)
# libFuzzer needs Clang: Debian's clang-14 with its runtime libraries, and a
# Kokkos built by the same compiler (Serial: a harness runs one input at a
# time, and this Clang has no OpenMP headers). Debian's ITK headers refuse
# Clang, so the ITK module is the default build's (fuzz/CMakeLists.txt).
if [ "$fuzz" = 1 ]; then
  install_packages clang-14 libclang-rt-14-dev
  kokkos_compiler=(-DCMAKE_CXX_COMPILER=clang++-14)
  build_kokkos "$deps/kokkos-clang" -DKokkos_ENABLE_SERIAL=ON
  fuzz_dir="${MEDIMG_FUZZ_BUILD_DIR:-$root/build-fuzz}"
  if [ ! -f "$fuzz_dir/build.ninja" ]; then
    log "configuring the fuzz build in $fuzz_dir"
    cmake -S "$root" -B "$fuzz_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
      -DKokkos_ROOT="$deps/kokkos-clang" -DKokkosKernels_ROOT="$deps/kokkos-clang" \
      -DMEDIMG_WERROR=ON -DMEDIMG_SANITIZE="fuzzer-no-link,${MEDIMG_FUZZ_SANITIZE:-address,undefined}" \
      -DMEDIMG_BUILD_FUZZ=ON -DMEDIMG_BUILD_TESTS=OFF -DMEDIMG_BUILD_BENCHMARKS=OFF
  fi
  log "building the fuzz harnesses"
  cmake --build "$fuzz_dir" -j "$jobs"
  mkdir -p "$fuzz_dir/lib/medimg"
  ln -sf "${MEDIMG_BUILD_DIR:-$root/build}/lib/medimg/libmedimg_itk.so" "$fuzz_dir/lib/medimg/libmedimg_itk.so"
fi
