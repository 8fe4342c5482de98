#include "medimg/core/metadata.hpp"

#include <algorithm>
#include <cctype>
#include <string>

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

}  // namespace medimg
