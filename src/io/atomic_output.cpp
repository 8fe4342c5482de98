#include "medimg/io/atomic_output.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "medimg/core/error.hpp"

namespace medimg {

namespace fs = std::filesystem;

std::string format_extension(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* compound : {".nii.gz", ".hdr.gz", ".img.gz"}) {
    const std::string suffix = compound;
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return suffix;
    }
  }
  const auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  return name.substr(dot);
}

void check_output_folder(const std::string& path) {
  const fs::path folder = fs::absolute(fs::path(path)).parent_path();
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    throw Error("cannot write '" + path + "': folder '" + folder.string() + "' does not exist");
  }
}

AtomicOutput::AtomicOutput(std::string path) : m_path(std::move(path)) {
  static std::atomic<unsigned> counter{0};
  const fs::path target(m_path);
  const std::string extension = format_extension(m_path);
  std::string stem = target.filename().string();
  stem.resize(stem.size() - extension.size());
  const std::string name = "." + stem + ".medimg-tmp-" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter++) + extension;
  m_temporary = (target.parent_path() / name).string();
}

AtomicOutput::~AtomicOutput() {
  if (!m_committed) {
    std::error_code ec;
    fs::remove(m_temporary, ec);
  }
}

void AtomicOutput::commit() {
  std::error_code ec;
  fs::rename(m_temporary, m_path, ec);
  if (ec) {
    throw Error("cannot write '" + m_path + "': " + ec.message());
  }
  m_committed = true;
}

}  // namespace medimg
