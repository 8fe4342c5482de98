// What an image is, beside its voxels and grid: modality and subtype (a
// superset of MedImages.jl's), DICOM identifiers, and free-form tags (DICOM
// tags land here as "gggg|eeee" -> value, as ITK's GDCM reader names them).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace medimg {

enum class Modality { CT, MRI, PET, Other };
enum class Subtype { CT, ADC, DWI, T1, T2, FLAIR, FDG, PSMA, Unknown };

std::string_view to_string(Modality modality);
std::string_view to_string(Subtype subtype);
// From a DICOM Modality (0008|0060) value: CT, MR, PT (case-insensitive);
// anything else is Other.
Modality modality_from_dicom(std::string_view value);

// The names to_string gives, back (case-insensitive; MedImages.jl's "MRI",
// "PET", "CT" and its subtype names); unknown names give Other / Unknown.
Modality parse_modality(std::string_view name);
Subtype parse_subtype(std::string_view name);

struct Metadata {
  Modality modality = Modality::Other;
  Subtype subtype = Subtype::Unknown;
  std::string patient_id;
  std::string study_uid;
  std::string series_uid;
  std::map<std::string, std::string> tags;
};

// A JSON object {"modality", "subtype", "patient_id", "study_uid",
// "series_uid", "tags": {...}} (the HDF5 `metadata` attribute, and how MPI
// ranks share metadata); metadata_from_json reads it back, accepts missing
// keys and keeps any other key (another writer's) as a tag. Throws medimg::Error on text that is
// not such an object.
std::string to_json(const Metadata& metadata);
Metadata metadata_from_json(std::string_view text);

}  // namespace medimg
