#!/usr/bin/env bash
# Builds medimg against an installed Kokkos + Kokkos Kernels and runs the
# unit, python and MPI test labels: the check that a Kokkos version works.
#
#   scripts/check-kokkos.sh KOKKOS_PREFIX [KOKKOS_KERNELS_PREFIX]
#
# The prefixes are install trees (a Spack prefix, any `make install`) with
# lib*/cmake/Kokkos (OpenMP + Serial) and lib*/cmake/KokkosKernels; the
# Kernels prefix defaults to the Kokkos one. The Kokkos that scripts/setup.sh
# builds (3.4.1) is .deps/kokkos. Nothing is built of Kokkos itself here.
# medimg goes into its own folder, build-kokkos-<Kokkos version>-kernels-
# <Kernels version> (or MEDIMG_BUILD_DIR), without the benchmarks. Extra
# Debian packages come from scripts/setup.sh as usual. Prints the versions,
# CTest's summary and the accuracy lines (metrics against ITK, double sums);
# exits non-zero when a test fails. README's "Tested with" table lists the
# versions this passed with.
set -euo pipefail

usage() {
  echo "usage: scripts/check-kokkos.sh KOKKOS_PREFIX [KOKKOS_KERNELS_PREFIX]" >&2
  exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() {
  printf '[check-kokkos] error: %s\n' "$*" >&2
  exit 1
}
[ -d "$1" ] || die "$1 is not a folder"
kokkos=$(cd "$1" && pwd)
kernels=$(cd "${2:-$1}" && pwd)

# The version a prefix's <Name>ConfigVersion.cmake declares.
version_of() {
  local prefix=$1 name=$2 file
  file=$(compgen -G "$prefix/lib*/cmake/$name/${name}ConfigVersion.cmake" | head -n 1) ||
    die "$prefix holds no lib*/cmake/$name/${name}ConfigVersion.cmake"
  local version
  version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' "$file")
  # Kokkos Kernels 4.0.0x writes ".." there; its config header has it.
  if ! [[ "$version" =~ ^[0-9]+\.[0-9]+ ]] && [ -f "$prefix/include/KokkosKernels_config.h" ]; then
    version=$(sed -n 's/^#define KOKKOSKERNELS_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
      "$prefix/include/KokkosKernels_config.h" | paste -sd.)
  fi
  echo "$version"
}
kokkos_version=$(version_of "$kokkos" Kokkos)
kernels_version=$(version_of "$kernels" KokkosKernels)
[ -n "$kokkos_version" ] && [ -n "$kernels_version" ] || die "no version found in the prefixes"
build_dir="${MEDIMG_BUILD_DIR:-$root/build-kokkos-$kokkos_version-kernels-$kernels_version}"
echo "[check-kokkos] Kokkos $kokkos_version ($kokkos), Kokkos Kernels $kernels_version ($kernels)"
echo "[check-kokkos] building medimg in $build_dir"

start=$(date +%s)
Kokkos_ROOT="$kokkos" KokkosKernels_ROOT="$kernels" MEDIMG_BUILD_DIR="$build_dir" \
  MEDIMG_CMAKE_ARGS="-DMEDIMG_BUILD_BENCHMARKS=OFF" "$root/scripts/setup.sh"
built=$(date +%s)

cd "$build_dir"
status=0
# python.installed tests the package scripts/setup.sh pip-installed (built
# with the default Kokkos), not this build: python.package tests this one.
ctest --output-on-failure --timeout 900 -j "$(nproc)" -L 'unit|python|mpi' -E '^python\.installed$' ||
  status=$?
echo "[check-kokkos] accuracy lines (Testing/Temporary/LastTest.log):"
grep -hE '^\[(vs ITK\] metric|sums\]|fd\] metric)|value rel. diff' Testing/Temporary/LastTest.log | sort -u || true
echo "[check-kokkos] Kokkos $kokkos_version + Kokkos Kernels $kernels_version: build" \
  "$((built - start)) s, tests $(($(date +%s) - built)) s, ctest exit status $status"
exit "$status"
