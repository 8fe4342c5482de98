// medimg info IN [--json]: geometry, orientation, pixel type, voxel
// statistics and key metadata of an image.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "commands.hpp"
#include "medimg/config.hpp"
#include "medimg/core/scope_guard.hpp"
#if MEDIMG_HAS_MPI
#include <mpi.h>
#endif
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/dicom_folder.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/io/nifti_io.hpp"
#include "medimg/ops/statistics.hpp"

namespace medimg::cli {

namespace {

nlohmann::json vec_json(const Vec3& v) {
  return {v[0], v[1], v[2]};
}

// What info prints: the grid, the type, the metadata and the statistics,
// from an image or from a file streamed through a small buffer.
struct Described {
  Geometry geometry;
  PixelType type = PixelType::float32;
  Metadata metadata;
  Statistics stats;
  std::optional<NiftiTransforms> nifti;  // a streamed NIfTI's, from the header read once
};

Described describe(const AnyImage<HostMemory>& image) {
  return {geometry(image), pixel_type(image), metadata(image),
          std::visit([](const auto& typed) { return statistics(to_device(typed)); }, image),
          std::nullopt};
}

// A compressed NIfTI: inflated piece by piece, each piece reduced while it
// is in cache; the image is never held (ch2 as float, scripts/bench_e2e.sh:
// 0.13-0.15 s and 109 MiB before, 0.10 s and 17 MiB), and a large
// single-member file by two threads (reduce_nifti).
class StatisticsReduction final : public VoxelReduction {
 public:
  void add(PixelType type, const void* voxels, std::size_t count) override {
    visit_pixel_type(type, [&](auto zero) {
      using T = decltype(zero);
      m_stats.add_serial(static_cast<const T*>(voxels), static_cast<std::int64_t>(count));
    });
  }
  std::unique_ptr<VoxelReduction> empty_like() const override {
    return std::make_unique<StatisticsReduction>();
  }
  void merge(const VoxelReduction& other) override {
    m_stats.merge(static_cast<const StatisticsReduction&>(other).m_stats);
  }
  Statistics result() const { return m_stats.result(); }

 private:
  StatisticsAccumulator m_stats;
};

Described describe_streamed(const std::string& path) {
  StatisticsReduction stats;
  NiftiStream header = reduce_nifti(path, LoadOptions{}, stats);
  return {header.geometry, header.type, std::move(header.metadata), stats.result(),
          std::move(header.transforms)};
}

std::string direction_text(const Mat3& d) {
  return "[" + to_string(d[0]) + ", " + to_string(d[1]) + ", " + to_string(d[2]) + "]";
}

nlohmann::json matrix_json(const std::array<std::array<double, 4>, 3>& m) {
  return {m[0], m[1], m[2]};
}

std::string matrix_text(const std::array<std::array<double, 4>, 3>& m) {
  std::ostringstream text;
  text << std::setprecision(6);
  for (int r = 0; r < 3; ++r) {
    text << (r ? "; " : "[");
    for (int c = 0; c < 4; ++c) text << (c ? " " : "") << m[r][c];
  }
  return text.str() + "]";
}

// Both NIfTI transforms (RAS, mm), as the header holds them.
nlohmann::json nifti_json(const NiftiTransforms& t) {
  nlohmann::json out;
  out["version"] = t.version;
  out["sform_code"] = t.sform_code;
  out["qform_code"] = t.qform_code;
  if (t.sform_code > 0) out["sform_ras"] = matrix_json(t.sform);
  if (t.qform_code > 0) out["qform_ras"] = matrix_json(t.qform);
  out["used"] = t.used;
  out["differ"] = t.differ;
  return out;
}

// The listing of a DICOM folder (io/dicom_folder.hpp).
nlohmann::json listing_json(const DicomFolderListing& listing, const std::string& selected) {
  nlohmann::json out;
  out["selected"] = selected;
  out["series"] = nlohmann::json::array();
  for (const DicomSeriesInfo& s : listing.series) {
    nlohmann::json series;
    series["id"] = s.id;
    series["uid"] = s.uid;
    series["description"] = s.description;
    series["modality"] = s.modality;
    series["files"] = s.files;
    series["size"] = {s.size[0], s.size[1], s.size[2]};
    series["spacing"] = vec_json(s.spacing);
    if (!s.problem.empty()) series["problem"] = s.problem;
    out["series"].push_back(series);
  }
  out["skipped"] = nlohmann::json::array();
  for (const DicomSkippedFile& f : listing.skipped) {
    out["skipped"].push_back({{"file", f.file}, {"reason", f.reason}});
  }
  return out;
}

std::string listing_text(const DicomFolderListing& listing, const std::string& selected) {
  std::ostringstream text;
  text << std::setprecision(6);
  text << "dicom folder: " << listing.series.size() << " series, " << listing.skipped.size()
       << " file(s) skipped\n";
  for (const DicomSeriesInfo& s : listing.series) {
    text << (s.id == selected ? "  * " : "    ") << s.id << ": " << s.modality << " \""
         << s.description << "\", " << s.files << " file(s), size " << to_string(s.size)
         << ", spacing " << to_string(s.spacing) << " mm";
    if (!s.problem.empty()) text << "; not one volume: " << s.problem;
    text << "\n";
  }
  for (const DicomSkippedFile& f : listing.skipped) {
    text << "    skipped " << f.file << ": " << f.reason << "\n";
  }
  if (!selected.empty()) text << "  (* below: the series read; --series chooses another)\n";
  return text.str();
}

bool is_folder(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

}  // namespace

namespace {

void print_json(const nlohmann::json& out) {
  // Replacement characters rather than an exception for text that is not UTF-8.
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

nlohmann::json info_json(const Described& image, const std::string& source) {
  const Geometry& g = image.geometry;
  const Metadata& meta = image.metadata;
  const Statistics& stats = image.stats;
  nlohmann::json out;
  out["path"] = source;
  out["size"] = {g.size()[0], g.size()[1], g.size()[2]};
  out["spacing"] = vec_json(g.spacing());
  out["origin"] = vec_json(g.origin());
  out["direction_row_major"] = {vec_json(g.direction()[0]), vec_json(g.direction()[1]),
                                vec_json(g.direction()[2])};
  out["orientation"] = g.orientation_code();
  out["pixel_type"] = std::string(to_string(image.type));
  out["min"] = stats.min;
  out["max"] = stats.max;
  out["mean"] = stats.mean;
  out["modality"] = std::string(to_string(meta.modality));
  out["subtype"] = std::string(to_string(meta.subtype));
  out["patient_id"] = meta.patient_id;
  out["study_uid"] = meta.study_uid;
  out["series_uid"] = meta.series_uid;
  out["tags"] = meta.tags;
  if (image.nifti) {
    out["nifti"] = nifti_json(*image.nifti);
  } else if (is_nifti_path(source)) {
    out["nifti"] = nifti_json(read_nifti_transforms(source));
  }
  return out;
}

void print_described(const Described& image, const std::string& source, bool json) {
  if (json) {
    print_json(info_json(image, source));
    return;
  }
  const Geometry& g = image.geometry;
  const Metadata& meta = image.metadata;
  const Statistics& stats = image.stats;
  std::optional<NiftiTransforms> nifti = image.nifti;
  if (!nifti && is_nifti_path(source)) nifti = read_nifti_transforms(source);
  std::ostringstream text;
  text << std::setprecision(10);
  text << "file:        " << source << "\n"
       << "size:        " << to_string(g.size()) << "\n"
       << "spacing:     " << to_string(g.spacing()) << " mm\n"
       << "origin:      " << to_string(g.origin()) << " mm (LPS)\n"
       << "direction:   " << direction_text(g.direction()) << " (rows; columns = i, j, k axes)\n"
       << "orientation: " << g.orientation_code() << "\n"
       << "pixel type:  " << to_string(image.type) << "\n"
       << "min/max:     " << stats.min << " / " << stats.max << "\n"
       << "mean:        " << stats.mean << "\n"
       << "modality:    " << to_string(meta.modality) << " (" << to_string(meta.subtype) << ")\n";
  if (!meta.patient_id.empty()) text << "patient id:  " << meta.patient_id << "\n";
  if (!meta.study_uid.empty()) text << "study uid:   " << meta.study_uid << "\n";
  if (!meta.series_uid.empty()) text << "series uid:  " << meta.series_uid << "\n";
  if (nifti) {
    text << "nifti:       NIfTI-" << nifti->version << ", sform code " << nifti->sform_code
         << ", qform code " << nifti->qform_code << ", placed by the " << nifti->used << "\n";
    if (nifti->differ) {
      text << "  sform RAS: " << matrix_text(nifti->sform) << "\n"
           << "  qform RAS: " << matrix_text(nifti->qform) << "\n";
    }
  }
  std::cout << text.str();
}

}  // namespace

void print_info(const AnyImage<HostMemory>& image, const std::string& source, bool json) {
  print_described(describe(image), source, json);
}

void add_info_command(CLI::App& app, const GlobalOptions&, Action& action) {
  auto* cmd = app.add_subcommand("info", "print an image's geometry, pixel type and statistics");
  auto input = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto series = std::make_shared<std::string>();
  cmd->add_option("IN", *input, "image file or DICOM folder")->required();
  cmd->add_flag("--json", *json, "print one JSON object");
  cmd->add_option("--series", *series,
                  "DICOM folder: the series to read (its id from medimg info: the UID, or UID#n)");
  cmd->callback([&action, input, json, series] {
    action = [input, json, series] {
#if MEDIMG_HAS_MPI
      int rank = 0;
      rank = world_rank();
      if (rank != 0) return 0;  // under mpiexec, rank 0 reports
#endif
      if (!is_folder(*input)) {
        // A compressed NIfTI streams (describe_streamed); a plain one is
        // mapped (its pages are the voxels: nothing to stream).
        const std::string extension = format_extension(*input);
        if (is_nifti_path(*input) && extension.size() > 3 &&
            extension.compare(extension.size() - 3, 3, ".gz") == 0) {
          print_described(describe_streamed(*input), *input, *json);
          return 0;
        }
        const MappedImage loaded = load_image_mapped(*input, LoadOptions{*series});
        print_info(loaded.image, *input, *json);
        return 0;
      }
      // A DICOM folder: every series, then the one read (named, so that
      // load_image does not warn about the choice the listing shows).
      const DicomFolderListing listing = list_dicom_folder(*input);
      const std::string selected = !series->empty()         ? *series
                                   : listing.series.empty() ? ""
                                                            : listing.series.front().id;
      if (*json) {
        nlohmann::json out = listing_json(listing, selected);
        try {
          out["image"] = info_json(describe(load_image(*input, LoadOptions{selected})), *input);
        } catch (const Error&) {
          print_json(out);
          throw;
        }
        print_json(out);
        return 0;
      }
      std::cout << listing_text(listing, selected) << std::flush;
      print_info(load_image(*input, LoadOptions{selected}), *input, false);
      return 0;
    };
  });
}

}  // namespace medimg::cli
