# medimg_compile_options(target): the project's warning set (errors with
# MEDIMG_WERROR) and, with MEDIMG_ARCH_NATIVE, code for this machine's CPU.
option(MEDIMG_WERROR "Treat compiler warnings as errors" OFF)
option(MEDIMG_ARCH_NATIVE "Compile for the building machine's CPU (-march=native): SIMD gathers for the resample kernels" OFF)
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
