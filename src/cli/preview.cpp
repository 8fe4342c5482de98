// medimg preview IN OUT.png [--window L,W] [--overlay LABELS] [--size N]
// Axial, coronal and sagittal planes through the image centre, side by side
// (include/medimg/ops/preview.hpp states the convention).
#include <cstdio>

#include "commands.hpp"
#include "image_command.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/ops/preview.hpp"

namespace medimg::cli {

void add_preview_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  struct Options {
    std::string input, output, overlay;
    std::vector<double> window;
    int size = 256;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "preview", "axial | coronal | sagittal mid-planes as a PNG (radiological convention)");
  cmd->add_option("IN", o->input, "image file or DICOM folder")->required();
  cmd->add_option("OUT", o->output, "picture (.png)")->required();
  cmd->add_option("--window", o->window, "grey window LEVEL,WIDTH (default: 0.5-99.5 percentiles)")
      ->delimiter(',');
  cmd->add_option("--overlay", o->overlay, "label image blended in colour");
  cmd->add_option("--size", o->size, "pixels spanned by the longest physical extent")
      ->capture_default_str();
  cmd->callback([&action, &global, o] {
    action = [&global, o] {
      PreviewOptions options;
      options.panel_pixels = o->size;
      if (!o->window.empty()) {
        if (o->window.size() != 2) throw Error("--window needs LEVEL,WIDTH");
        options.window = std::make_pair(o->window[0], o->window[1]);
      }
      if (format_extension(o->output) != ".png") {
        throw Error("cannot write '" + o->output + "': a preview is written as .png");
      }
      const auto image = to_memory_space<DeviceMemory>(load_image(o->input));
      AnyImage<DeviceMemory> labels;
      if (!o->overlay.empty()) labels = to_memory_space<DeviceMemory>(load_image(o->overlay));
      const RgbPicture picture =
          render_preview(image, options, o->overlay.empty() ? nullptr : &labels);
      save_png(picture, o->output);
      if (!global.quiet) {
        std::printf(
            "preview: %s -> %s %dx%d: axial | coronal | sagittal through the centre; "
            "radiological (patient right on the left; anterior up in axial, superior up, "
            "anterior left in sagittal)\n",
            o->input.c_str(), o->output.c_str(), picture.width, picture.height);
      }
      return 0;
    };
  });
}

}  // namespace medimg::cli
