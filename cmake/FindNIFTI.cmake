# nifti_clib's NIfTI-2 library (libnifti2) and its znz layer, as imported
# targets NIFTI::nifti2 and NIFTI::znz (the names nifti_clib's own config
# exports). A find module, because Debian 12's NIFTIConfig.cmake points at
# /usr/lib/libnifti2.so.2.1.0, which the package installs under the
# multiarch folder: that config fails to load.
find_path(NIFTI_INCLUDE_DIR nifti2_io.h PATH_SUFFIXES nifti)
find_library(NIFTI_nifti2_LIBRARY NAMES nifti2)
find_library(NIFTI_znz_LIBRARY NAMES znz)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NIFTI
  REQUIRED_VARS NIFTI_nifti2_LIBRARY NIFTI_znz_LIBRARY NIFTI_INCLUDE_DIR)
if(NIFTI_FOUND AND NOT TARGET NIFTI::nifti2)
  find_package(ZLIB REQUIRED)
  add_library(NIFTI::znz UNKNOWN IMPORTED)
  set_target_properties(NIFTI::znz PROPERTIES
    IMPORTED_LOCATION "${NIFTI_znz_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${NIFTI_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES ZLIB::ZLIB)
  add_library(NIFTI::nifti2 UNKNOWN IMPORTED)
  set_target_properties(NIFTI::nifti2 PROPERTIES
    IMPORTED_LOCATION "${NIFTI_nifti2_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${NIFTI_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "NIFTI::znz;m")
endif()
mark_as_advanced(NIFTI_INCLUDE_DIR NIFTI_nifti2_LIBRARY NIFTI_znz_LIBRARY)
