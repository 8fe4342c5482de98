// medimg demo [--out DIR] [--distributed]: the embedded default job.
// Synthesises a 3D Shepp-Logan phantom on an anisotropic (0.9 x 0.9 x 3 mm),
// oblique grid, writes it as NIfTI, reads it back, checks the round trip,
// prints `info` and runs a preprocessing pipeline. With --distributed (run
// it under `mpiexec -n P`) the pipeline then runs again on a DistributedImage
// over all ranks, is written with parallel HDF5, and is checked bit for bit
// against the single-process result. Under mpiexec the single-process part
// runs on rank 0 only. The demo ends with a small cohort batch (3 generated
// scans through `medimg batch`'s runner, with previews and report.html).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "medimg/config.hpp"
#include "medimg/core/scope_guard.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/ops/change_orientation.hpp"
#include "medimg/ops/crop.hpp"
#include "medimg/ops/intensity.hpp"
#include "medimg/ops/phantom.hpp"
#include "medimg/ops/resample_to_spacing.hpp"
#include "medimg/ops/rotate.hpp"
#include "medimg/pipeline/batch.hpp"
#include "medimg/transform/affine.hpp"
#if MEDIMG_HAS_MPI
#include <mpi.h>

#include <cstring>

#include "medimg/dist/ops.hpp"
#if MEDIMG_HAS_HDF5
#include "medimg/dist/hdf5.hpp"
#endif
#endif

namespace medimg::cli {

namespace {

// Rotation by 20 degrees about the physical S axis, then 10 about L: an
// oblique direction like a tilted clinical acquisition.
Mat3 demo_direction() {
  const Vec3 origin{0.0, 0.0, 0.0};
  return multiply(AffineTransform::rotation(Vec3{1.0, 0.0, 0.0}, 10.0, origin).matrix(),
                  AffineTransform::rotation(Vec3{0.0, 0.0, 1.0}, 20.0, origin).matrix());
}

double max_geometry_difference(const Geometry& a, const Geometry& b) {
  double worst = 0.0;
  for (int r = 0; r < 3; ++r) {
    worst = std::max(worst, std::abs(a.origin()[r] - b.origin()[r]));
    worst = std::max(worst, std::abs(a.spacing()[r] - b.spacing()[r]));
    for (int c = 0; c < 3; ++c) {
      worst = std::max(worst, std::abs(a.direction()[r][c] - b.direction()[r][c]));
    }
  }
  return worst;
}

// Runs `step`, waits for the device, prints its time and the result's grid.
template <class Step>
auto timed(const char* name, bool quiet, Step&& step) {
  const auto start = std::chrono::steady_clock::now();
  auto result = step();
  Kokkos::fence();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!quiet) {
    std::printf("   %-34s %8.2f ms  -> size %s, spacing %s, %s\n", name, ms,
                to_string(result.geometry().size()).c_str(),
                to_string(result.geometry().spacing()).c_str(),
                result.geometry().orientation_code().c_str());
  }
  return result;
}

// Reorient, resample to 1 mm, rotate (B-spline), crop: on an Image or a
// DistributedImage alike.
template <class Img>
Img pipeline(const Img& phantom, bool quiet) {
  const auto ras =
      timed("reorient to RAS", quiet, [&] { return change_orientation(phantom, "RAS"); });
  const auto iso = timed("resample to 1 mm isotropic (linear)", quiet, [&] {
    return resample_to_spacing(ras, Vec3{1.0, 1.0, 1.0}, Interp::linear);
  });
  const auto turned = timed("rotate 10 deg about k (B-spline)", quiet,
                            [&] { return rotate(iso, Axis::k, 10.0, Interp::bspline); });
  const Size3& n = turned.geometry().size();
  const Size3 keep{n[0] * 3 / 4, n[1] * 3 / 4, n[2] * 3 / 4};
  return timed("crop the central 3/4", quiet, [&] {
    return crop(turned, Size3{(n[0] - keep[0]) / 2, (n[1] - keep[1]) / 2, (n[2] - keep[2]) / 2},
                keep);
  });
}

#if MEDIMG_HAS_MPI
// The pipeline on k-slabs over every rank, checked against `expected`
// (rank 0's single-process result).
void distributed_pipeline(const Image<float>& phantom, const Image<float>& expected,
                          const std::string& out_dir, bool quiet) {
  int rank = 0, ranks = 1;
  rank = world_rank();
  ranks = world_size();
  const bool talk = !quiet && rank == 0;
  if (talk) {
    std::cout << "\n6. the same pipeline distributed: k-slabs over " << ranks
              << " MPI rank(s), halo/box exchange between them\n";
  }
  const auto slabs = distribute<float>(MPI_COMM_WORLD, to_host(phantom), 0,
                                       default_ghosts(phantom.geometry().size()[2], ranks));
  comm_stats() = CommStats{};
  const auto result = pipeline(slabs, !talk);
  double sent[2] = {comm_stats().bytes_sent, comm_stats().seconds};
  MPI_Allreduce(MPI_IN_PLACE, sent, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
#if MEDIMG_HAS_HDF5
  const std::string h5 = (std::filesystem::path(out_dir) / "phantom_pipeline.h5").string();
  save_hdf5(result, h5, "/pipeline");
  if (talk)
    std::cout << "7. wrote " << h5 << ":/pipeline with parallel HDF5 (each rank its slab)\n";
#else
  (void)out_dir;
#endif
  const auto whole = gather(result, 0);
  int identical = 1;
  if (rank == 0) {
    const auto serial = to_host(expected);
    identical =
        whole.geometry().same_grid(serial.geometry(), 0.0) &&
        std::memcmp(whole.voxels().data(), serial.voxels().data(),
                    sizeof(float) * static_cast<std::size_t>(serial.geometry().voxel_count())) == 0;
  }
  MPI_Bcast(&identical, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (talk) {
    std::printf(
        "8. gathered result identical to the single-process one: %s; at most %.1f MiB "
        "sent by a rank, %.2f ms in exchanges\n",
        identical ? "yes (bit for bit)" : "NO", sent[0] / (1 << 20), 1e3 * sent[1]);
  }
  if (!identical) throw Error("demo: the distributed pipeline differs from the single-process one");
}
#endif

// A few CT-like scans (the phantom in Hounsfield-like int16 on different
// grids: LPS, RAS, oblique), a manifest and the standard pipeline, run with
// `medimg batch`'s runner (on every rank under mpiexec), with previews.
int small_batch(const std::string& out_dir, int rank, bool quiet) {
  namespace fs = std::filesystem;
  const fs::path cohort = fs::path(out_dir) / "cohort";
  const fs::path manifest = cohort / "manifest.csv";
  const fs::path steps = cohort / "steps.json";
  const auto prepare = [&] {
    if (rank != 0) return;
    fs::create_directories(cohort);
    std::ofstream list(manifest);
    list << "input,modality\n";
    const Mat3 directions[3] = {identity_matrix(), direction_from_code("RAS"), demo_direction()};
    for (int s = 0; s < 3; ++s) {
      const Geometry g(Size3{96, 96, 30 + 5 * s}, Vec3{-80.0, -80.0, -60.0},
                       Vec3{1.6 + 0.1 * s, 1.6 + 0.1 * s, 3.0 + 0.5 * s}, directions[s]);
      const auto hu =
          cast<std::int16_t>(rescale_slope_intercept(shepp_logan_phantom(g), 5000.0, -1000.0));
      const fs::path path = cohort / ("scan" + std::to_string(s) + ".nii.gz");
      save_image(hu, path.string());
      list << fs::absolute(path).string() << ",CT\n";
    }
    std::ofstream(steps) << R"({"medimg_pipeline": 1, "steps": [
  {"op": "reorient", "orientation": "RAS"},
  {"op": "resample_to_spacing", "spacing": [1.5, 1.5, 1.5], "interp": "linear"},
  {"op": "crop_or_pad", "size": [112, 112, 112], "value": -1024},
  {"op": "window", "level": 40, "width": 400},
  {"op": "z_score"}]}
)";
  };
#if MEDIMG_HAS_MPI
  impl::collectively(impl::world_comm(), prepare);
#else
  prepare();
#endif
  if (!quiet && rank == 0) {
    std::cout << "\n8. a small cohort batch: 3 generated scans (LPS, RAS, oblique), "
              << steps.string() << "\n";
  }
  BatchOptions options;
  options.manifest = manifest.string();
  options.steps = steps.string();
  options.out_dir = (fs::path(out_dir) / "batch").string();
  options.previews = true;
  options.progress_interval = 0.0;
  options.quiet = quiet;
  const BatchResult result = run_batch(options, std::cout, std::cerr);
  if (!quiet && rank == 0) {
    std::cout << "9. open " << (fs::path(out_dir) / "batch" / "report.html").string()
              << " for the table and the before/after pictures\n";
  }
  if (result.failed > 0)
    throw Error("demo batch: " + std::to_string(result.failed) + " items failed");
  return 0;
}

}  // namespace

void add_demo_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd =
      app.add_subcommand("demo", "synthesise a phantom, write it, read it back, print info");
  auto out_dir = std::make_shared<std::string>("medimg-demo");
  cmd->add_option("--out", *out_dir, "folder for the demo's files (created)")
      ->capture_default_str();
  auto distributed = std::make_shared<bool>(false);
  cmd->add_flag("--distributed", *distributed,
                "also run the pipeline distributed over MPI ranks (use under mpiexec -n P)");
  cmd->callback([&action, &global, out_dir, distributed] {
    action = [&global, out_dir, distributed] {
      int rank = 0;
#if MEDIMG_HAS_MPI
      rank = world_rank();
#else
      if (*distributed) throw Error("demo --distributed: medimg was built without MPI");
#endif
      const auto single = [&] {
        std::filesystem::create_directories(*out_dir);
        const std::string path = (std::filesystem::path(*out_dir) / "phantom.nii.gz").string();
        const Geometry geometry(Size3{128, 128, 48}, Vec3{-60.0, -70.0, -65.0}, Vec3{0.9, 0.9, 3.0},
                                demo_direction());
        if (!global.quiet) {
          std::cout << "medimg demo on " << describe_backend() << "\n"
                    << "1. synthesising a 3D Shepp-Logan phantom, size "
                    << to_string(geometry.size()) << ", spacing " << to_string(geometry.spacing())
                    << " mm, orientation " << geometry.orientation_code() << " (oblique)\n";
        }
        const auto phantom = shepp_logan_phantom(geometry);
        save_image(phantom, path);
        if (!global.quiet) std::cout << "2. wrote " << path << "\n";

        const AnyImage<HostMemory> loaded = load_image(path);
        const auto& back = std::get<Image<float, HostMemory>>(loaded);
        const auto original = to_host(phantom);
        std::int64_t differing = 0;
        for (std::int64_t n = 0; n < geometry.voxel_count(); ++n) {
          if (back.voxels().data()[n] != original.voxels().data()[n]) ++differing;
        }
        const double geometry_error = max_geometry_difference(geometry, back.geometry());
        if (!global.quiet) {
          std::cout << "3. read it back: " << differing << " voxels differ, geometry max |diff| "
                    << geometry_error << " (NIfTI stores geometry as float32)\n\n";
        }
        print_info(loaded, path, false);
        if (differing != 0 || geometry_error > 1e-5) {
          throw Error("demo round trip through '" + path + "' changed the image");
        }

        const bool quiet = global.quiet;
        if (!quiet) std::cout << "\n4. a preprocessing pipeline on the device:\n";
        const auto cropped = pipeline(phantom, quiet);
        const std::string result_path =
            (std::filesystem::path(*out_dir) / "phantom_pipeline.nii.gz").string();
        save_image(cropped, result_path);
        if (!quiet) std::cout << "5. wrote " << result_path << "\n";
        return cropped;
      };
      Image<float> expected;
      const bool quiet = global.quiet;
#if MEDIMG_HAS_MPI
      impl::collectively(impl::world_comm(), [&] {
        if (rank == 0) expected = single();
      });
      if (*distributed) {
        const Geometry geometry(Size3{128, 128, 48}, Vec3{-60.0, -70.0, -65.0}, Vec3{0.9, 0.9, 3.0},
                                demo_direction());
        distributed_pipeline(shepp_logan_phantom(geometry), expected, *out_dir, quiet);
      }
#else
      (void)rank;
      expected = single();
#endif
      return small_batch(*out_dir, rank, quiet);
    };
  });
}

}  // namespace medimg::cli
