// medimg pad IN OUT --before A,B,C --after A,B,C [--value V]
#include "medimg/ops/pad.hpp"
#include "image_command.hpp"

namespace medimg::cli {

void add_pad_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Options {
    std::vector<std::int64_t> before, after;
    double value = 0.0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = add_image_command(
      app, "pad", "add voxels before and after each axis", global, action, [o]() -> ImageOperation {
        const Size3 before = to_size3(o->before, "--before");
        const Size3 after = to_size3(o->after, "--after");
        return typed_operation(
            [=](const auto& typed) { return pad(typed, before, after, o->value); });
      });
  cmd->add_option("--before", o->before, "voxels before I,J,K")->delimiter(',')->required();
  cmd->add_option("--after", o->after, "voxels after I,J,K")->delimiter(',')->required();
  cmd->add_option("--value", o->value, "value of the new voxels")->capture_default_str();
}

}  // namespace medimg::cli
