// medimg flip IN OUT --axis x|y|z: content mirrored, geometry kept.
#include "medimg/ops/flip.hpp"
#include "image_command.hpp"

namespace medimg::cli {

void add_flip_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto axis_name = std::make_shared<std::string>();
  auto* cmd = add_image_command(
      app, "flip", "mirror the content along the image's own axis", global, action,
      [axis_name]() -> ImageOperation {
        const Axis axis = parse_axis(*axis_name);
        return typed_operation([axis](const auto& typed) { return flip(typed, axis); });
      });
  cmd->add_option("--axis", *axis_name, "x, y or z: the image's i, j or k axis")->required();
}

}  // namespace medimg::cli
