# medimg_compile_options(target): the project's warning set (errors with
# MEDIMG_WERROR) and, with MEDIMG_ARCH_NATIVE, code for this machine's CPU.
option(MEDIMG_WERROR "Treat compiler warnings as errors" OFF)
option(MEDIMG_ARCH_NATIVE "Compile for the building machine's CPU (-march=native): SIMD gathers for the resample kernels" OFF)
# MEDIMG_SANITIZE: a -fsanitize= list (e.g. "address,undefined") for every
# target of the project, tests and the Python extension included
# (`scripts/test.sh --sanitize` builds with it in build-sanitize/). Any report
# ends the process with a failure (-fno-sanitize-recover), so a test that
# triggers one fails. docs/RELIABILITY.md says what runs under it.
set(MEDIMG_SANITIZE "" CACHE STRING "Sanitizers for every target (-fsanitize=LIST), e.g. address,undefined")
if(MEDIMG_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "MEDIMG_SANITIZE needs GCC or Clang, not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  # -O1 (after the build type's -O3, so it wins): half the compile time of
  # -O3 under the sanitizers, and the usual level for them.
  add_compile_options(-fsanitize=${MEDIMG_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g1 -O1)
  add_link_options(-fsanitize=${MEDIMG_SANITIZE})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND MEDIMG_SANITIZE MATCHES "address")
    # GCC's AddressSanitizer checks the load of a thread_local's GOT slot
    # (initial-exec, the -fPIE model) through an LEA that ld cannot relax
    # when the variable ends up in the executable ("TLS transition from
    # R_X86_64_GOTTPOFF to R_X86_64_TPOFF32 ... failed", Kokkos'
    # thread_locals from its static libraries). With -fPIC (after -fPIE, so
    # it wins) those accesses are general-dynamic, which ld relaxes.
    add_compile_options(-fPIC)
  endif()
  # Leak checks for the tests that run the command-line tool as a user does
  # (tests/CMakeLists.txt). scripts/test.sh --sanitize turns them off for
  # everything else: a GoogleTest binary initialises MPI and links ITK, whose
  # allocations live until exit and take LeakSanitizer 30 s per process to
  # scan.
  set(MEDIMG_SANITIZER_LEAK_CHECK
      "ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1:strict_init_order=1"
      "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/sanitizers/lsan.supp:print_suppressions=0")
  # What a Python interpreter (not built with sanitizers) must preload before
  # it imports the extension: ASan's runtime, and libstdc++ with it (else
  # ASan starts without the real __cxa_throw and aborts at the first C++
  # exception: "CHECK failed: ... real___cxa_throw").
  if(MEDIMG_SANITIZE MATCHES "address")
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libasan.so
                    OUTPUT_VARIABLE asan_runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libstdc++.so
                    OUTPUT_VARIABLE cxx_runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
    set(MEDIMG_SANITIZER_PRELOAD "${asan_runtime}:${cxx_runtime}")
  endif()
endif()
function(medimg_compile_options target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor>)
    # No code of ours observes floating-point exception flags; without this
    # GCC will not vectorise floor() (pixel_cast's rounding), which keeps
    # every loop that writes integer voxels scalar. Values are unchanged.
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fno-trapping-math>)
    if(MEDIMG_WERROR)
      target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
    endif()
    if(MEDIMG_ARCH_NATIVE)
      target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
    endif()
  endif()
endfunction()

# medimg_installed_runpath(target): an installed target (the CLI, the two
# IO modules, the Python extension) carries its install RUNPATH in the build
# tree too: the link folders outside the project (Open MPI's, HDF5's, an
# installed Kokkos'). To edit a RUNPATH in place at install, CMake ends the
# build tree's with an empty entry ("/usr/lib/x86_64-linux-gnu/openmpi/lib:"),
# which the loader reads as the current folder: build/bin/medimg looked for
# libz.so.1, libmpi.so.40 and the rest in whatever folder it was started
# from (166 failed opens at each start) and would load one it found there.
# (CMAKE_NO_BUILTIN_CHRPATH, relinking at install instead, is not supported
# with Ninja.) Not with BUILD_SHARED_LIBS, whose build tree needs its own
# library folder.
function(medimg_installed_runpath target)
  if(NOT BUILD_SHARED_LIBS)
    set_target_properties(${target} PROPERTIES BUILD_WITH_INSTALL_RPATH ON
                                               INSTALL_RPATH_USE_LINK_PATH ON)
  endif()
endfunction()

# medimg_itk_headers(target): ITK's include folders for `target`'s sources.
# When Kokkos compiles through nvcc, every such unit also pre-includes
# include/medimg/io/itk_nvcc.hpp, the workaround for nvcc 11.8 mis-printing
# ITK's itkNewMacro (the header explains).
function(medimg_itk_headers target)
  # ITKGDCM's folders are GDCM's own headers (system or bundled): the
  # DICOM header screen (src/itk_module/dicom_screen.cpp) calls GDCM's parser.
  target_include_directories(${target} SYSTEM PRIVATE ${ITK_INCLUDE_DIRS} ${ITKGDCM_INCLUDE_DIRS})
  if("CUDA" IN_LIST Kokkos_DEVICES)
    target_compile_options(${target} PRIVATE
      "SHELL:-include ${PROJECT_SOURCE_DIR}/include/medimg/io/itk_nvcc.hpp")
  endif()
endfunction()
