# Every dependency medimg builds against, found with find_package; none is
# vendored or mocked. Order matters: parallel HDF5 is found before ITK, whose
# own search would otherwise fill the cache with its serial HDF5.

# Kokkos and Kokkos Kernels: the versions medimg is tested with, 3.4 up to
# (not including) 5 (README's "Tested with" table; scripts/check-kokkos.sh
# tests another install). Kokkos writes an AnyNewerVersion version file, so
# a plain minimum would accept Kokkos 5 (C++20, mdspan-based View), which
# medimg has never been built against. cmake/MedimgKokkosVersions.cmake
# applies the range.
set(MEDIMG_KOKKOS_VERSIONS 3.4...<5)
# Without Kokkos_ROOT (`pip install .` after scripts/setup.sh), the Kokkos
# that scripts/setup.sh built into .deps/kokkos.
if(NOT DEFINED Kokkos_ROOT AND NOT DEFINED ENV{Kokkos_ROOT} AND EXISTS ${PROJECT_SOURCE_DIR}/.deps/kokkos)
  list(APPEND CMAKE_PREFIX_PATH ${PROJECT_SOURCE_DIR}/.deps/kokkos)
endif()
include(MedimgKokkosVersions)
medimg_find_kokkos_package(Kokkos)
medimg_find_kokkos_package(KokkosKernels)
message(STATUS "medimg: Kokkos ${Kokkos_VERSION} from ${Kokkos_DIR}, Kokkos Kernels "
               "${KokkosKernels_VERSION} from ${KokkosKernels_DIR}")

find_package(CLI11 REQUIRED CONFIG)
find_package(nlohmann_json 3 REQUIRED CONFIG)

if(MEDIMG_ENABLE_MPI)
  find_package(MPI REQUIRED COMPONENTS C CXX)
endif()

if(MEDIMG_ENABLE_HDF5)
  include(MedimgHDF5)
endif()

if(MEDIMG_ENABLE_ITK)
  include(MedimgITKComponents)
  # The filters the tests compare against are header-only modules; they are
  # asked for here so ITK_INCLUDE_DIRS covers them, but never linked into
  # the library.
  set(MEDIMG_ITK_TEST_COMPONENTS ITKImageGrid ITKImageIntensity ITKImageStatistics
      ITKImageFilterBase ITKImageFunction ITKDisplacementField ITKSmoothing
      ITKMetricsv4 ITKOptimizersv4 ITKRegistrationMethodsv4
      # ITK's own NIfTI IO, for the ITK peer programs in benchmarks/ only:
      # they never link medimg, whose nifti_clib clashes with it.
      ITKIONIFTI)
  find_package(ITK 5 REQUIRED COMPONENTS ${MEDIMG_ITK_COMPONENTS}
               ${MEDIMG_ITK_TEST_COMPONENTS})
  message(STATUS "medimg: ITK ${ITK_VERSION} from ${ITK_DIR}")
  # glibc 2.34+ has dlopen in libc and ships libdl.a as an empty stub, which
  # nvlink reports at every CUDA link ("Skipping incompatible libdl.a when
  # searching for -ldl"). ITK's targets still ask for -ldl: CUDA builds drop
  # it where libc alone links dlopen.
  if("CUDA" IN_LIST Kokkos_DEVICES)
    include(CheckSymbolExists)
    check_symbol_exists(dlopen "dlfcn.h" MEDIMG_DLOPEN_IN_LIBC)
    if(MEDIMG_DLOPEN_IN_LIBC)
      foreach(target itksys ITKCommon)
        if(TARGET ${target})
          get_target_property(libraries ${target} INTERFACE_LINK_LIBRARIES)
          list(REMOVE_ITEM libraries dl)
          set_property(TARGET ${target} PROPERTY INTERFACE_LINK_LIBRARIES "${libraries}")
        endif()
      endforeach()
    endif()
  endif()
  # zlib checks gzip payloads that ITK's readers do not (src/io/payload_check.cpp)
  # and is the gzip fallback without ISA-L.
  find_package(ZLIB REQUIRED)
  # nifti_clib checks NIfTI headers (src/io/nifti_header.cpp); cmake/FindNIFTI.cmake.
  find_package(NIFTI REQUIRED)
  if(MEDIMG_WITH_ISAL)
    find_package(ISAL)
    if(NOT ISAL_FOUND)
      message(FATAL_ERROR "medimg: ISA-L (libisal) not found; install it (Debian: libisal-dev) "
                          "or configure with -DMEDIMG_WITH_ISAL=OFF to use zlib for gzip")
    endif()
  endif()
endif()

if(MEDIMG_BUILD_TESTS)
  find_package(GTest REQUIRED)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
endif()
if(MEDIMG_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED CONFIG)
endif()
