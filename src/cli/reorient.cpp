// medimg reorient IN OUT --to CODE: voxels permuted/flipped to an orientation
// code (e.g. RAS, LPS, PIR); no interpolation.
#include "image_command.hpp"
#include "medimg/ops/change_orientation.hpp"

namespace medimg::cli {

void add_reorient_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto code = std::make_shared<std::string>();
  auto* cmd = add_image_command(app, "reorient", "permute/flip the voxels to an orientation code",
                                global, action, [code]() -> ImageOperation {
                                  direction_from_code(*code);  // refuse a bad code before IO
                                  return typed_operation([code](const auto& typed) {
                                    return change_orientation(typed, *code);
                                  });
                                });
  cmd->add_option("--to", *code, "orientation code, 3 letters of L/R, P/A, S/I")->required();
}

}  // namespace medimg::cli
