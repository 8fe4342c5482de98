// medimg affine IN OUT --matrix a00,a01,a02,t0,a10,a11,a12,t1,a20,a21,a22,t2
//   [--center X,Y,Z] [--interp I] [--fill V]
// The map takes OUTPUT points to INPUT points, in physical mm (LPS):
// y = A (x - c) + c + t, as ITK's ResampleImageFilter. Grid kept.
#include "medimg/ops/affine.hpp"
#include <algorithm>
#include <array>

#include "image_command.hpp"

namespace medimg::cli {

void add_affine_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Options {
    std::vector<double> matrix, center{0.0, 0.0, 0.0};
    std::string interp;
    double fill = 0.0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = add_image_command(
      app, "affine", "resample through an affine map (output point -> input point, mm)", global,
      action, [o]() -> ImageOperation {
        if (o->matrix.size() != 12) {
          throw Error("--matrix needs 12 comma-separated numbers (3 rows of a0,a1,a2,t), got " +
                      std::to_string(o->matrix.size()));
        }
        std::array<double, 12> rows;
        std::copy(o->matrix.begin(), o->matrix.end(), rows.begin());
        const AffineTransform transform =
            AffineTransform::from_3x4(rows, to_vec3(o->center, "--center"));
        const Interp interp = parse_interp(o->interp);
        return typed_operation(
            [=](const auto& typed) { return affine(typed, transform, interp, o->fill); });
      });
  cmd->add_option("--matrix", o->matrix, "a00,a01,a02,t0,a10,a11,a12,t1,a20,a21,a22,t2")
      ->delimiter(',')
      ->required();
  cmd->add_option("--center", o->center, "centre X,Y,Z in mm (default 0,0,0)")->delimiter(',');
  add_interp_option(cmd, o->interp, "linear");
  add_fill_option(cmd, o->fill);
}

}  // namespace medimg::cli
