// medimg rotate IN OUT --axis x|y|z --angle DEG [--expand] [--interp I] [--fill V]
#include "medimg/ops/rotate.hpp"
#include "image_command.hpp"

namespace medimg::cli {

void add_rotate_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Options {
    std::string axis, interp;
    double angle = 0.0, fill = 0.0;
    bool expand = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = add_image_command(
      app, "rotate", "rotate about the image's own axis through its centre (right-hand rule)",
      global, action, [o]() -> ImageOperation {
        const Axis axis = parse_axis(o->axis);
        const Interp interp = parse_interp(o->interp);
        rotation_about_center(Geometry(), axis, o->angle);  // refuse a non-finite angle before IO
        return typed_operation([=](const auto& typed) {
          return rotate(typed, axis, o->angle, interp, o->fill, o->expand);
        });
      });
  cmd->add_option("--axis", o->axis, "x, y or z: the image's i, j or k axis")->required();
  cmd->add_option("--angle", o->angle, "degrees, positive = right-hand rule")->required();
  cmd->add_flag("--expand", o->expand, "grow the grid to hold the whole rotated image");
  add_interp_option(cmd, o->interp, "linear");
  add_fill_option(cmd, o->fill);
}

}  // namespace medimg::cli
