// medimg's run-time modules: the parts of medimg whose libraries are heavy
// to load and needed by few runs, built as shared modules the library opens
// with dlopen on first use. A process that reads and writes NIfTI only maps
// neither of them.
//
//   libmedimg_itk.so   ITK and GDCM: NRRD, MetaImage, DICOM, PNG, ITK
//                      transform files (io/detail/itk_module.hpp)
//   libmedimg_hdf5.so  parallel HDF5 (and its curl/OpenSSL/Kerberos
//                      dependencies) (io/detail/hdf5_module.hpp)
//
// Where a module is looked for, first hit wins:
//   1. $MEDIMG_MODULE_DIR/<file> (nothing else is tried when it is set);
//   2. <the executable's folder>/../lib/medimg/<file> (the build tree, and
//      the medimg tool of an installed prefix wherever it moved);
//   3. <file> by the program's run path and LD_LIBRARY_PATH
//      (find_package(medimg) adds <prefix>/lib/medimg to the run path of
//      every program that links medimg::medimg);
//   4. <the configured install libdir>/medimg/<file>.
// A module is never closed. Its boundary is a table of plain function
// pointers with an ABI number; a module whose number differs is refused.
#pragma once

#include <string>

namespace medimg::detail {

struct OpenedModule {
  void* entry = nullptr;  // the module's exported `symbol`; null when not found
  std::string error;      // why not (every place tried)
};

// Opens `file` as above and looks up `symbol`. Holds a LibraryCall while it
// does (dlopen takes the loader's lock; io/detail/isolated.hpp).
OpenedModule open_module(const char* file, const char* symbol);

}  // namespace medimg::detail
