// The shape shared by the geometric subcommands: `medimg NAME IN OUT ...`
// reads IN (any format), moves it to the default device, applies one
// operation, and writes OUT atomically. The output path is checked before
// anything is read, so a bad OUT fails fast and leaves nothing behind.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "medimg/core/geometry.hpp"
#include "medimg/interp/interpolator.hpp"

namespace medimg::cli {

using DeviceImage = AnyImage<DeviceMemory>;
using ImageOperation = std::function<DeviceImage(const DeviceImage&)>;

// Registers the subcommand; `make_operation` is called after parsing and
// returns the operation to run (so options are validated before IO).
CLI::App* add_image_command(CLI::App& app, const std::string& name, const std::string& description,
                            const GlobalOptions& global, Action& action,
                            std::function<ImageOperation()> make_operation);

// --interp nearest|linear|bspline (default `fallback`) and --fill V.
void add_interp_option(CLI::App* cmd, std::string& interp, const std::string& fallback);
void add_fill_option(CLI::App* cmd, double& fill);

// "a,b,c" lists: exactly `count` numbers.
Vec3 to_vec3(const std::vector<double>& values, const std::string& option);
Size3 to_size3(const std::vector<std::int64_t>& values, const std::string& option);

// Applies f(typed image) -> Image to whichever pixel type `image` holds.
template <class F>
DeviceImage on_typed(const DeviceImage& image, F&& f) {
  return std::visit([&f](const auto& typed) -> DeviceImage { return f(typed); }, image);
}

}  // namespace medimg::cli
