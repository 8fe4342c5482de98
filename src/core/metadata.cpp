#include "medimg/core/metadata.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

#include "medimg/core/error.hpp"

namespace medimg {

std::string_view to_string(Modality modality) {
  switch (modality) {
    case Modality::CT: return "CT";
    case Modality::MRI: return "MRI";
    case Modality::PET: return "PET";
    case Modality::Other: break;
  }
  return "Other";
}

std::string_view to_string(Subtype subtype) {
  switch (subtype) {
    case Subtype::CT: return "CT";
    case Subtype::ADC: return "ADC";
    case Subtype::DWI: return "DWI";
    case Subtype::T1: return "T1";
    case Subtype::T2: return "T2";
    case Subtype::FLAIR: return "FLAIR";
    case Subtype::FDG: return "FDG";
    case Subtype::PSMA: return "PSMA";
    case Subtype::Unknown: break;
  }
  return "Unknown";
}

Modality modality_from_dicom(std::string_view value) {
  std::string v;
  for (char c : value) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      v += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  if (v == "CT") return Modality::CT;
  if (v == "MR") return Modality::MRI;
  if (v == "PT") return Modality::PET;
  return Modality::Other;
}

namespace {

std::string upper(std::string_view text) {
  std::string v;
  for (char c : text) v += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return v;
}

}  // namespace

Modality parse_modality(std::string_view name) {
  const std::string v = upper(name);
  for (Modality m : {Modality::CT, Modality::MRI, Modality::PET}) {
    if (v == to_string(m)) return m;
  }
  if (v == "MR") return Modality::MRI;
  if (v == "PT") return Modality::PET;
  return Modality::Other;
}

Subtype parse_subtype(std::string_view name) {
  const std::string v = upper(name);
  for (Subtype s : {Subtype::CT, Subtype::ADC, Subtype::DWI, Subtype::T1, Subtype::T2,
                    Subtype::FLAIR, Subtype::FDG, Subtype::PSMA}) {
    if (v == to_string(s)) return s;
  }
  return Subtype::Unknown;
}

std::string to_json(const Metadata& metadata) {
  nlohmann::json out;
  out["modality"] = std::string(to_string(metadata.modality));
  out["subtype"] = std::string(to_string(metadata.subtype));
  out["patient_id"] = metadata.patient_id;
  out["study_uid"] = metadata.study_uid;
  out["series_uid"] = metadata.series_uid;
  out["tags"] = metadata.tags;
  // Text that is not UTF-8 becomes U+FFFD rather than an exception.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Metadata metadata_from_json(std::string_view text) {
  nlohmann::json in;
  try {
    in = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("metadata is not valid JSON: ") + e.what());
  }
  if (!in.is_object()) throw Error("metadata JSON is not an object");
  Metadata m;
  auto text_of = [&](const char* key) -> std::string {
    const auto it = in.find(key);
    return it != in.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  m.modality = parse_modality(text_of("modality"));
  m.subtype = parse_subtype(text_of("subtype"));
  m.patient_id = text_of("patient_id");
  m.study_uid = text_of("study_uid");
  m.series_uid = text_of("series_uid");
  auto as_text = [](const nlohmann::json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
  };
  const auto tags = in.find("tags");
  if (tags != in.end() && tags->is_object()) {
    for (const auto& [key, value] : tags->items()) m.tags[key] = as_text(value);
  }
  // Keys of other writers (MedImages.jl's metadata dictionary) become tags.
  for (const auto& [key, value] : in.items()) {
    if (key != "modality" && key != "subtype" && key != "patient_id" && key != "study_uid" &&
        key != "series_uid" && key != "tags") {
      m.tags[key] = as_text(value);
    }
  }
  return m;
}

}  // namespace medimg
