// The DICOM folder scan behind io/dicom_folder.hpp, with the file lists
// the ITK module's series readers need (src/itk_module/images.cpp).
#pragma once

#include <string>
#include <vector>

#include "medimg/io/dicom_folder.hpp"

namespace medimg::detail {

struct DicomSeriesFiles {
  DicomSeriesInfo info;
  std::vector<std::string> files;  // full paths, sorted along the slice normal
  bool multiframe = false;         // one file holding every slice
};

struct DicomFolderScan {
  std::vector<DicomSeriesFiles> series;  // largest first
  std::vector<DicomSkippedFile> skipped;
};

// Screens and groups every file of `folder` (dicom_folder.hpp's rules).
DicomFolderScan scan_dicom_folder(const std::string& folder);

// The series `id` names (empty: the largest). Throws medimg::Error naming
// the folder when there is none, the id is unknown, or the series is not
// one volume.
const DicomSeriesFiles& select_dicom_series(const DicomFolderScan& scan, const std::string& folder,
                                            const std::string& id);

}  // namespace medimg::detail
