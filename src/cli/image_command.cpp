#include "image_command.hpp"

#include <array>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "medimg/core/scope_guard.hpp"
#include "medimg/io/image_io.hpp"
#if MEDIMG_HAS_MPI
#include <mpi.h>

#include "medimg/dist/image_io.hpp"
#endif

namespace medimg::cli {

namespace {

struct Paths {
  std::string input, output, series;
};

#if MEDIMG_HAS_MPI
// The command over MPI_COMM_WORLD's ranks; rank 0 reports.
int run_distributed(const ImageOperation& operation, const Paths& paths, const std::string& name,
                    bool quiet) {
  const DistributedAny input =
      load_distributed(MPI_COMM_WORLD, paths.input, LoadOptions{paths.series});
  MPI_Barrier(MPI_COMM_WORLD);
  const double start = MPI_Wtime();
  const DistributedAny result = operation.distributed(input);
  Kokkos::fence();
  MPI_Barrier(MPI_COMM_WORLD);
  const double ms = 1e3 * (MPI_Wtime() - start);
  save_distributed(result, paths.output);
  const Geometry& in =
      std::visit([](const auto& d) -> const Geometry& { return d.geometry(); }, input);
  const Geometry& out =
      std::visit([](const auto& d) -> const Geometry& { return d.geometry(); }, result);
  int rank = 0, ranks = 1;
  rank = world_rank();
  ranks = world_size();
  if (!quiet && rank == 0) {
    std::cout << name << ": " << paths.input << " " << to_string(in.size()) << " -> "
              << paths.output << " " << to_string(out.size()) << ", " << out.orientation_code()
              << ", " << ms << " ms on " << ranks << " MPI ranks\n";
  }
  return 0;
}
#endif

}  // namespace

OutputBuffer::Provider MappedOutput::provider() {
  // MEDIMG_MAP_OUTPUT=0 writes outputs with write() instead (to compare).
  static const bool map = [] {
    const char* v = std::getenv("MEDIMG_MAP_OUTPUT");
    return !(v && v[0] == '0');
  }();
  return [this](PixelType type, const std::array<std::size_t, 3>& extents) -> void* {
    if (!map) return nullptr;
    m_mapping = NiftiOutputMapping::open(m_path, type, extents, SaveOptions{},
                                         Kokkos::DefaultHostExecutionSpace().concurrency());
    return m_mapping ? m_mapping->voxels() : nullptr;
  };
}

void MappedOutput::save(const AnyImage<HostMemory>& result) {
  if (m_mapping && m_mapping->holds(result)) {
    m_mapping->commit(result);
  } else {
    save_image(result, m_path);
  }
}

CLI::App* add_image_command(CLI::App& app, const std::string& name, const std::string& description,
                            const GlobalOptions& global, Action& action,
                            std::function<ImageOperation()> make_operation) {
  auto paths = std::make_shared<Paths>();
  auto* cmd = app.add_subcommand(name, description);
  cmd->add_option("IN", paths->input, "image file or DICOM folder")->required();
  cmd->add_option("OUT", paths->output,
                  "output file: .nii, .nii.gz, .nrrd, .mha or FILE.h5[:/DATASET]")
      ->required();
  cmd->add_option("--series", paths->series,
                  "DICOM folder: the series to read (its id from medimg info: the UID, or UID#n)");
  cmd->callback([&action, &global, paths, make_operation, name] {
    action = [&global, paths, make_operation, name] {
      const ImageOperation operation = make_operation();
      check_output_path(paths->output);
#if MEDIMG_HAS_MPI
      int ranks = 1;
      ranks = world_size();
      if (ranks > 1) return run_distributed(operation, *paths, name, global.quiet);
#endif
      // A .nii output is written where the kernel puts it (MappedOutput);
      // `output` outlives `result`.
      MappedOutput output(paths->output);
      // The input file's own pages where it is a plain NIfTI (no copy):
      // `mapping` outlives every use of them, the result's included (an
      // operation may give back its input's voxels). A read image (a
      // .nii.gz, DICOM, ...) owns its voxels and is given back before the
      // result is written, unless the result holds them: the peak is then
      // the larger of input + output and output + the writer's buffers
      // (a rotation of the 101 MB float ch2 .nii.gz: 220-225 MiB with
      // the input kept, the compressing writer's blocks on top).
      std::shared_ptr<void> mapping;
      Size3 in_size{};
      DeviceImage result;
      double ms = 0.0;
      {
        MappedImage loaded = load_image_mapped(paths->input, LoadOptions{paths->series});
        mapping = loaded.mapping;
        const auto input = to_memory_space<DeviceMemory>(loaded.image);
        in_size = geometry(input).size();
        const auto start = std::chrono::steady_clock::now();
        {
          const OutputBuffer::Scope output_buffer(output.provider());
          result = operation.serial(input);
        }
        Kokkos::fence();
        ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                 .count();
      }
      output.save(to_memory_space<HostMemory>(result));
      if (!global.quiet) {
        std::cout << name << ": " << paths->input << " " << to_string(in_size) << " -> "
                  << paths->output << " " << to_string(geometry(result).size()) << ", "
                  << geometry(result).orientation_code() << ", " << ms << " ms\n";
      }
      return 0;
    };
  });
  return cmd;
}

int on_rank_zero(const std::function<int()>& command) {
#if MEDIMG_HAS_MPI
  int rank = 0, ranks = 1;
  rank = world_rank();
  ranks = world_size();
  if (ranks > 1) {
    int code = 0;
    impl::collectively(impl::world_comm(), [&] {
      if (rank == 0) code = command();
    });
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return code;
  }
#endif
  return command();
}

void add_interp_option(CLI::App* cmd, std::string& interp, const std::string& fallback) {
  interp = fallback;
  cmd->add_option("--interp", interp, "nearest|linear|bspline")->capture_default_str();
}

void add_fill_option(CLI::App* cmd, double& fill) {
  cmd->add_option("--fill", fill, "value for points outside the input")->capture_default_str();
}

Vec3 to_vec3(const std::vector<double>& values, const std::string& option) {
  if (values.size() != 3) {
    throw Error(option + " needs 3 comma-separated numbers, got " + std::to_string(values.size()));
  }
  return Vec3{values[0], values[1], values[2]};
}

Size3 to_size3(const std::vector<std::int64_t>& values, const std::string& option) {
  if (values.size() != 3) {
    throw Error(option + " needs 3 comma-separated integers, got " + std::to_string(values.size()));
  }
  return Size3{values[0], values[1], values[2]};
}

}  // namespace medimg::cli
