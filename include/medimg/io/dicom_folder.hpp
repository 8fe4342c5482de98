// What a DICOM folder holds: its series, each one volume, and the files that
// are not image slices. load_image(FOLDER) reads one of these series;
// `medimg info FOLDER` prints the whole listing.
//
// Rules (docs/IO.md, "DICOM folders"):
// - Every file of the folder (not its sub-folders) is screened first, its
//   header read up to the pixel data with GDCM's parser in an isolated child
//   process. A file is skipped, with the reason, when it is not DICOM, is a
//   DICOMDIR, holds no pixel data (RT structures, plans, reports, waveforms),
//   has FrameIncrementPointer without NumberOfFrames (GDCM's image reader
//   asserts on it), has no Rows/Columns, or is colour. A file on which the
//   parser itself aborts is skipped as damaged, and the scan goes on with
//   the next file.
// - Slices are grouped by Series Instance UID and geometry (orientation to
//   1e-4, rows x columns, pixel spacing to 1e-4 relative), as dcm2niix does:
//   a localizer that mixes orientations under one UID becomes one series per
//   orientation. A multi-frame file is a series of its own.
// - A series' slices are sorted along the slice normal (row x column). It is
//   one volume when no two slices share a position and the gaps agree to
//   1%; otherwise `problem` says why, naming the positions, and reading it
//   is refused.
// - Identifiers: the Series Instance UID; when one UID splits into several
//   groups, "UID#1", "UID#2", ... in order of size (largest first).
// - Without a choice, load_image reads the series with most slices and
//   warns which one it took when there were several (and when files were
//   skipped).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "medimg/core/geometry.hpp"

namespace medimg {

struct DicomSeriesInfo {
  std::string id;   // what LoadOptions::series_uid and --series take
  std::string uid;  // Series Instance UID
  std::string description, modality;
  std::size_t files = 0;
  Size3 size{0, 0, 0};
  Vec3 spacing{1.0, 1.0, 1.0};  // k: the slice gap (single slices: SpacingBetweenSlices,
                                // else SliceThickness, else 1)
  std::string problem;          // non-empty: not one volume, and why
};

struct DicomSkippedFile {
  std::string file;  // name within the folder
  std::string reason;
};

struct DicomFolderListing {
  std::vector<DicomSeriesInfo> series;  // largest first
  std::vector<DicomSkippedFile> skipped;
};

// Throws medimg::Error when `folder` cannot be listed; an empty `series`
// when no file is an image slice.
DicomFolderListing list_dicom_folder(const std::string& folder);

}  // namespace medimg
