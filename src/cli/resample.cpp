// medimg resample IN OUT --spacing SX,SY,SZ | --like REF [--interp I] [--fill V]
#include "image_command.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/ops/resample_to_image.hpp"
#include "medimg/ops/resample_to_spacing.hpp"

namespace medimg::cli {

void add_resample_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Options {
    std::vector<double> spacing;
    std::string like, interp;
    double fill = 0.0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd =
      add_image_command(app, "resample", "resample to a spacing or onto another image's grid",
                        global, action, [o]() -> ImageOperation {
                          const Interp interp = parse_interp(o->interp);
                          if (o->like.empty() && o->spacing.empty()) {
                            throw Error("resample needs --spacing SX,SY,SZ or --like REF");
                          }
                          if (!o->like.empty()) {
                            const Geometry fixed = geometry(load_image(o->like));
                            return typed_operation([=](const auto& typed) {
                              return resample_to_image(fixed, typed, interp, o->fill);
                            });
                          }
                          const Vec3 spacing = to_vec3(o->spacing, "--spacing");
                          return typed_operation([=](const auto& typed) {
                            return resample_to_spacing(typed, spacing, interp);
                          });
                        });
  auto* spacing =
      cmd->add_option("--spacing", o->spacing, "new spacing in mm, SX,SY,SZ")->delimiter(',');
  auto* like = cmd->add_option("--like", o->like, "reference image: resample onto its grid");
  spacing->excludes(like);
  add_interp_option(cmd, o->interp, "linear");
  add_fill_option(cmd, o->fill);
}

}  // namespace medimg::cli
