// The subcommands of the `medimg` tool. Each add_*_command registers its
// options on `app` and, when chosen, stores in `action` what to run once
// Kokkos is initialised; the action returns the process exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "medimg/core/image.hpp"

namespace medimg::cli {

struct GlobalOptions {
  int threads = -1;
  bool quiet = false;
};

using Action = std::function<int()>;

void add_info_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_convert_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_demo_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_resample_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_reorient_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_rotate_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_crop_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_pad_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_translate_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_scale_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_resize_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_flip_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_affine_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_register_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_pipeline_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_preview_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_batch_command(CLI::App& app, const GlobalOptions& global, Action& action);

// What `medimg info` prints for an image: a table, or one JSON object.
void print_info(const AnyImage<HostMemory>& image, const std::string& source, bool json);

}  // namespace medimg::cli
