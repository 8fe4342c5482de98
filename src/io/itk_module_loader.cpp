// Loads the ITK module (include/medimg/io/detail/itk_module.hpp) once per
// process, the first time a file needs ITK or GDCM.
#include <mutex>
#include <string>

#include "medimg/core/error.hpp"
#include "medimg/io/detail/isolated.hpp"
#include "medimg/io/detail/itk_module.hpp"
#include "medimg/io/detail/modules.hpp"

namespace medimg::detail {

namespace {

struct Loaded {
  const ItkModule* module = nullptr;
  std::string error;  // why it could not be loaded
};

Loaded load() {
  static const ItkHost host{itk_module_abi, &in_isolated_child};
  const OpenedModule opened = open_module("libmedimg_itk.so", "medimg_itk_module");
  if (!opened.entry) return {nullptr, opened.error};
  using Entry = const ItkModule* (*)(const ItkHost*);
  const ItkModule* module = reinterpret_cast<Entry>(opened.entry)(&host);
  if (!module || module->abi != itk_module_abi) {
    return {nullptr, "libmedimg_itk.so is not this medimg's ITK module (ABI " +
                         std::to_string(itk_module_abi) + ")"};
  }
  return {module, ""};
}

}  // namespace

const ItkModule& itk_module(const std::string& path) {
  static std::once_flag once;
  static Loaded loaded;
  std::call_once(once, [] { loaded = load(); });
  if (!loaded.module) {
    throw Error("cannot read or write '" + path +
                "': medimg's ITK module (NRRD, MetaImage, DICOM, PNG, transforms) is not "
                "available: " +
                loaded.error);
  }
  return *loaded.module;
}

}  // namespace medimg::detail
