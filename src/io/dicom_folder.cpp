// The DICOM folder scan (include/medimg/io/dicom_folder.hpp,
// include/medimg/io/detail/dicom_scan.hpp). GDCM's parser reads each file's
// header in an isolated child process; the grouping, sorting and volume
// checks run here, on what the child sent.
#include <gdcmReader.h>
#include <gdcmStringFilter.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>

#include "medimg/core/error.hpp"
#include "medimg/io/detail/dicom_scan.hpp"
#include "medimg/io/detail/isolated.hpp"

namespace medimg {

namespace detail {

namespace {

namespace fs = std::filesystem;

// The numbers of a DICOM multi-valued decimal string ("a\b\c"); a value
// that is not a finite number ends the list.
std::vector<double> numbers(const std::string& text) {
  std::vector<double> values;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\\', start), text.size());
    const std::string item = text.substr(start, end - start);
    char* stop = nullptr;
    const double value = std::strtod(item.c_str(), &stop);
    if (stop == item.c_str() || !std::isfinite(value)) break;
    values.push_back(value);
    start = end + 1;
  }
  return values;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
  std::size_t first = 0;
  while (first < text.size() && text[first] == ' ') ++first;
  return text.substr(first);
}

// One file's header, as the child reads it: either a reason to skip it or
// what grouping and sorting need.
nlohmann::json screen_file(const fs::path& path) {
  nlohmann::json out;
  out["name"] = path.filename().string();
  auto skip = [&out](const std::string& reason) {
    out["skip"] = reason;
    return out;
  };
  gdcm::Reader reader;
  reader.SetFileName(path.string().c_str());
  const std::set<gdcm::Tag> none;
  if (!reader.ReadUpToTag(gdcm::Tag(0x7fe0, 0x0010), none)) {
    return skip("not a DICOM file GDCM can parse");
  }
  const gdcm::File& file = reader.GetFile();
  const gdcm::DataSet& data = file.GetDataSet();
  gdcm::StringFilter strings;
  strings.SetFile(file);
  auto text = [&](std::uint16_t group, std::uint16_t element) {
    const gdcm::Tag tag(group, element);
    return data.FindDataElement(tag) ? trimmed(strings.ToString(tag)) : std::string();
  };
  const std::string media = trimmed(file.GetHeader().GetMediaStorageAsString());
  if (media == "1.2.840.10008.1.3.10" || data.FindDataElement(gdcm::Tag(0x0004, 0x1220))) {
    return skip("a DICOMDIR (an index of files, not an image)");
  }
  if (!data.FindDataElement(gdcm::Tag(0x7fe0, 0x0010))) {
    const std::string modality = text(0x0008, 0x0060);
    return skip("no pixel data" +
                (modality.empty() ? std::string() : " (modality " + modality + ")"));
  }
  const std::vector<double> frames = numbers(text(0x0028, 0x0008));
  if (data.FindDataElement(gdcm::Tag(0x0028, 0x0009)) && frames.empty()) {
    return skip("FrameIncrementPointer without NumberOfFrames (a malformed multi-frame object)");
  }
  const std::vector<double> rows = numbers(text(0x0028, 0x0010));
  const std::vector<double> columns = numbers(text(0x0028, 0x0011));
  if (rows.empty() || columns.empty() || rows[0] < 1 || columns[0] < 1) {
    return skip("no Rows/Columns");
  }
  const std::vector<double> samples = numbers(text(0x0028, 0x0002));
  if (!samples.empty() && samples[0] != 1) {
    return skip(std::to_string(static_cast<int>(samples[0])) +
                " samples per pixel (colour); medimg reads scalar images");
  }
  out["uid"] = text(0x0020, 0x000e);
  out["description"] = text(0x0008, 0x103e);
  out["modality"] = text(0x0008, 0x0060);
  out["rows"] = static_cast<std::int64_t>(rows[0]);
  out["columns"] = static_cast<std::int64_t>(columns[0]);
  out["frames"] = frames.empty() ? 1 : static_cast<std::int64_t>(std::max(1.0, frames[0]));
  out["position"] = numbers(text(0x0020, 0x0032));
  out["orientation"] = numbers(text(0x0020, 0x0037));
  std::string spacing = text(0x0028, 0x0030);
  if (spacing.empty()) spacing = text(0x0018, 0x1164);  // ImagerPixelSpacing (CR, DX)
  out["pixel_spacing"] = numbers(spacing);
  out["thickness"] = numbers(text(0x0018, 0x0050));
  out["between"] = numbers(text(0x0018, 0x0088));
  return out;
}

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
// a file on which GDCM's parser aborts is recorded as damaged and the scan
// resumes after it in a new child.
void screen_files(const fs::path& folder, const std::vector<std::string>& names,
                  std::vector<nlohmann::json>& records) {
  std::size_t next = 0;
  while (next < names.size()) {
    const std::size_t start = next;
    try {
      run_isolated(
          folder.string(),
          [&](PipeWriter& out) {
            for (std::size_t i = start; i < names.size(); ++i) {
              out.write_string(screen_file(folder / names[i])
                                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
            }
          },
          [&](PipeReader& in) {
            while (next < names.size()) {
              records.push_back(nlohmann::json::parse(in.read_string()));
              ++next;
            }
          });
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

std::pair<double, double> pixel_spacing_from_tag(const std::string& text) {
  const std::vector<double> values = numbers(trimmed(text));
  if (values.size() < 2 || !(values[0] > 0) || !(values[1] > 0)) return {0.0, 0.0};
  return {values[1], values[0]};
}

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
