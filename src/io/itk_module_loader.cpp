// Loads the ITK module (include/medimg/io/detail/itk_module.hpp) with
// dlopen, once per process, the first time a file needs ITK or GDCM.
#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/io/detail/isolated.hpp"
#include "medimg/io/detail/itk_module.hpp"

namespace medimg::detail {

namespace {

constexpr const char* module_file = "libmedimg_itk.so";

// The folder of the running executable ("" when /proc cannot say).
std::string executable_folder() {
  std::vector<char> buffer(PATH_MAX + 1);
  const ssize_t n = ::readlink("/proc/self/exe", buffer.data(), PATH_MAX);
  if (n <= 0) return "";
  std::string path(buffer.data(), static_cast<std::size_t>(n));
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// The places the header lists, in order.
std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* forced = std::getenv("MEDIMG_ITK_MODULE"); forced && *forced) {
    out.emplace_back(forced);
    return out;
  }
  const std::string folder = executable_folder();
  if (!folder.empty()) out.push_back(folder + "/../lib/medimg/" + module_file);
  out.emplace_back(module_file);
  out.push_back(std::string(MEDIMG_INSTALL_LIBDIR) + "/medimg/" + module_file);
  return out;
}

struct Loaded {
  const ItkModule* module = nullptr;
  std::string error;  // why it could not be loaded
};

Loaded load() {
  static const ItkHost host{itk_module_abi, &in_isolated_child};
  std::string tried;
  for (const std::string& path : candidates()) {
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = ::dlerror();
      tried += (tried.empty() ? "" : "; ") + std::string(why ? why : path);
      continue;
    }
    using Entry = const ItkModule* (*)(const ItkHost*);
    auto entry = reinterpret_cast<Entry>(::dlsym(handle, "medimg_itk_module"));
    const ItkModule* module = entry ? entry(&host) : nullptr;
    if (!module || module->abi != itk_module_abi) {
      return {nullptr, path + " is not this medimg's ITK module (ABI " +
                           std::to_string(itk_module_abi) + ")"};
    }
    return {module, ""};  // never closed: its code may be on a thread's stack
  }
  return {nullptr, tried};
}

}  // namespace

const ItkModule& itk_module(const std::string& path) {
  static std::once_flag once;
  static Loaded loaded;
  std::call_once(once, [] {
    // dlopen takes the dynamic loader's lock: no isolated child may be
    // forked meanwhile (it would inherit the lock).
    const LibraryCall call;
    loaded = load();
  });
  if (!loaded.module) {
    throw Error("cannot read or write '" + path +
                "': medimg's ITK module (NRRD, MetaImage, DICOM, PNG, transforms) is not "
                "available: " +
                loaded.error);
  }
  return *loaded.module;
}

}  // namespace medimg::detail
