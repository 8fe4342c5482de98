// medimg resize IN OUT --size NX,NY,NZ [--interp I]: same extent, new voxel count.
#include "medimg/ops/resize.hpp"
#include "image_command.hpp"

namespace medimg::cli {

void add_resize_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Options {
    std::vector<std::int64_t> size;
    std::string interp;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = add_image_command(
      app, "resize", "same physical extent with a new voxel count", global, action,
      [o]() -> ImageOperation {
        const Size3 size = to_size3(o->size, "--size");
        const Interp interp = parse_interp(o->interp);
        return typed_operation([=](const auto& typed) { return resize(typed, size, interp); });
      });
  cmd->add_option("--size", o->size, "new size NX,NY,NZ")->delimiter(',')->required();
  add_interp_option(cmd, o->interp, "linear");
}

}  // namespace medimg::cli
