# Finds the PARALLEL HDF5 C library and freezes it in the imported target
# medimg::hdf5_parallel. Must run before find_package(ITK): Debian's
# ITKConfig.cmake re-runs find_package(HDF5) for its serial build and
# overwrites the HDF5_* variables, but not a target we made already.
if(NOT TARGET medimg::hdf5_parallel)
  set(HDF5_PREFER_PARALLEL TRUE)
  find_package(HDF5 REQUIRED COMPONENTS C)
  if(NOT HDF5_IS_PARALLEL)
    message(FATAL_ERROR
      "medimg: the HDF5 found (${HDF5_C_INCLUDE_DIRS}) is a serial build; "
      "MEDIMG_ENABLE_HDF5 needs parallel HDF5 (Debian: libhdf5-openmpi-dev, "
      "Spack: hdf5+mpi), or configure with -DMEDIMG_ENABLE_HDF5=OFF")
  endif()
  add_library(medimg::hdf5_parallel INTERFACE IMPORTED)
  set_target_properties(medimg::hdf5_parallel PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${HDF5_C_INCLUDE_DIRS}"
    INTERFACE_LINK_LIBRARIES "${HDF5_C_LIBRARIES}"
    INTERFACE_COMPILE_DEFINITIONS "${HDF5_C_DEFINITIONS}")
endif()
