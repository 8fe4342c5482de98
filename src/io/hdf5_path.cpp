// HDF5 path specs ("file.h5:/group/name"); built with or without HDF5 so
// every build can recognise them.
#include <algorithm>
#include <cctype>

#include "medimg/io/hdf5_io.hpp"

namespace medimg {

bool is_hdf5_path(const std::string& spec) {
  std::string file = parse_hdf5_location(spec).file;
  std::transform(file.begin(), file.end(), file.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const std::string ext : {".h5", ".hdf5", ".he5"}) {
    if (file.size() > ext.size() && file.compare(file.size() - ext.size(), ext.size(), ext) == 0) {
      return true;
    }
  }
  return false;
}

Hdf5Location parse_hdf5_location(const std::string& spec) {
  // The dataset starts at the first ':' followed by '/' after the file's
  // extension (file names may hold ':' elsewhere rarely; datasets start with /).
  for (const std::string ext : {".h5:/", ".hdf5:/", ".he5:/", ".H5:/", ".HDF5:/"}) {
    const auto at = spec.find(ext);
    if (at != std::string::npos) {
      const auto colon = at + ext.size() - 2;
      return Hdf5Location{spec.substr(0, colon), spec.substr(colon + 1)};
    }
  }
  return Hdf5Location{spec, ""};
}

}  // namespace medimg
