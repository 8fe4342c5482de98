// The DICOM folder scan (include/medimg/io/dicom_folder.hpp,
// include/medimg/io/detail/dicom_scan.hpp). GDCM's parser reads each file's
// header in an isolated child process (the ITK module's screen_dicom_file);
// the grouping, sorting and volume checks run here, on what the child sent.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "medimg/core/error.hpp"
#include "medimg/io/detail/dicom_scan.hpp"
#include "medimg/io/detail/isolated.hpp"
#include "medimg/io/detail/itk_module.hpp"

namespace medimg {

namespace detail {

namespace {

namespace fs = std::filesystem;

// One screened image slice (or multi-frame file), in the parent.
struct Slice {
  std::string path, name, uid, description, modality;
  std::int64_t rows = 0, columns = 0, frames = 1;
  Vec3 position{0.0, 0.0, 0.0};
  Vec3 row{1.0, 0.0, 0.0}, column{0.0, 1.0, 0.0};
  double column_spacing = 1.0, row_spacing = 1.0;  // x, y
  double slice_spacing = 1.0;                      // a single slice's k spacing
  double along = 0.0;                              // position along the normal
};

Vec3 cross(const Vec3& a, const Vec3& b) {
  return Vec3{a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

double single_value(const nlohmann::json& values) {
  return values.empty() ? 0.0 : values[0].get<double>();
}

Slice slice_from(const nlohmann::json& record, const fs::path& folder) {
  Slice s;
  s.name = record["name"].get<std::string>();
  s.path = (folder / s.name).string();
  s.uid = record["uid"].get<std::string>();
  s.description = record["description"].get<std::string>();
  s.modality = record["modality"].get<std::string>();
  s.rows = record["rows"].get<std::int64_t>();
  s.columns = record["columns"].get<std::int64_t>();
  s.frames = record["frames"].get<std::int64_t>();
  const auto position = record["position"].get<std::vector<double>>();
  if (position.size() >= 3) s.position = Vec3{position[0], position[1], position[2]};
  const auto orientation = record["orientation"].get<std::vector<double>>();
  if (orientation.size() >= 6) {
    s.row = Vec3{orientation[0], orientation[1], orientation[2]};
    s.column = Vec3{orientation[3], orientation[4], orientation[5]};
  }
  const auto spacing = record["pixel_spacing"].get<std::vector<double>>();
  if (spacing.size() >= 2 && spacing[0] > 0 && spacing[1] > 0) {
    s.row_spacing = spacing[0];
    s.column_spacing = spacing[1];
  }
  const double between = single_value(record["between"]);
  const double thickness = single_value(record["thickness"]);
  s.slice_spacing = between > 0 ? between : thickness > 0 ? thickness : 1.0;
  const Vec3 normal = cross(s.row, s.column);
  s.along = s.position[0] * normal[0] + s.position[1] * normal[1] + s.position[2] * normal[2];
  return s;
}

bool same_geometry(const Slice& a, const Slice& b) {
  for (int i = 0; i < 3; ++i) {
    if (std::abs(a.row[i] - b.row[i]) > 1e-4 || std::abs(a.column[i] - b.column[i]) > 1e-4)
      return false;
  }
  return a.rows == b.rows && a.columns == b.columns &&
         std::abs(a.row_spacing - b.row_spacing) <= 1e-4 * a.row_spacing &&
         std::abs(a.column_spacing - b.column_spacing) <= 1e-4 * a.column_spacing;
}

std::string format_values(const std::vector<double>& values, std::size_t shown = 6) {
  std::ostringstream text;
  text.precision(6);
  for (std::size_t i = 0; i < values.size() && i < shown; ++i) text << (i ? ", " : "") << values[i];
  if (values.size() > shown) text << ", ... (" << values.size() << " in all)";
  return text.str();
}

// Sorts the slices along their normal and says why they are not one
// volume, or "" when they are; sets the k spacing.
std::string sort_and_check(std::vector<Slice>& slices, double& k_spacing) {
  std::sort(slices.begin(), slices.end(),
            [](const Slice& a, const Slice& b) { return a.along < b.along; });
  if (slices.size() == 1) {
    k_spacing = slices.front().slice_spacing;
    return "";
  }
  std::vector<double> positions, gaps;
  for (const Slice& s : slices) positions.push_back(s.along);
  for (std::size_t i = 1; i < positions.size(); ++i)
    gaps.push_back(positions[i] - positions[i - 1]);
  const auto [smallest, largest] = std::minmax_element(gaps.begin(), gaps.end());
  k_spacing = (positions.back() - positions.front()) / static_cast<double>(gaps.size());
  if (*smallest <= 1e-6 * std::max(1.0, std::abs(*largest))) {
    return "two slices lie at the same position along the normal (positions " +
           format_values(positions) + " mm)";
  }
  if (*largest - *smallest > 0.01 * *largest) {
    return "slice spacing varies by more than 1% (positions along the normal " +
           format_values(positions) + " mm; gaps " + format_values(gaps) +
           " mm); medimg stacks only evenly spaced slices";
  }
  return "";
}

// The child's records for `names`, from `first` on, appended to `records`;
// a file on which GDCM's parser aborts, or which it reads for longer than
// header_timeout() (a loop on a damaged file), is recorded as damaged and
// the scan resumes after it in a new child.
void screen_files(const fs::path& folder, const std::vector<std::string>& names,
                  std::vector<nlohmann::json>& records) {
  const ItkModule& module = itk_module(folder.string());
  std::size_t next = 0;
  while (next < names.size()) {
    const std::size_t start = next;
    try {
      run_isolated(
          folder.string(),
          [&](PipeWriter& out) {
            for (std::size_t i = start; i < names.size(); ++i) {
              out.write_string(module.screen_dicom_file((folder / names[i]).string()));
            }
          },
          [&](PipeReader& in) {
            while (next < names.size()) {
              records.push_back(nlohmann::json::parse(in.read_string()));
              ++next;
              // Nothing left to wait for after the last file.
              if (next < names.size()) {
                in.rearm();
              } else {
                in.disarm();
              }
            }
          },
          "the DICOM library", header_timeout());
    } catch (const Error& e) {
      if (next >= names.size()) throw;
      // The child died on names[next]: its message, without the prefix.
      std::string why = e.what();
      const std::string prefix = "cannot read '" + folder.string() + "': ";
      if (why.compare(0, prefix.size(), prefix) == 0) why.erase(0, prefix.size());
      nlohmann::json damaged;
      damaged["name"] = names[next];
      damaged["skip"] = "damaged: " + why;
      records.push_back(damaged);
      ++next;
    }
  }
}

}  // namespace

DicomFolderScan scan_dicom_folder(const std::string& folder) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) names.push_back(it->path().filename().string());
  }
  if (ec) throw Error("cannot read '" + folder + "': " + ec.message());
  std::sort(names.begin(), names.end());
  std::vector<nlohmann::json> records;
  screen_files(folder, names, records);

  DicomFolderScan scan;
  // Groups in order of first appearance: (UID, geometry) -> slices.
  std::vector<std::vector<Slice>> groups;
  std::vector<Slice> multiframe;
  for (const nlohmann::json& record : records) {
    if (record.contains("skip")) {
      scan.skipped.push_back(
          {record["name"].get<std::string>(), record["skip"].get<std::string>()});
      continue;
    }
    Slice s = slice_from(record, folder);
    if (s.frames > 1) {
      multiframe.push_back(std::move(s));
      continue;
    }
    auto group = std::find_if(groups.begin(), groups.end(), [&s](const std::vector<Slice>& g) {
      return g.front().uid == s.uid && same_geometry(g.front(), s);
    });
    if (group == groups.end()) {
      groups.push_back({std::move(s)});
    } else {
      group->push_back(std::move(s));
    }
  }
  auto describe = [](const Slice& first, std::size_t files) {
    DicomSeriesInfo info;
    info.uid = first.uid;
    info.description = first.description;
    info.modality = first.modality;
    info.files = files;
    info.size = Size3{first.columns, first.rows, 1};
    info.spacing = Vec3{first.column_spacing, first.row_spacing, first.slice_spacing};
    return info;
  };
  for (std::vector<Slice>& group : groups) {
    DicomSeriesFiles series;
    series.info = describe(group.front(), group.size());
    series.info.problem = sort_and_check(group, series.info.spacing[2]);
    series.info.size[2] = static_cast<std::int64_t>(group.size());
    for (const Slice& s : group) series.files.push_back(s.path);
    scan.series.push_back(std::move(series));
  }
  for (const Slice& s : multiframe) {
    DicomSeriesFiles series;
    series.info = describe(s, 1);
    series.info.size[2] = s.frames;
    series.files = {s.path};
    series.multiframe = true;
    scan.series.push_back(std::move(series));
  }
  std::stable_sort(scan.series.begin(), scan.series.end(),
                   [](const DicomSeriesFiles& a, const DicomSeriesFiles& b) {
                     return a.info.size[2] > b.info.size[2];
                   });
  // Identifiers: the UID, numbered when one UID made several series.
  std::map<std::string, int> count, seen;
  for (const DicomSeriesFiles& s : scan.series) ++count[s.info.uid];
  for (DicomSeriesFiles& s : scan.series) {
    s.info.id =
        count[s.info.uid] == 1 ? s.info.uid : s.info.uid + "#" + std::to_string(++seen[s.info.uid]);
  }
  return scan;
}

const DicomSeriesFiles& select_dicom_series(const DicomFolderScan& scan, const std::string& folder,
                                            const std::string& id) {
  auto fail = [&folder](const std::string& why) -> const DicomSeriesFiles& {
    throw Error("cannot read '" + folder + "': " + why);
  };
  if (scan.series.empty()) {
    return fail(scan.skipped.empty()
                    ? "folder holds no DICOM series"
                    : "folder holds no DICOM series: none of its " +
                          std::to_string(scan.skipped.size()) + " files is an image slice (" +
                          scan.skipped.front().file + ": " + scan.skipped.front().reason +
                          (scan.skipped.size() > 1 ? ", ..." : "") + ")");
  }
  const DicomSeriesFiles* chosen = &scan.series.front();
  if (!id.empty()) {
    auto found = std::find_if(scan.series.begin(), scan.series.end(),
                              [&id](const DicomSeriesFiles& s) { return s.info.id == id; });
    if (found == scan.series.end()) {
      std::string known;
      for (const DicomSeriesFiles& s : scan.series)
        known += (known.empty() ? "" : ", ") + s.info.id;
      return fail("no DICOM series with UID " + id + " (found: " + known + ")");
    }
    chosen = &*found;
  }
  if (!chosen->info.problem.empty()) {
    return fail("series " + chosen->info.id + " is not one volume: " + chosen->info.problem);
  }
  return *chosen;
}

}  // namespace detail

DicomFolderListing list_dicom_folder(const std::string& folder) {
  detail::DicomFolderScan scan = detail::scan_dicom_folder(folder);
  DicomFolderListing listing;
  for (detail::DicomSeriesFiles& s : scan.series) listing.series.push_back(std::move(s.info));
  listing.skipped = std::move(scan.skipped);
  return listing;
}

}  // namespace medimg
