// medimg batch --manifest cohort.csv --steps steps.json --out-dir DIR
//              [--resume] [--jobs-per-rank N] [--previews] [--format EXT]
//              [--memory-limit BYTES] [--progress-interval S]
//              [--seed S] [--repeat K]
// The cohort runner (include/medimg/pipeline/batch.hpp, docs/BATCH.md); run
// it under `mpiexec -n P` to share the items between P ranks. Exit code 1
// when an item failed (the others are still written).
#include <iostream>

#include "commands.hpp"
#include "medimg/pipeline/batch.hpp"

namespace medimg::cli {

void add_batch_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto o = std::make_shared<BatchOptions>();
  auto* cmd = app.add_subcommand("batch", "run a pipeline over every image of a manifest");
  cmd->add_option("--manifest", o->manifest, "CSV: input[,output][,modality][,...]")->required();
  cmd->add_option("--steps", o->steps, "pipeline JSON (docs/PIPELINES.md)")->required();
  cmd->add_option("--out-dir", o->out_dir, "output folder (created)")->required();
  cmd->add_flag("--resume", o->resume, "skip items whose output exists and reads back complete");
  cmd->add_option("--jobs-per-rank", o->jobs_per_rank,
                  "items read ahead (and written behind) per rank")
      ->capture_default_str();
  cmd->add_flag("--previews", o->previews, "before/after pictures and report.html thumbnails");
  cmd->add_option("--format", o->extension, "output format of unnamed outputs")
      ->capture_default_str();
  cmd->add_option("--memory-limit", o->memory_limit,
                  "bytes one rank may use (default: free device memory)");
  cmd->add_option("--progress-interval", o->progress_interval,
                  "seconds between progress lines when stderr is not a terminal")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of the augmentation steps (each item draws its own)")
      ->capture_default_str();
  cmd->add_option("--repeat", o->repeat, "augmented copies per input (NAME_augC.EXT)")
      ->capture_default_str();
  cmd->callback([&action, &global, o] {
    action = [&global, o] {
      o->quiet = global.quiet;
      const BatchResult result = run_batch(*o, std::cout, std::cerr);
      return result.failed > 0 ? 1 : 0;
    };
  });
}

}  // namespace medimg::cli
