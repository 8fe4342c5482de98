# medimg_find_kokkos_package(Kokkos|KokkosKernels): find_package within
# MEDIMG_KOKKOS_VERSIONS (a CMake version range, MINIMUM...<LIMIT), or stop
# with one line naming the version found outside it. Used by medimg's build
# and by medimgConfig.cmake (downstream projects), so both accept the same
# versions.
macro(medimg_find_kokkos_package name)
  # The range lets find_package pass over an unsuitable install to a
  # suitable one. Kokkos Kernels 3.x writes a SameMajorVersion version file,
  # which rejects any range spanning two majors: the second search finds it
  # (or names what is there) and the check below applies the range.
  # A ${name}_DIR given by the user is reset when its package does not fit:
  # the second search looks there again.
  set(_medimg_given_dir "${${name}_DIR}")
  find_package(${name} ${MEDIMG_KOKKOS_VERSIONS} CONFIG QUIET)
  if(NOT ${name}_FOUND)
    find_package(${name} CONFIG QUIET HINTS "${_medimg_given_dir}")
  endif()
  # Kokkos Kernels 4.0.0x installs a version file whose version is ".."
  # (its project() call clears the version variables set before it): the
  # version then comes from the installed KokkosKernels_config.h.
  if(${name}_FOUND AND NOT "${${name}_VERSION}" MATCHES "^[0-9]+\\.[0-9]+")
    get_filename_component(_medimg_prefix "${${name}_DIR}/../../.." ABSOLUTE)
    set(_medimg_header "${_medimg_prefix}/include/KokkosKernels_config.h")
    if("${name}" STREQUAL "KokkosKernels" AND EXISTS "${_medimg_header}")
      set(_medimg_parts "")
      foreach(part MAJOR MINOR PATCH)
        file(STRINGS "${_medimg_header}" _medimg_line
             REGEX "^#define KOKKOSKERNELS_VERSION_${part} [0-9]+$")
        string(REGEX REPLACE "^.* " "" _medimg_line "${_medimg_line}")
        list(APPEND _medimg_parts "${_medimg_line}")
      endforeach()
      list(JOIN _medimg_parts "." ${name}_VERSION)
    endif()
  endif()
  string(REGEX REPLACE "\\.\\.\\.<.*$" "" _medimg_minimum "${MEDIMG_KOKKOS_VERSIONS}")
  string(REGEX REPLACE "^.*\\.\\.\\.<" "" _medimg_limit "${MEDIMG_KOKKOS_VERSIONS}")
  set(_medimg_range "${_medimg_minimum} up to (not including) ${_medimg_limit}")
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "medimg: ${name} not found (${_medimg_range} needed); set ${name}_ROOT "
                        "or CMAKE_PREFIX_PATH to its install prefix")
  endif()
  if(${name}_VERSION VERSION_LESS _medimg_minimum OR NOT ${name}_VERSION VERSION_LESS _medimg_limit)
    message(FATAL_ERROR "medimg: ${name} ${${name}_VERSION} (${${name}_DIR}) is outside the "
                        "versions medimg is tested with, ${_medimg_range}; point ${name}_ROOT at "
                        "another install")
  endif()
endmacro()
