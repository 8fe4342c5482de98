// What every libFuzzer harness of medimg shares (fuzz/README.md, scripts/fuzz.sh).
//
// medimg's readers take paths, as users give them: a harness writes the
// fuzzer's bytes to a file named like what a user passes (".nii.gz", a
// DICOM folder, a manifest), in a per-process folder under /dev/shm, and
// calls the public entry point. The contract checked is medimg's rule for
// bad input (docs/RELIABILITY.md): the call returns or throws medimg::Error
// with a one-line message. Anything else (a crash, a sanitizer report, an
// exception of another type, a message of several lines) is a finding:
// libFuzzer stops and writes the input.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "medimg/core/error.hpp"
#include "medimg/core/scope_guard.hpp"

namespace medimg::fuzz {

// Kokkos (one thread) for the whole run; MPI only under a launcher.
inline void initialise() {
  static medimg::ScopeGuard guard(RuntimeOptions{1, -1, MpiStartup::when_launched});
}

// The folder this process writes its inputs to (created once, removed at exit).
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path folder = [] {
    const char* base = std::getenv("MEDIMG_FUZZ_SCRATCH");
    std::filesystem::path p = std::filesystem::path(base ? base : "/dev/shm") /
                              ("medimg-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    static struct Remove {
      std::filesystem::path path;
      ~Remove() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
      }
    } remove{p};
    return p;
  }();
  return folder;
}

// Writes `data` to scratch()/name and returns the path.
inline std::string write_input(const std::uint8_t* data, std::size_t size,
                               const std::string& name) {
  const std::filesystem::path path = scratch() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  file.close();
  return path.string();
}

// Runs `call`; bad input must end in medimg::Error with a one-line message.
template <class Call>
int expect_clean(Call&& call) {
  try {
    call();
  } catch (const medimg::Error& e) {
    const std::string message = e.what();
    if (message.empty() || message.find('\n') != std::string::npos) {
      std::fprintf(stderr, "medimg fuzz: error message not one line: [%s]\n", message.c_str());
      std::abort();
    }
  }
  return 0;
}

}  // namespace medimg::fuzz
