// Messages that quote user input (a JSON key, a file name) on one line.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace medimg {

// `text` with its control characters written as escapes ("\n", "\x1b"), so
// that a medimg::Error quoting user input stays one line (the CLI prints
// every error through it; fuzz/ found a pipeline key holding newlines).
inline std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", u);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace medimg
