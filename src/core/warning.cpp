// The warning channel of include/medimg/core/warning.hpp.
#include "medimg/core/warning.hpp"

#include <iostream>
#include <mutex>
#include <set>

namespace medimg {

namespace {

std::mutex& warning_mutex() {
  static std::mutex m;
  return m;
}

WarningHandler& installed_handler() {
  static WarningHandler handler;
  return handler;
}

void print_once(const std::string& message) {
  static std::set<std::string> printed;
  if (printed.insert(message).second) std::cerr << "warning: " << message << std::endl;
}

}  // namespace

void warn(const std::string& message) {
  std::lock_guard<std::mutex> lock(warning_mutex());
  const WarningHandler& handler = installed_handler();
  if (handler) {
    handler(message);
  } else {
    print_once(message);
  }
}

WarningHandler set_warning_handler(WarningHandler handler) {
  std::lock_guard<std::mutex> lock(warning_mutex());
  WarningHandler previous = std::move(installed_handler());
  installed_handler() = std::move(handler);
  return previous;
}

}  // namespace medimg
