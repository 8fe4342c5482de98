// medimg::Error: the one exception type of the library. Its message names the
// file or argument at fault and what is wrong with it, so the CLI can print it
// as one line.
#pragma once

#include <stdexcept>
#include <string>

namespace medimg {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace medimg
