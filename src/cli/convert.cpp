// medimg convert IN OUT [--type T] [--compress]: any readable format to
// NIfTI / NRRD / MetaImage / HDF5 (FILE.h5:/DATASET), optionally changing
// the pixel type (integers round to nearest and clamp). Under mpiexec with
// P > 1 ranks it runs distributed: HDF5 is read and written in parallel,
// other formats through rank 0, and --type casts each rank's slab.
#include <iostream>

#include "commands.hpp"
#include "medimg/config.hpp"
#include "medimg/core/scope_guard.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/ops/cast.hpp"
#if MEDIMG_HAS_MPI
#include <mpi.h>

#include "medimg/dist/image_io.hpp"
#endif

namespace medimg::cli {

#if MEDIMG_HAS_MPI
namespace {

// Each rank casts its owned planes (pixel_cast: integers round and clamp).
AnyDistributedImage<DeviceMemory> cast_distributed(const AnyDistributedImage<DeviceMemory>& image,
                                                   PixelType type) {
  return std::visit(
      [&](const auto& typed) {
        return visit_pixel_type(type, [&](auto zero) -> AnyDistributedImage<DeviceMemory> {
          using Out = decltype(zero);
          DistributedImage<Out, DeviceMemory> out(typed.comm(), typed.geometry(), 0, false);
          out.metadata() = typed.metadata();
          const auto in = typed.owned();
          const auto result = out.owned();
          using In = typename decltype(in)::non_const_value_type;
          // A functor: nvcc rejects a KOKKOS_LAMBDA inside these generic lambdas.
          Kokkos::parallel_for(
              "medimg::cast_distributed",
              Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                  0, static_cast<std::int64_t>(in.size())),
              impl::CastVoxels<Out, In>{in.data(), result.data()});
          Kokkos::fence();
          return out;
        });
      },
      image);
}

}  // namespace
#endif

void add_convert_command(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd = app.add_subcommand("convert", "convert between formats and pixel types");
  struct Options {
    std::string input, output, type, series;
    bool compress = false;
  };
  auto options = std::make_shared<Options>();
  cmd->add_option("IN", options->input, "image file or DICOM folder")->required();
  cmd->add_option("OUT", options->output,
                  "output file: .nii, .nii.gz, .nrrd, .mha or FILE.h5[:/DATASET]")
      ->required();
  cmd->add_option("--type", options->type, "uint8|int16|uint16|int32|float32|float64");
  cmd->add_option("--series", options->series,
                  "DICOM folder: the series to read (its id from medimg info: the UID, or UID#n)");
  cmd->add_flag("--compress", options->compress, "gzip/zlib-compress NRRD and MetaImage output");
  cmd->callback([&action, &global, options] {
    action = [&global, options] {
      // Fail on a bad --type or output path before reading a large input.
      const bool retype = !options->type.empty();
      const PixelType type = retype ? parse_pixel_type(options->type) : PixelType::float32;
      check_output_path(options->output);
#if MEDIMG_HAS_MPI
      int rank = 0, ranks = 1;
      rank = world_rank();
      ranks = world_size();
      if (ranks > 1) {
        auto image = load_distributed(MPI_COMM_WORLD, options->input, LoadOptions{options->series});
        const PixelType from = std::visit(
            [](const auto& d) {
              return pixel_type_of<typename std::decay_t<decltype(d)>::value_type>();
            },
            image);
        if (retype && type != from) image = cast_distributed(image, type);
        save_distributed(image, options->output, SaveOptions{options->compress});
        if (!global.quiet && rank == 0) {
          std::cout << options->input << " -> " << options->output << " ("
                    << to_string(retype ? type : from) << ", on " << ranks << " MPI ranks)\n";
        }
        return 0;
      }
#endif
      // The input file's own pages where it is a plain NIfTI (no copy).
      MappedImage loaded = load_image_mapped(options->input, LoadOptions{options->series});
      AnyImage<HostMemory>& image = loaded.image;
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
