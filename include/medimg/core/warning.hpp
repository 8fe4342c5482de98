// Warnings: facts the caller should know that do not stop the work (a NIfTI
// file whose sform and qform disagree, ...). The default handler prints
// "warning: MESSAGE" on stderr, each distinct message once per process, so a
// batch over a cohort says a thing once; the CLI's --quiet drops them, and
// tests or a library user can catch them with their own handler.
#pragma once

#include <functional>
#include <string>

namespace medimg {

using WarningHandler = std::function<void(const std::string&)>;

void warn(const std::string& message);

// Installs `handler` (an empty one restores the default); returns the previous.
WarningHandler set_warning_handler(WarningHandler handler);

}  // namespace medimg
