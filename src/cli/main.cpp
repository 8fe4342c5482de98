// medimg: command-line front end. Parses arguments (CLI11), initialises
// MPI/Kokkos once, runs one subcommand, and turns any medimg::Error into one
// line on stderr and exit code 1.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <thread>

#include <unistd.h>

#include "commands.hpp"
#include "medimg/config.hpp"
#include "medimg/core/error.hpp"
#include "medimg/core/message.hpp"
#include "medimg/core/scope_guard.hpp"
#include "medimg/core/warning.hpp"
#include "medimg/io/image_io.hpp"
#if MEDIMG_HAS_MPI
#include <mpi.h>
#endif

int main(int argc, char** argv) {
  using namespace medimg;
  // A write past the file-size limit (ulimit -f, a batch system's
  // RLIMIT_FSIZE) then fails with EFBIG, which the writer reports as one
  // line and cleans up after, instead of SIGXFSZ ending the process with its
  // temporary file left behind (CPython ignores it the same way).
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"medimg: medical image geometry on any hardware (Kokkos, ITK-exact)", "medimg"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("medimg ") + MEDIMG_VERSION_STRING);
  cli::GlobalOptions global;
  bool show_backend = false;
  app.add_option("--threads", global.threads,
                 "host threads for Kokkos (default: OMP_NUM_THREADS or all cores)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--backend", show_backend, "print the Kokkos execution space in use");
  app.add_flag("--quiet", global.quiet, "print only errors");
  std::string nifti_xform = "auto";
  app.add_option("--nifti-xform", nifti_xform,
                 "NIfTI placement: auto (nibabel's rule: sform if set, else qform), sform or qform")
      ->check(CLI::IsMember({"auto", "sform", "qform"}));
  int compression_level = default_compression_level();
  app.add_option("--compression-level", compression_level,
                 "gzip level of .nii.gz outputs, 1 (fastest, default) .. 9 (smallest)")
      ->check(CLI::Range(1, 9));
  bool nifti2 = false;
  app.add_flag("--nifti2", nifti2, "write .nii / .nii.gz outputs as NIfTI-2");

  cli::Action action;
  cli::add_info_command(app, global, action);
  cli::add_convert_command(app, global, action);
  cli::add_demo_command(app, global, action);
  cli::add_resample_command(app, global, action);
  cli::add_reorient_command(app, global, action);
  cli::add_rotate_command(app, global, action);
  cli::add_crop_command(app, global, action);
  cli::add_pad_command(app, global, action);
  cli::add_translate_command(app, global, action);
  cli::add_scale_command(app, global, action);
  cli::add_resize_command(app, global, action);
  cli::add_flip_command(app, global, action);
  cli::add_affine_command(app, global, action);
  cli::add_register_command(app, global, action);
  cli::add_pipeline_command(app, global, action);
  cli::add_preview_command(app, global, action);
  cli::add_batch_command(app, global, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  set_default_nifti_xform(nifti_xform == "sform"   ? NiftiXform::sform
                          : nifti_xform == "qform" ? NiftiXform::qform
                                                   : NiftiXform::automatic);
  set_default_compression_level(compression_level);
  set_default_nifti2(nifti2);
  if (global.quiet) set_warning_handler([](const std::string&) {});

  // A batch runs OpenMP kernels while its reader and writer threads decode
  // and encode files: OpenMP threads spinning at barriers (libgomp's
  // default) take the cores those threads need (40-scan cohort, 2 cores:
  // 7.8 s -> 3.3-4.7 s, docs/BATCH.md). The runtime reads OMP_WAIT_POLICY
  // when it loads, so a batch re-executes itself once with the passive
  // policy, unless the user chose one.
  if (app.got_subcommand("batch") && std::getenv("OMP_WAIT_POLICY") == nullptr &&
      std::getenv("GOMP_SPINCOUNT") == nullptr) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);  // returns only if it failed: run on as we are
  }
  // Other commands keep libgomp's spinning (short regions back to back stay
  // warm) and pin their threads one to a CPU when they fill the process's
  // CPUs, so that a region's threads never share one (cpu_pinning.hpp), unless
  // the user binds them; a batch, passive, is left as it is.
  const bool pin = !app.got_subcommand("batch") && std::getenv("OMP_PROC_BIND") == nullptr &&
                   std::getenv("OMP_PLACES") == nullptr;
  // Kokkos' OpenMP backend warns on every start when OMP_PROC_BIND is unset;
  // a user who sets it keeps their value.
  setenv("OMP_PROC_BIND", "false", 0);
  // Under mpiexec every rank fails together (errors are agreed) and rank 0
  // reports, before MPI is finalised: mpiexec kills the job once a rank
  // exits non-zero, so rank 0 must have printed by then.
  bool report = true;
  try {
    // MPI only under a launcher (or MEDIMG_MPI=1), and for demo --distributed.
    const bool needs_mpi = app.got_subcommand("demo") &&
                           app.get_subcommand("demo")->get_option("--distributed")->as<bool>();
    ScopeGuard guard(
        argc, argv,
        RuntimeOptions{global.threads, -1,
                       needs_mpi ? MpiStartup::always : MpiStartup::when_launched, pin});
#if MEDIMG_HAS_MPI
    int rank = 0;
    rank = world_rank();
    report = rank == 0;
#endif
    if (show_backend && !global.quiet && report) {
      std::cout << "backend: " << describe_backend() << "\n";
    }
    try {
      return action();
    } catch (const Error& e) {
      if (report) std::cerr << "medimg: error: " << one_line(e.what()) << std::endl;
      // The other ranks linger a moment before exiting non-zero: mpiexec
      // aborts the job at the first failing rank and can drop rank 0's
      // line still being forwarded. (Not a barrier: a rank-0-only command
      // such as `info` must not wait for ranks that already finished.)
      if (!report) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  } catch (const Error& e) {
    if (report) std::cerr << "medimg: error: " << one_line(e.what()) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "medimg: internal error: " << one_line(e.what()) << "\n";
  }
  return EXIT_FAILURE;
}
