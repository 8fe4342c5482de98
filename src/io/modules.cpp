// include/medimg/io/detail/modules.hpp: finding and opening a module.
#include "medimg/io/detail/modules.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <vector>

#include "medimg/io/detail/isolated.hpp"

namespace medimg::detail {

namespace {

// The folder of the running executable ("" when /proc cannot say).
std::string executable_folder() {
  std::vector<char> buffer(PATH_MAX + 1);
  const ssize_t n = ::readlink("/proc/self/exe", buffer.data(), PATH_MAX);
  if (n <= 0) return "";
  std::string path(buffer.data(), static_cast<std::size_t>(n));
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::vector<std::string> candidates(const std::string& file) {
  if (const char* forced = std::getenv("MEDIMG_MODULE_DIR"); forced && *forced) {
    return {std::string(forced) + "/" + file};
  }
  std::vector<std::string> out;
  const std::string folder = executable_folder();
  if (!folder.empty()) out.push_back(folder + "/../lib/medimg/" + file);
  out.push_back(file);
  out.push_back(std::string(MEDIMG_INSTALL_LIBDIR) + "/medimg/" + file);
  return out;
}

}  // namespace

OpenedModule open_module(const char* file, const char* symbol) {
  // No isolated child may be forked while dlopen holds the loader's lock.
  const LibraryCall call;
  OpenedModule opened;
  for (const std::string& path : candidates(file)) {
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = ::dlerror();
      opened.error += (opened.error.empty() ? "" : "; ") + std::string(why ? why : path);
      continue;
    }
    opened.entry = ::dlsym(handle, symbol);
    if (!opened.entry) opened.error = path + " has no " + symbol;
    return opened;
  }
  return opened;
}

}  // namespace medimg::detail
