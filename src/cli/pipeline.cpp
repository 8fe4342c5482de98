// medimg pipeline IN OUT --steps steps.json   (one image through a pipeline)
// medimg pipeline --list-ops                  (the op table as JSON)
// Augmentation steps draw from their own "seed"/"item" parameters, or from
// --seed and --item when given (as `medimg batch --seed` does per item);
// --drawn FILE writes what they drew (JSON), enough to make OUT again.
// The pipeline is validated before IN is read; the per-step times are
// printed. Under mpiexec it runs on rank 0 (`medimg batch` spreads a cohort
// over the ranks).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.hpp"
#include "image_command.hpp"
#include "medimg/core/voxel_pool.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/pipeline/pipeline.hpp"

namespace medimg::cli {

namespace {

struct PipelineOptions {
  std::string input, output, steps, drawn;
  std::optional<std::uint64_t> seed, item;
  bool list_ops = false;
};

int run_pipeline(const PipelineOptions& o, const GlobalOptions& global) {
  if (o.list_ops) {
    std::cout << pipeline_ops_description().dump(2) << "\n";
    return 0;
  }
  if (o.input.empty() || o.output.empty() || o.steps.empty()) {
    throw Error("pipeline needs IN OUT --steps FILE (or --list-ops)");
  }
  const Pipeline pipeline = Pipeline::load(o.steps);
  check_output_path(o.output);
  // A plain NIfTI input is the file's pages (load_image_mapped), released
  // after the first step whose output does not lie in them (a step may hand
  // its input on: reorient to the image's own orientation); any other input
  // is freed once the first step has made its output (take, below).
  MappedImage loaded = load_image_mapped(o.input);
  const auto* input_begin = static_cast<const unsigned char*>(std::visit(
      [](const auto& typed) -> const void* { return typed.voxels().data(); }, loaded.image));
  const auto* input_end =
      input_begin + geometry(loaded.image).voxel_count() * pixel_size(pixel_type(loaded.image));
  auto input = to_memory_space<DeviceMemory>(take(loaded.image));
  const Size3 input_size = geometry(input).size();
  if (!o.drawn.empty()) {
    const std::filesystem::path folder = std::filesystem::absolute(o.drawn).parent_path();
    if (!std::filesystem::is_directory(folder)) {
      throw Error("cannot write '" + o.drawn + "': no folder '" + folder.string() + "'");
    }
  }
  std::vector<StepTiming> timings;
  std::vector<nlohmann::json> drawn;
  RandomContext random{o.seed.value_or(0), o.item.value_or(0), &drawn};
  const bool keyed = o.seed || o.item;
  // Handed over (take): the input is released once the first step has made
  // its output. The last step's output is the .nii file's pages
  // (MappedOutput); `output` outlives `result`.
  MappedOutput output(o.output);
  const auto result = [&] {
    // A step whose output has the shape of an image an earlier step freed
    // reuses its voxels. A budget of 0 holds no freed buffer past the next
    // allocation that cannot use it, and the scope ends before the write:
    // the peak is what it is without the pool.
    const VoxelPool::Scope pool(0);
    RandomContext recording{0, 0, &drawn, false};
    PipelineHooks hooks;
    hooks.last_output = output.provider();
    hooks.after_step = [&](const AnyImage<DeviceMemory>& made) {
      const auto* data = static_cast<const unsigned char*>(
          std::visit([](const auto& typed) -> const void* { return typed.voxels().data(); }, made));
      if (loaded.mapping && !(data >= input_begin && data < input_end)) loaded.mapping.reset();
    };
    return pipeline.run(take(input), &timings, keyed ? &random : &recording, hooks);
  }();
  output.save(to_memory_space<HostMemory>(result));
  if (!o.drawn.empty()) {
    AtomicOutput file(o.drawn);
    {
      std::ofstream out(file.temporary_path());
      out << nlohmann::json(drawn).dump(1) << "\n";
      if (!out.flush()) throw Error("cannot write '" + o.drawn + "'");
    }
    file.commit();
  }
  if (!global.quiet) {
    double total = 0.0;
    for (const StepTiming& t : timings) total += t.ms;
    std::printf("pipeline: %s %s -> %s %s %s, %zu steps, %.1f ms\n", o.input.c_str(),
                to_string(input_size).c_str(), o.output.c_str(),
                to_string(geometry(result).size()).c_str(),
                std::string(to_string(pixel_type(result))).c_str(), timings.size(), total);
    for (std::size_t s = 0; s < timings.size(); ++s) {
      std::printf("  %2zu %-20s %9.1f ms\n", s + 1, timings[s].op.c_str(), timings[s].ms);
    }
  }
  return 0;
}

}  // namespace

void add_pipeline_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto o = std::make_shared<PipelineOptions>();
  auto* cmd = app.add_subcommand("pipeline", "run one image through a JSON pipeline of steps");
  cmd->add_option("IN", o->input, "image file or DICOM folder");
  cmd->add_option("OUT", o->output,
                  "output file: .nii, .nii.gz, .nrrd, .mha or FILE.h5[:/DATASET]");
  cmd->add_option("--steps", o->steps, "pipeline JSON (docs/PIPELINES.md)");
  cmd->add_flag("--list-ops", o->list_ops, "print the ops and their parameters as JSON");
  cmd->add_option("--seed", o->seed,
                  "seed of the augmentation steps (replaces their \"seed\"; with --item)");
  cmd->add_option("--item", o->item, "the image's index in its cohort (augmentation draws)");
  cmd->add_option("--drawn", o->drawn, "write what the augmentation steps drew (JSON)");
  cmd->callback([&action, &global, o] {
    action = [&global, o] { return on_rank_zero([&] { return run_pipeline(*o, global); }); };
  });
}

}  // namespace medimg::cli
