// Whether a batch may start (src/pipeline/batch_parts.hpp, check_plan): the
// pipeline's peak memory per item against what a rank may use, and the
// outputs' least size against the output folder's free space.
#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <sstream>
#include <string>

#include "batch_parts.hpp"
#include "batch_team.hpp"
#include "medimg/core/device_memory.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/image_io.hpp"

namespace medimg::batch_detail {

namespace {

namespace fs = std::filesystem;

std::string gib(double bytes) {
  std::ostringstream s;
  const double mib = bytes / (1024.0 * 1024.0);
  if (mib < 1024.0) {
    s << std::fixed << std::setprecision(1) << mib << " MiB";
  } else {
    s << std::fixed << std::setprecision(2) << mib / 1024.0 << " GiB";
  }
  return s.str();
}

// The least space the outputs can take: their voxel bytes for uncompressed
// formats; for compressed ones (.nii.gz, .hdr.gz, .img.gz, and .nrrd, .mha
// and .h5 only if they compress, which batch outputs do not) deflate's
// largest possible ratio, 1032:1. Refusing below that is never wrong;
// anything above it may still fill the disk, and then the item's write fails
// with the system's message.
std::uint64_t least_output_bytes(const std::string& output, const ImageShape& result) {
  const std::uint64_t bytes =
      static_cast<std::uint64_t>(result.grid.voxel_count()) * pixel_size(result.type) + 352;
  const std::string ext = format_extension(output);
  const bool compressed = ext == ".nii.gz" || ext == ".hdr.gz" || ext == ".img.gz";
  return compressed ? bytes / 1032 : bytes;
}

// Free bytes for an unprivileged writer in `folder` (or in the nearest
// folder above it that exists); 0 when the system cannot say.
std::uint64_t free_bytes(fs::path folder) {
  std::error_code ec;
  folder = fs::absolute(folder, ec);
  while (!folder.empty() && !fs::exists(folder, ec) && folder != folder.parent_path()) {
    folder = folder.parent_path();
  }
  struct statvfs st {};
  if (::statvfs(folder.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

// The outputs must fit in the output folder's free space (see
// least_output_bytes); refuses to start otherwise.
void check_disk(const Team& team, const Context& c, std::uint64_t my_output_bytes,
                std::size_t my_outputs) {
  const std::uint64_t need = team.sum(my_output_bytes);
  const std::uint64_t outputs = team.sum(my_outputs);
  std::string message;
  if (team.rank == 0) {
    const std::uint64_t free = free_bytes(c.out_dir);
    if (free > 0 && need > free) {
      std::ostringstream s;
      s << "the output folder '" << c.out_dir.string() << "' has " << gib(static_cast<double>(free))
        << " free, and the " << outputs << " outputs to write need at least "
        << gib(static_cast<double>(need))
        << "; free space, choose another --out-dir, or write .nii.gz (--format)";
      message = s.str();
    }
  }
  team.together([&] {
    if (!message.empty()) throw Error("batch refuses to start: " + message);
  });
}

}  // namespace

void check_plan(const Team& team, const Context& c, std::ostream& out) {
  std::uint64_t need = 0, biggest_io = 0, output_bytes = 0;
  std::size_t worst = 0, outputs = 0;
  for (std::size_t i = static_cast<std::size_t>(team.rank); i < c.rows.size();
       i += static_cast<std::size_t>(team.ranks)) {
    try {
      const ImageHeader h = read_image_header(c.rows[i].input);
      const ImageShape in{h.geometry, h.type};
      const std::uint64_t peak = c.pipeline.peak_bytes(in);
      const ImageShape result = c.pipeline.shapes(in).back();
      const std::uint64_t io = std::max<std::uint64_t>(
          static_cast<std::uint64_t>(in.grid.voxel_count()) * pixel_size(in.type),
          static_cast<std::uint64_t>(result.grid.voxel_count()) * pixel_size(result.type));
      biggest_io = std::max(biggest_io, io);
      if (!(c.options.resume && fs::exists(output_path(c, i)))) {
        output_bytes += least_output_bytes(c.rows[i].output, result);
        ++outputs;
      }
      if (peak > need) {
        need = peak;
        worst = i;
      }
    } catch (const std::exception&) {
      // Unreadable or refused by a step: the item fails when it runs.
    }
  }
  // The host buffers in flight: read-ahead and pending writes.
  const std::uint64_t in_flight =
      static_cast<std::uint64_t>(2 * c.options.jobs_per_rank) * biggest_io;
  const bool gpu = visible_gpu_count() > 0;
  std::uint64_t limit = c.options.memory_limit;
  if (limit == 0) {
    const std::uint64_t available = available_device_memory();
    limit = gpu ? available : available / static_cast<std::uint64_t>(team.node_ranks);
  }
  const std::uint64_t total = gpu ? need : need + in_flight;
  std::string message;
  if (limit > 0 && total > limit) {
    std::ostringstream s;
    s << "item " << c.rows[worst].row << " ('" << c.rows[worst].input << "') needs "
      << gib(static_cast<double>(need)) << " at the pipeline's peak"
      << (gpu ? ""
              : " plus " + gib(static_cast<double>(in_flight)) +
                    " of read-ahead/write-behind buffers")
      << ", more than the " << gib(static_cast<double>(limit)) << " this rank may use ("
      << (c.options.memory_limit ? "--memory-limit"
          : gpu                  ? "free device memory"
                                 : "MemAvailable / ranks on the node")
      << "); use fewer ranks per node, a smaller --jobs-per-rank, or crop/resample the item first";
    message = s.str();
  }
  team.together([&] {
    if (!message.empty()) throw Error("batch refuses to start: " + message);
  });
  check_disk(team, c, output_bytes, outputs);
  const std::uint64_t peak_all = team.max(need);
  if (team.rank == 0 && !c.options.quiet) {
    out << "batch: memory plan: largest item peak " << gib(static_cast<double>(peak_all))
        << " per rank" << (limit > 0 ? ", limit " + gib(static_cast<double>(limit)) : "") << "\n";
  }
}

}  // namespace medimg::batch_detail
