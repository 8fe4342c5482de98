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
  add_compile_options(-fsanitize=${MEDIMG_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g1)
  add_link_options(-fsanitize=${MEDIMG_SANITIZE})
  # The runtime a Python interpreter (not built with sanitizers) must preload
  # before it imports the extension.
  if(MEDIMG_SANITIZE MATCHES "address")
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libasan.so
                    OUTPUT_VARIABLE MEDIMG_SANITIZER_PRELOAD OUTPUT_STRIP_TRAILING_WHITESPACE)
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
