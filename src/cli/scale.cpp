// medimg scale IN OUT --factor F | FX,FY,FZ [--interp I] [--fill V]: content
// zoomed about the centre, grid kept.
#include "medimg/ops/scale.hpp"
#include "image_command.hpp"

namespace medimg::cli {

void add_scale_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Options {
    std::vector<double> factor;
    std::string interp;
    double fill = 0.0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = add_image_command(
      app, "scale", "zoom the content about the centre (grid kept)", global, action,
      [o]() -> ImageOperation {
        const Vec3 factors = o->factor.size() == 1 ? Vec3{o->factor[0], o->factor[0], o->factor[0]}
                                                   : to_vec3(o->factor, "--factor");
        const Interp interp = parse_interp(o->interp);
        zoom_about_center(Geometry(), factors);  // validates
        return typed_operation(
            [=](const auto& typed) { return scale(typed, factors, interp, o->fill); });
      });
  cmd->add_option("--factor", o->factor, "F or FX,FY,FZ (> 1 enlarges)")
      ->delimiter(',')
      ->required();
  add_interp_option(cmd, o->interp, "linear");
  add_fill_option(cmd, o->fill);
}

}  // namespace medimg::cli
