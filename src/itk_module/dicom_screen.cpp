// The ITK module's DICOM header screen (io/dicom_folder.cpp groups what it
// returns): GDCM's parser reads one file up to its pixel data, in an
// isolated child, and says what the file is.
#include <gdcmReader.h>
#include <gdcmStringFilter.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <nlohmann/json.hpp>
#include <set>

#include "itk_module/module.hpp"
#include "medimg/io/detail/child_memory.hpp"
#include "medimg/io/detail/dicom_lengths.hpp"

namespace medimg::itk_module {

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
  // Before GDCM, which would first allocate what a damaged length declares.
  const std::string damaged = detail::dicom_length_problem(path.string());
  if (!damaged.empty()) return skip("damaged: " + damaged);
  gdcm::Reader reader;
  reader.SetFileName(path.string().c_str());
  const std::set<gdcm::Tag> none;
  bool parsed = false;
  {
    // What the walk cannot follow (GDCM's re-reads in other encodings) is
    // bounded here (io/detail/child_memory.hpp).
    std::error_code ec;
    const std::uintmax_t size = fs::file_size(path, ec);
    const detail::ChildMemoryLimit limit(detail::header_memory_budget(ec ? 0 : size));
    try {
      parsed = reader.ReadUpToTag(gdcm::Tag(0x7fe0, 0x0010), none);
    } catch (const std::bad_alloc&) {
      return skip(
          "damaged: GDCM asked for more memory than the file could need (a damaged length)");
    }
  }
  if (!parsed) return skip("not a DICOM file GDCM can parse");
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

}  // namespace

std::string screen_dicom_file(const std::string& path) {
  return screen_file(path).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::pair<double, double> pixel_spacing_from_tag(const std::string& text) {
  const std::vector<double> values = numbers(trimmed(text));
  if (values.size() < 2 || !(values[0] > 0) || !(values[1] > 0)) return {0.0, 0.0};
  return {values[1], values[0]};
}

}  // namespace medimg::itk_module
