// The DICOM folder scan behind io/dicom_folder.hpp, with the file lists
// the readers in io/itk_image_io.cpp need.
#pragma once

#include <string>
#include <utility>
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

// The in-plane spacing (column, row) a file's PixelSpacing (0028,0030)
// gives, as dcm2niix reads it; {0, 0} when absent or invalid. `text` is the
// tag's value ("row\column").
std::pair<double, double> pixel_spacing_from_tag(const std::string& text);

}  // namespace medimg::detail
