// medimg register FIXED MOVING --transform rigid|affine|... --metric mse|ncc|mattes
//   [--levels 3] [--optimizer rsgd|lbfgs] [--iterations N] [--learning-rate MM]
//   [--min-step MM] [--bins 50] [--interp linear] --out-transform T.tfm [--out RESAMPLED]
// Prints the metric at every iteration and each level's stop reason; writes
// the transform (fixed -> moving points, ITK text format) and, with --out,
// the moving image resampled onto the fixed grid (its own pixel type).
// Under mpiexec it runs on rank 0 only (the multi-level registration is a
// single-process pipeline; the distributed metric is the library's
// DistributedMetricFunction), the other ranks wait and share its exit code.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "image_command.hpp"
#include "medimg/core/scope_guard.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/io/transform_io.hpp"
#include "medimg/ops/cast.hpp"
#include "medimg/register/registration.hpp"
#if MEDIMG_HAS_MPI
#include <mpi.h>

#include "medimg/dist/distributed_image.hpp"
#endif

namespace medimg::cli {

namespace {

struct Options {
  std::string fixed, moving, transform = "rigid", metric = "mse", optimizer = "rsgd";
  std::string out_transform, out, interp = "linear", out_interp = "bspline";
  int levels = 3, iterations = 200, bins = 50;
  double learning_rate = 2.0, min_step = 1e-3;
};

int run_registration(const Options& o, const GlobalOptions& global) {
  RegistrationSettings s;
  s.transform = parse_transform_kind(o.transform);
  s.metric.metric = parse_metric(o.metric);
  s.metric.bins = o.bins;
  s.levels = o.levels;
  s.interp = parse_interp(o.interp);
  s.optimizer.kind = parse_optimizer(o.optimizer);
  s.optimizer.max_iterations = o.iterations;
  s.optimizer.learning_rate = o.learning_rate;
  s.optimizer.minimum_step = o.min_step;
  const Interp out_interp = parse_interp(o.out_interp);
  check_transform_path(o.out_transform);
  if (!o.out.empty()) check_output_path(o.out);
  const AnyImage<HostMemory> moving_any = load_image(o.moving);
  const auto fixed = to_memory_space<DeviceMemory>(load_image_as<float>(o.fixed));
  const auto moving = to_memory_space<DeviceMemory>(load_image_as<float>(o.moving));
  const auto exec = Kokkos::DefaultExecutionSpace();
  const RegistrationResult r =
      register_images(exec, fixed, moving, s, [&global](const IterationReport& it) {
        if (global.quiet) return;
        std::printf("%s level %d/%d iteration %3d  metric %.8g  step %.4g\n",
                    std::string(to_string(it.stage)).c_str(), it.level, it.levels, it.iteration,
                    it.value, it.step);
      });
  if (!global.quiet) {
    for (const LevelReport& l : r.levels) {
      std::printf(
          "%s level %d (shrink %d, sigma %.1f mm): %d iterations, metric %.8g, "
          "%.2f s; stopped: %s\n",
          std::string(to_string(l.stage)).c_str(), l.level, l.shrink, l.sigma_mm, l.iterations,
          l.value, l.seconds, l.stop_reason.c_str());
    }
    std::printf("register: %d iterations in %.2f s; %s parameters:", r.iterations, r.seconds,
                std::string(to_string(r.transform.kind())).c_str());
    for (double p : r.transform.parameters()) std::printf(" %.6g", p);
    std::printf("\n");
  }
  save_transform(r.transform, o.out_transform);
  if (!o.out.empty()) {
    const AffineTransform map = r.transform.affine();
    const AnyImage<HostMemory> resampled = std::visit(
        [&](const auto& typed) -> AnyImage<HostMemory> {
          const auto device = to_memory_space<DeviceMemory>(typed);
          return to_host(resample(exec, fixed.geometry(), device, map, out_interp, 0.0));
        },
        moving_any);
    save_image(resampled, o.out);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

void add_register_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "register",
      "find the transform that maps FIXED points onto MOVING points (rigid, affine ...)");
  cmd->add_option("FIXED", o->fixed, "fixed (reference) image")->required();
  cmd->add_option("MOVING", o->moving, "moving image")->required();
  cmd->add_option("--transform", o->transform,
                  "rigid|affine (affine runs rigid first)|translation|similarity|scale")
      ->capture_default_str();
  cmd->add_option("--metric", o->metric, "mse|ncc|mattes")->capture_default_str();
  cmd->add_option("--levels", o->levels, "pyramid levels (shrink 2^(L-1)..1)")
      ->capture_default_str();
  cmd->add_option("--optimizer", o->optimizer, "rsgd|lbfgs")->capture_default_str();
  cmd->add_option("--iterations", o->iterations, "maximum iterations per level")
      ->capture_default_str();
  cmd->add_option("--learning-rate", o->learning_rate, "first step, mm")->capture_default_str();
  cmd->add_option("--min-step", o->min_step, "stop below this step, mm")->capture_default_str();
  cmd->add_option("--bins", o->bins, "mattes histogram bins")->capture_default_str();
  cmd->add_option("--interp", o->interp, "moving-image interpolator in the metric")
      ->capture_default_str();
  cmd->add_option("--out-interp", o->out_interp, "interpolator of --out")->capture_default_str();
  cmd->add_option("--out-transform", o->out_transform, "transform file (.tfm, ITK text format)")
      ->required();
  cmd->add_option("--out", o->out, "moving image resampled onto the fixed grid");
  cmd->callback([&action, &global, o] {
    action = [&global, o] {
#if MEDIMG_HAS_MPI
      int rank = 0, ranks = 1;
      rank = world_rank();
      ranks = world_size();
      if (ranks > 1 && rank == 0 && !global.quiet) {
        std::printf("register: runs on rank 0 of %d (single-process registration)\n", ranks);
      }
#endif
      return on_rank_zero([&] { return run_registration(*o, global); });
    };
  });
}

}  // namespace medimg::cli
