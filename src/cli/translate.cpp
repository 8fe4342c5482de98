// medimg translate IN OUT --offset TX,TY,TZ [--resample [--interp I] [--fill V]]
// Without --resample only the origin moves; with it the content moves on the
// unchanged grid.
#include "medimg/ops/translate.hpp"
#include "image_command.hpp"

namespace medimg::cli {

void add_translate_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Options {
    std::vector<double> offset;
    bool resample = false;
    std::string interp;
    double fill = 0.0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd =
      add_image_command(app, "translate", "move the image (origin) or its content (--resample)",
                        global, action, [o]() -> ImageOperation {
                          const Vec3 offset = to_vec3(o->offset, "--offset");
                          const Interp interp = parse_interp(o->interp);
                          AffineTransform::translation(offset);  // validates
                          return typed_operation([=](const auto& typed) {
                            return o->resample ? translate_resample(typed, offset, interp, o->fill)
                                               : translate(typed, offset);
                          });
                        });
  cmd->add_option("--offset", o->offset, "millimetres TX,TY,TZ (LPS)")->delimiter(',')->required();
  cmd->add_flag("--resample", o->resample, "move the content on the fixed grid");
  add_interp_option(cmd, o->interp, "linear");
  add_fill_option(cmd, o->fill);
}

}  // namespace medimg::cli
