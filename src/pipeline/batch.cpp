// The batch runner (medimg/pipeline/batch.hpp): each rank's loop over the
// items it claims, reading ahead and writing behind the compute on the
// device. Whether a run may start is batch_plan.cpp; the ranks' counter and
// collectives batch_team.hpp; the manifest manifest.cpp; the reports
// batch_report.cpp.
#include "medimg/pipeline/batch.hpp"
#include "medimg/core/cpu_pinning.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "batch_parts.hpp"
#include "batch_team.hpp"
#include "medimg/config.hpp"
#include "medimg/core/device_memory.hpp"
#include "medimg/core/voxel_pool.hpp"  // stats only
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/hdf5_io.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/ops/preview.hpp"
#include "medimg/pipeline/pipeline.hpp"

namespace medimg {

using batch_detail::check_plan;
using batch_detail::Context;
using batch_detail::output_path;
using batch_detail::stem_of;
using batch_detail::Team;
using batch_detail::with_repeats;
using batch_detail::WorkCounter;
using batch_detail::write_reports;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// --- progress ----------------------------------------------------------

class Progress {
 public:
  Progress(std::ostream& out, std::int64_t total, double interval, bool enabled)
      : m_out(out),
        m_total(total),
        m_interval(interval),
        m_enabled(enabled),
        m_tty(isatty(STDERR_FILENO) != 0),
        m_start(Clock::now()),
        m_last(m_start) {}

  void show(std::int64_t finished, std::int64_t failed, bool last = false) {
    if (!m_enabled) return;
    const double elapsed = std::chrono::duration<double>(Clock::now() - m_start).count();
    const double since = std::chrono::duration<double>(Clock::now() - m_last).count();
    if ((finished == m_shown || finished == 0) && !(last && m_tty)) return;
    if (!m_tty && !last && since < m_interval && finished != m_total) return;
    m_last = Clock::now();
    m_shown = finished;
    const double rate = elapsed > 0 ? static_cast<double>(finished) / elapsed : 0.0;
    const double eta = rate > 0 ? static_cast<double>(m_total - finished) / rate : 0.0;
    std::ostringstream line;
    line << finished << "/" << m_total << " items, " << failed << " failed, " << std::fixed
         << std::setprecision(2) << rate << " items/s, ETA " << std::setprecision(0) << eta << " s";
    if (m_tty) {
      const int width = 30;
      const int filled = m_total > 0 ? static_cast<int>(width * finished / m_total) : width;
      m_out << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
            << std::string(static_cast<std::size_t>(width - filled), '.') << "] " << line.str()
            << "   " << (last ? "\n" : "") << std::flush;
    } else {
      m_out << "batch: " << line.str() << "\n" << std::flush;
    }
  }

 private:
  std::ostream& m_out;
  std::int64_t m_total;
  double m_interval;
  bool m_enabled, m_tty;
  Clock::time_point m_start, m_last;
  std::int64_t m_shown = -1;
};

// --- one item ----------------------------------------------------------

json geometry_json(const Geometry& g, PixelType type) {
  json size = json::array(), spacing = json::array();
  for (int a = 0; a < 3; ++a) {
    size.push_back(g.size()[a]);
    spacing.push_back(g.spacing()[a]);
  }
  return {{"size", size},
          {"spacing", spacing},
          {"orientation", g.orientation_code()},
          {"type", std::string(to_string(type))}};
}

// What the reader thread hands the compute loop.
struct Loaded {
  std::size_t index = 0;
  std::optional<AnyImage<HostMemory>> image;
  json row;           // the report row so far
  bool done = false;  // failed or skipped already
};

bool same_grid(const Geometry& a, const Geometry& b) {
  for (int c = 0; c < 3; ++c) {
    if (a.size()[c] != b.size()[c]) return false;
    if (std::abs(a.spacing()[c] - b.spacing()[c]) > 1e-4 * std::abs(b.spacing()[c])) return false;
  }
  return true;
}

std::string preview_name(const ManifestRow& row, const char* which) {
  return "previews/" + stem_of(row.output) + "." + which + ".png";
}

// The temporary files a killed run left (AtomicOutput names them; a process
// killed with SIGKILL cannot remove its own) in every folder this batch
// writes to: the output folder, its previews/ and each output's own folder.
std::size_t remove_stale_temporaries_of(const Context& c) {
  std::set<fs::path> folders{c.out_dir, c.out_dir / "previews"};
  for (std::size_t i = 0; i < c.rows.size(); ++i) folders.insert(output_path(c, i).parent_path());
  std::size_t removed = 0;
  for (const fs::path& folder : folders) removed += remove_stale_temporaries(folder.string());
  return removed;
}

// Resume: the existing output reads back completely and has the grid the
// pipeline gives this input.
std::string valid_output(const Context& c, std::size_t index, json& row) {
  const std::string path = output_path(c, index).string();
  const ImageHeader in = read_image_header(c.rows[index].input);
  const ImageShape expected = c.pipeline.shapes({in.geometry, in.type}).back();
  const AnyImage<HostMemory> out = load_image(path);
  if (pixel_type(out) != expected.type || !same_grid(geometry(out), expected.grid)) {
    return "its grid or pixel type is not what the pipeline gives";
  }
  row["input_geometry"] = geometry_json(in.geometry, in.type);
  row["output_geometry"] = geometry_json(geometry(out), pixel_type(out));
  return "";
}

Loaded load_item(const Context& c, std::size_t index) {
  Loaded l;
  l.index = index;
  const ManifestRow& m = c.rows[index];
  l.row = {{"row", m.row},   {"input", m.input},   {"output", m.output}, {"status", "failed"},
           {"rank", c.rank}, {"fields", m.fields}, {"item", m.item}};
  if (c.options.repeat > 1) l.row["copy"] = m.copy;
  const auto start = Clock::now();
  if (c.options.resume && fs::exists(output_path(c, index))) {
    try {
      const std::string problem = valid_output(c, index, l.row);
      if (problem.empty()) {
        l.row["status"] = "skipped";
        l.row["message"] = "output exists and is complete (--resume)";
        l.done = true;
        return l;
      }
      l.row["resume_note"] = "existing output recomputed: " + problem;
    } catch (const std::exception& e) {
      l.row["resume_note"] = std::string("existing output recomputed: ") + e.what();
    }
  }
  try {
    l.image = load_image(m.input);
    l.row["input_geometry"] = geometry_json(geometry(*l.image), pixel_type(*l.image));
    l.row["ms"] = {{"read", ms_since(start)}};
  } catch (const std::exception& e) {
    l.row["step"] = "read";
    l.row["message"] = e.what();
    l.done = true;
  }
  return l;
}

// The write of one result (and its pictures), run behind the compute loop.
json write_item(const Context& c, std::size_t index, AnyImage<HostMemory> result, json row,
                std::optional<RgbPicture> before, std::optional<RgbPicture> after) {
  const auto start = Clock::now();
  try {
    const fs::path path = output_path(c, index);
    fs::create_directories(path.parent_path());
    save_image(result, path.string());
    if (before && after) {
      const ManifestRow& m = c.rows[index];
      save_png(*before, (c.out_dir / preview_name(m, "before")).string());
      save_png(*after, (c.out_dir / preview_name(m, "after")).string());
      row["previews"] = {preview_name(m, "before"), preview_name(m, "after")};
    }
    row["status"] = "done";
  } catch (const std::exception& e) {
    row["status"] = "failed";
    row["step"] = "write";
    row["message"] = e.what();
  }
  row["ms"]["write"] = ms_since(start);
  return row;
}

void set_manifest_metadata(AnyImage<DeviceMemory>& image, const ManifestRow& row) {
  const auto modality = row.fields.find("modality");
  if (modality == row.fields.end() || modality->second.empty()) return;
  const Modality m = parse_modality(modality->second);
  std::visit([m](auto& typed) { typed.metadata().modality = m; }, image);
}

}  // namespace

namespace {

long minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// This rank's page faults over the run and its voxel pool figures (the
// report's "memory"; the pool is off in batch, see run_batch).
json memory_json(long faults_before) {
  const VoxelPool::Stats pool = VoxelPool::stats();
  return {{"pool_hits", pool.hits},
          {"pool_misses", pool.misses},
          {"pool_held_bytes", pool.held_bytes},
          {"minor_page_faults", minor_page_faults() - faults_before}};
}

}  // namespace

BatchResult run_batch(const BatchOptions& options, std::ostream& out, std::ostream& progress_out) {
  // Every item allocates images of about the same sizes: keep freed blocks
  // in the heap instead of returning them to the kernel (glibc maps blocks
  // over 32 MiB afresh each time, and the page faults of a fresh 64 MiB
  // output cost more than the ops that fill it).
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // (No VoxelPool here: a cohort's scans differ in size, and buffers held
  // for shapes that do not come back kept malloc from reusing their memory:
  // measured, fresh pages and their faults for every item.)
  const long faults_before = minor_page_faults();
  const Team team;
  const auto start = Clock::now();
  if (options.jobs_per_rank < 1 || options.jobs_per_rank > 64) {
    throw Error("--jobs-per-rank must be in [1, 64]");
  }
  if (options.repeat < 1 || options.repeat > 100000) {
    throw Error("--repeat must be in [1, 100000]");
  }
  std::vector<ManifestRow> rows;
  std::optional<Pipeline> pipeline;
  team.together([&] {
    if (!is_writable_format("x" + options.extension)) {
      throw Error("--format '" + options.extension +
                  "' is not a writable format (.nii.gz, .nii, .nrrd, .mha, .h5)");
    }
    pipeline = Pipeline::load(options.steps);
    rows = with_repeats(read_manifest(options.manifest, options.extension), options.repeat);
  });
  const Context context{options, *pipeline, rows, fs::path(options.out_dir), team.rank};
  check_plan(team, context, out);
  std::size_t stale_removed = 0;
  team.together([&] {
    if (team.rank == 0) {
      try {
        fs::create_directories(fs::path(options.out_dir) / (options.previews ? "previews" : ""));
      } catch (const fs::filesystem_error& e) {
        throw Error("cannot create the output folder '" + options.out_dir +
                    "': " + e.code().message());
      }
      stale_removed = remove_stale_temporaries_of(context);
    }
  });
  if (stale_removed > 0 && team.rank == 0 && !options.quiet) {
    out << "batch: removed " << stale_removed
        << " temporary file(s) that an interrupted run left in the output folders" << std::endl;
  }
  const auto total = static_cast<std::int64_t>(rows.size());
  if (team.rank == 0 && !options.quiet) {
    out << "batch: " << total << " items, " << pipeline->size() << " steps, " << team.ranks
        << " rank(s), " << options.jobs_per_rank << " job(s) per rank" << std::endl;
  }

  WorkCounter counter
#if MEDIMG_HAS_MPI
      (team.comm)
#endif
          ;
  Progress progress(progress_out, total, options.progress_interval,
                    team.rank == 0 && !options.quiet);
  json my_rows = json::array();
  std::deque<std::future<Loaded>> reads;
  std::deque<std::future<json>> writes;
  bool exhausted = false;
  const auto record = [&](json row) {
    counter.finished(row["status"] == "failed");
    my_rows.push_back(std::move(row));
  };
  const auto read_ahead = [&] {
    while (!exhausted && reads.size() < static_cast<std::size_t>(options.jobs_per_rank)) {
      const std::int64_t next = counter.claim();
      if (next >= total) {
        exhausted = true;
        break;
      }
      const AllCpus all;  // the reader may run on any CPU (pinned threads)
      reads.push_back(std::async(std::launch::async, load_item, std::cref(context),
                                 static_cast<std::size_t>(next)));
    }
  };
  const auto report_progress = [&] {
    if (team.rank != 0) return;
    const auto [finished, failed] = counter.totals();
    progress.show(finished, failed);
  };

  read_ahead();
  while (!reads.empty()) {
    Loaded item = reads.front().get();
    reads.pop_front();
    read_ahead();
    if (item.done) {
      record(std::move(item.row));
      report_progress();
      continue;
    }
    json row = std::move(item.row);
    std::optional<RgbPicture> before, after;
    AnyImage<HostMemory> result_host;
    try {
      AnyImage<DeviceMemory> image = to_memory_space<DeviceMemory>(*item.image);
      item.image.reset();
      if (options.previews) before = render_preview(image);
      std::vector<StepTiming> timings;
      std::vector<json> drawn;
      RandomContext random{options.seed, rows[item.index].item, &drawn};
      try {
        // Handed over (take): each step's input is released as soon as the
        // step has made its output (peak: one step's input and output).
        image = pipeline->run(take(image), &timings, &random);
        if (!drawn.empty()) row["drawn"] = drawn;
      } catch (const StepError& e) {
        row["step"] = std::to_string(e.step()) + " " + e.op();
        throw;
      }
      json steps = json::array();
      for (const StepTiming& t : timings) steps.push_back(t.ms);
      row["ms"]["steps"] = steps;
      set_manifest_metadata(image, rows[item.index]);
      if (options.previews) after = render_preview(image);
      row["output_geometry"] = geometry_json(geometry(image), pixel_type(image));
      result_host = to_memory_space<HostMemory>(image);
    } catch (const std::exception& e) {
      if (!row.contains("step")) row["step"] = "compute";
      row["message"] = e.what();
      record(std::move(row));
      report_progress();
      continue;
    }
    while (writes.size() >= static_cast<std::size_t>(options.jobs_per_rank)) {
      record(writes.front().get());
      writes.pop_front();
    }
    const AllCpus all;  // the writer may run on any CPU (pinned threads)
    writes.push_back(std::async(std::launch::async, write_item, std::cref(context), item.index,
                                std::move(result_host), std::move(row), std::move(before),
                                std::move(after)));
    report_progress();
  }
  while (!writes.empty()) {
    record(writes.front().get());
    writes.pop_front();
    report_progress();
  }
  // Rank 0 keeps the progress live until every rank has finished.
  if (team.rank == 0) {
    for (;;) {
      const auto [finished, failed] = counter.totals();
      progress.show(finished, failed, finished == total);
      if (finished == total) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  json items = team.gather(my_rows);
  team.barrier();

  BatchResult result;
  result.total = total;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.report = (fs::path(options.out_dir) / "report.json").string();
  if (team.rank == 0) {
    std::sort(items.begin(), items.end(), [](const json& a, const json& b) {
      return a["row"] < b["row"] ||
             (a["row"] == b["row"] && a.value("copy", 0) < b.value("copy", 0));
    });
    std::vector<double> step_total(pipeline->size(), 0.0);
    std::vector<std::int64_t> step_count(pipeline->size(), 0);
    double read_total = 0.0, write_total = 0.0;
    std::int64_t computed = 0;
    for (const json& row : items) {
      const std::string status = row["status"];
      if (status == "done") ++result.done;
      if (status == "failed") ++result.failed;
      if (status == "skipped") ++result.skipped;
      const json ms = row.value("ms", json::object());
      const json steps = ms.value("steps", json::array());
      for (std::size_t s = 0; s < steps.size() && s < step_total.size(); ++s) {
        step_total[s] += steps[s].get<double>();
        ++step_count[s];
      }
      if (steps.size() == pipeline->size()) {
        ++computed;
        read_total += ms.value("read", 0.0);
        write_total += ms.value("write", 0.0);
      }
    }
    json step_summary = json::array();
    const std::vector<std::string> ops = pipeline->ops();
    for (std::size_t s = 0; s < ops.size(); ++s) {
      step_summary.push_back({{"step", s + 1},
                              {"op", ops[s]},
                              {"items", step_count[s]},
                              {"total_ms", step_total[s]},
                              {"mean_ms", step_count[s] ? step_total[s] / step_count[s] : 0.0}});
    }
    const json report = {{"pipeline", options.steps},
                         {"manifest", options.manifest},
                         {"ranks", team.ranks},
                         {"jobs_per_rank", options.jobs_per_rank},
                         {"seconds", result.seconds},
                         {"summary",
                          {{"total", total},
                           {"done", result.done},
                           {"failed", result.failed},
                           {"skipped", result.skipped}}},
                         {"steps", step_summary},
                         {"memory", memory_json(faults_before)},
                         {"stale_temporaries_removed", stale_removed},
                         {"items", items}};
    write_reports(fs::path(options.out_dir), report, ops);
    if (!options.quiet) {
      out << std::fixed << std::setprecision(1) << "batch: " << result.done << " done, "
          << result.failed << " failed, " << result.skipped << " skipped of " << total << " in "
          << result.seconds << " s (" << std::setprecision(2)
          << static_cast<double>(total) / result.seconds << " items/s) on " << team.ranks
          << " rank(s)\n";
      out << "  per item, mean over " << computed << " computed:" << std::setprecision(1)
          << "  read " << (computed ? read_total / computed : 0.0) << " ms";
      for (std::size_t s = 0; s < ops.size(); ++s) {
        out << ", " << ops[s] << " " << step_summary[s]["mean_ms"].get<double>() << " ms";
      }
      out << ", write " << (computed ? write_total / computed : 0.0) << " ms\n";
      for (const json& row : items) {
        if (row["status"] != "failed") continue;
        out << "  failed: row " << row["row"] << " " << row["input"].get<std::string>() << " ("
            << row.value("step", "") << "): " << row.value("message", "") << "\n";
      }
      out << "batch: report " << result.report << " (+ report.csv, report.html)" << std::endl;
    }
  }
  std::int64_t counts[3] = {result.done, result.failed, result.skipped};
  team.broadcast(counts, 3);
  result.done = counts[0];
  result.failed = counts[1];
  result.skipped = counts[2];
  return result;
}

}  // namespace medimg
