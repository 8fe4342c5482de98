// medimg convert IN OUT [--type T] [--compress]: any readable format to
// NIfTI / NRRD / MetaImage, optionally changing the pixel type (integers
// round to nearest and clamp).
#include <iostream>

#include "commands.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/ops/cast.hpp"

namespace medimg::cli {

void add_convert_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd = app.add_subcommand("convert", "convert between formats and pixel types");
  struct Options {
    std::string input, output, type, series;
    bool compress = false;
  };
  auto options = std::make_shared<Options>();
  cmd->add_option("IN", options->input, "image file or DICOM folder")->required();
  cmd->add_option("OUT", options->output, "output file: .nii, .nii.gz, .nrrd or .mha")->required();
  cmd->add_option("--type", options->type, "uint8|int16|uint16|int32|float32|float64");
  cmd->add_option("--series", options->series, "DICOM folder: Series Instance UID to read");
  cmd->add_flag("--compress", options->compress, "gzip/zlib-compress NRRD and MetaImage output");
  cmd->callback([&action, &global, options] {
    action = [&global, options] {
      // Fail on a bad --type or output path before reading a large input.
      const bool retype = !options->type.empty();
      const PixelType type = retype ? parse_pixel_type(options->type) : PixelType::float32;
      check_output_path(options->output);
      AnyImage<HostMemory> image = load_image(options->input, LoadOptions{options->series});
      if (retype && type != pixel_type(image)) {
        image = to_memory_space<HostMemory>(cast_to(to_memory_space<DeviceMemory>(image), type));
      }
      save_image(image, options->output, SaveOptions{options->compress});
      if (!global.quiet) {
        std::cout << options->input << " -> " << options->output << " ("
                  << to_string(pixel_type(image)) << ", " << to_string(geometry(image).size())
                  << ")\n";
      }
      return 0;
    };
  });
}

}  // namespace medimg::cli
