// medimg crop IN OUT --start I,J,K --size NX,NY,NZ
#include "medimg/ops/crop.hpp"
#include "image_command.hpp"

namespace medimg::cli {

void add_crop_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Options {
    std::vector<std::int64_t> start, size;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = add_image_command(
      app, "crop", "keep the voxels [start, start + size)", global, action,
      [o]() -> ImageOperation {
        const Size3 start = to_size3(o->start, "--start");
        const Size3 size = to_size3(o->size, "--size");
        return typed_operation([=](const auto& typed) { return crop(typed, start, size); });
      });
  cmd->add_option("--start", o->start, "first voxel I,J,K")->delimiter(',')->required();
  cmd->add_option("--size", o->size, "voxels to keep NX,NY,NZ")->delimiter(',')->required();
}

}  // namespace medimg::cli
