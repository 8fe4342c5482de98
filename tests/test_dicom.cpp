// DICOM: single files, series written by ITK's GDCM writer read back, folder
// screening (files GDCM aborts on, non-image objects), grouping by UID and
// geometry, the choice of series, and geometry and voxels against dcm2niix
// on pydicom's folders and on GDCM-written series.
#include <gtest/gtest.h>
#include <itkGDCMImageIO.h>
#include <itkImageSeriesWriter.h>
#include <itkMetaDataObject.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "io_test_support.hpp"
#include "itk_support.hpp"
#include "medimg/io/detail/dicom_lengths.hpp"
#include "medimg/io/dicom_folder.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/ops/cast.hpp"
#include "test_support.hpp"

namespace medimg::test {
namespace {

namespace fs = std::filesystem;

Image<std::int16_t, HostMemory> flip_k(const Image<std::int16_t, HostMemory>& image) {
  const Geometry& g = image.geometry();
  Mat3 d = g.direction();
  for (int r = 0; r < 3; ++r) d[r][2] = -d[r][2];
  const Vec3 origin = g.index_to_physical(Vec3{0.0, 0.0, static_cast<double>(g.size()[2] - 1)});
  Image<std::int16_t, HostMemory> flipped(Geometry(g.size(), origin, g.spacing(), d));
  for (std::int64_t k = 0; k < g.size()[2]; ++k) {
    for (std::int64_t j = 0; j < g.size()[1]; ++j) {
      for (std::int64_t i = 0; i < g.size()[0]; ++i) {
        flipped.voxels()(i, j, k) = image.voxels()(i, j, g.size()[2] - 1 - k);
      }
    }
  }
  return flipped;
}

// Writes `image` as a DICOM series with ITK's GDCM writer, one file a slice,
// with the position and orientation tags a scanner would write.
void write_dicom_series(const Image<std::int16_t, HostMemory>& image, const fs::path& dir,
                        const std::string& series_uid, const std::string& prefix = "slice") {
  using Image3 = itk::Image<std::int16_t, 3>;
  using Image2 = itk::Image<std::int16_t, 2>;
  const Geometry& g = image.geometry();
  fs::create_directories(dir);
  auto io = itk::GDCMImageIO::New();
  io->KeepOriginalUIDOn();
  std::vector<std::string> files;
  std::vector<itk::MetaDataDictionary*> dictionaries;
  std::vector<itk::MetaDataDictionary> storage(static_cast<std::size_t>(g.size()[2]));
  auto format = [](std::initializer_list<double> values) {
    std::ostringstream out;
    out.precision(10);
    bool first = true;
    for (double v : values) {
      out << (first ? "" : "\\") << v;
      first = false;
    }
    return out.str();
  };
  const Mat3& d = g.direction();
  for (std::int64_t k = 0; k < g.size()[2]; ++k) {
    auto& dict = storage[static_cast<std::size_t>(k)];
    const Vec3 p = g.index_to_physical(Vec3{0.0, 0.0, static_cast<double>(k)});
    itk::EncapsulateMetaData<std::string>(dict, "0008|0060", "MR");
    itk::EncapsulateMetaData<std::string>(dict, "0028|0004", "MONOCHROME2");
    itk::EncapsulateMetaData<std::string>(dict, "0008|0016", "1.2.840.10008.5.1.4.1.1.4");
    itk::EncapsulateMetaData<std::string>(dict, "0010|0020", "medimg-test");
    // One study time for every slice (GDCM would stamp each file as it
    // writes it, and dcm2niix splits slices whose study times differ).
    itk::EncapsulateMetaData<std::string>(dict, "0008|0020", "20260101");
    itk::EncapsulateMetaData<std::string>(dict, "0008|0030", "120000");
    itk::EncapsulateMetaData<std::string>(dict, "0020|000d", "1.2.826.0.1.3680043.2.1125.1.1");
    itk::EncapsulateMetaData<std::string>(dict, "0020|000e", series_uid);
    itk::EncapsulateMetaData<std::string>(dict, "0008|0018",
                                          series_uid + "." + std::to_string(k + 1));
    itk::EncapsulateMetaData<std::string>(dict, "0020|0013", std::to_string(k + 1));
    itk::EncapsulateMetaData<std::string>(dict, "0020|0032", format({p[0], p[1], p[2]}));
    itk::EncapsulateMetaData<std::string>(
        dict, "0020|0037", format({d[0][0], d[1][0], d[2][0], d[0][1], d[1][1], d[2][1]}));
    itk::EncapsulateMetaData<std::string>(dict, "0018|0050", format({g.spacing()[2]}));
    itk::EncapsulateMetaData<std::string>(dict, "0028|0030",
                                          format({g.spacing()[1], g.spacing()[0]}));
    dictionaries.push_back(&dict);
    files.push_back((dir / (prefix + std::to_string(1000 + k) + ".dcm")).string());
  }
  auto writer = itk::ImageSeriesWriter<Image3, Image2>::New();
  writer->SetInput(to_itk(image));
  writer->SetImageIO(io);
  writer->SetFileNames(files);
  writer->SetMetaDataDictionaryArray(&dictionaries);
  writer->Update();
}

TEST(Dicom, SeriesWrittenByItkLoadsBackWithSameGeometryAndVoxels) {
  const fs::path dir = scratch_dir();
  // A real NIfTI (big-endian int16) and an oblique, anisotropic phantom.
  const auto anatomical = load_image_as<std::int16_t>(nibabel_data_dir + "/anatomical.nii");
  const auto phantom = phantom_int16(oblique_geometry(Size3{40, 36, 12}));
  for (const auto& [name, image] : {std::pair{std::string("anatomical"), anatomical},
                                    std::pair{std::string("phantom"), phantom}}) {
    const fs::path series = dir / name;
    fs::create_directories(series);
    write_dicom_series(image, series,
                       "1.2.826.0.1.3680043.2.1125.2." + std::to_string(name.size()));
    const auto loaded = load_image(series.string());
    ASSERT_EQ(pixel_type(loaded), PixelType::int16) << name;
    const auto& back = std::get<Image<std::int16_t, HostMemory>>(loaded);
    // DICOM's slice axis is row x column, so a series is always right-handed:
    // a left-handed source (anatomical.nii is LAS) comes back with k reversed,
    // the same physical image indexed from the other end.
    const auto expected = determinant(image.geometry().direction()) > 0 ? image : flip_k(image);
    expect_same_voxels(expected, back);
    // DICOM decimal strings carry 10 significant digits here.
    expect_same_geometry(expected.geometry(), back.geometry(), 1e-6);
    EXPECT_EQ(back.metadata().modality, Modality::MRI);
    EXPECT_EQ(back.metadata().tags.at("medimg|series_file_count"),
              std::to_string(image.geometry().size()[2]));
  }
}

TEST(Dicom, SingleFilesWithRescaleAndTags) {
  const auto ct = load_image(pydicom_data_dir + "/CT_small.dcm");
  const Metadata& meta = metadata(ct);
  EXPECT_EQ(meta.modality, Modality::CT);
  EXPECT_EQ(meta.patient_id, "1CT1");
  EXPECT_EQ(meta.tags.at("0008|0060"), "CT");
  EXPECT_EQ(meta.series_uid, "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322");
  const Geometry& g = geometry(ct);
  EXPECT_EQ(g.size()[0], 128);
  EXPECT_EQ(g.size()[2], 1);
  EXPECT_NEAR(g.spacing()[0], 0.661468, 1e-9);
  // One slice: z spacing is SliceThickness (5 mm), as dcm2niix writes it.
  EXPECT_EQ(g.spacing()[2], 5.0);
  EXPECT_EQ(read_image_header(pydicom_data_dir + "/CT_small.dcm").geometry.spacing()[2], 5.0);
  EXPECT_NEAR(g.origin()[0], -158.135803, 1e-9);
  // Stored values 128..2191 with RescaleIntercept -1024 (pydicom reads the same).
  std::visit(
      [](const auto& typed) {
        double lo = 1e30, hi = -1e30;
        for (std::int64_t n = 0; n < typed.geometry().voxel_count(); ++n) {
          lo = std::min(lo, static_cast<double>(typed.voxels().data()[n]));
          hi = std::max(hi, static_cast<double>(typed.voxels().data()[n]));
        }
        EXPECT_EQ(lo, 128.0 - 1024.0);
        EXPECT_EQ(hi, 2191.0 - 1024.0);
      },
      ct);
  EXPECT_EQ(metadata(load_image(pydicom_data_dir + "/MR_small.dcm")).modality, Modality::MRI);
  // NM stored as secondary capture: GDCM ignores PixelSpacing there,
  // medimg reads it (2.26 mm, as dcm2niix and pydicom do).
  const Geometry nm = geometry(load_image(pydicom_data_dir + "/JPEG2000.dcm"));
  EXPECT_EQ(nm.spacing()[0], 2.26);
  EXPECT_EQ(nm.spacing()[1], 2.26);
  EXPECT_EQ(read_image_header(pydicom_data_dir + "/JPEG2000.dcm").geometry.spacing()[0], 2.26);
}

// Debian 12's GDCM asserts (SIGABRT) on these pydicom files; medimg reads
// DICOM in a child process, so each is one error and this process lives on.
TEST(Dicom, FileThatAbortsGdcmIsOneErrorAndTheProcessLivesOn) {
  for (const char* name :
       {"rtdose_1frame.dcm", "rtdose_expb_1frame.dcm", "rtdose_rle_1frame.dcm"}) {
    const std::string path = pydicom_data_dir + "/" + name;
    expect_read_error(path, "the DICOM library aborted while reading it (signal 6");
    try {
      read_image_header(path);
      ADD_FAILURE() << path << ": header read without error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("aborted"), std::string::npos) << e.what();
    }
  }
  // GDCM's parser asserted on this one too; the length walk refuses it first
  // (ADamagedLengthIsSkippedBeforeGdcmParsesIt).
  expect_read_error(pydicom_data_dir + "/dicomdirtests/DICOMDIR-nooffset",
                    "damaged DICOM file: element (FFFE,E000) declares 248 bytes, 224 are left");
  // Afterwards, in the same process, a good file still reads.
  EXPECT_EQ(geometry(load_image(pydicom_data_dir + "/CT_small.dcm")).size()[0], 128);
}

// Copies pydicom's `name` into `dir`.
void copy_pydicom(const std::string& name, const fs::path& dir) {
  fs::copy_file(pydicom_data_dir + "/" + name, dir / fs::path(name).filename());
}

TEST(Dicom, FolderWithTwoSeriesListsBothAndReadsTheLargestWithAWarning) {
  const fs::path dir = scratch_dir();
  write_dicom_series(phantom_int16(oblique_geometry(Size3{8, 8, 3})), dir, "1.2.3.4.1", "a");
  write_dicom_series(phantom_int16(oblique_geometry(Size3{8, 8, 5})), dir, "1.2.3.4.2", "b");
  const DicomFolderListing listing = list_dicom_folder(dir.string());
  ASSERT_EQ(listing.series.size(), 2u);
  EXPECT_EQ(listing.series[0].id, "1.2.3.4.2");  // largest first
  EXPECT_EQ(listing.series[0].files, 5u);
  EXPECT_EQ(listing.series[0].size[2], 5);
  EXPECT_NEAR(listing.series[0].spacing[2], 2.9, 1e-9);
  EXPECT_EQ(listing.series[0].modality, "MR");
  EXPECT_EQ(listing.series[1].id, "1.2.3.4.1");
  EXPECT_TRUE(listing.skipped.empty());
  std::vector<std::string> warnings;
  EXPECT_EQ(geometry(load_collecting(dir.string(), warnings)).size()[2], 5);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("holds 2 DICOM series; read the largest, 1.2.3.4.2 (5 slices)"),
            std::string::npos)
      << warnings[0];
  warnings.clear();
  EXPECT_EQ(geometry(load_collecting(dir.string(), warnings, LoadOptions{"1.2.3.4.1"})).size()[2],
            3);
  EXPECT_TRUE(warnings.empty());  // the caller chose
  EXPECT_EQ(read_image_header(dir.string(), LoadOptions{"1.2.3.4.1"}).geometry.size()[2], 3);
  try {
    load_image(dir.string(), LoadOptions{"9.9.9"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no DICOM series with UID 9.9.9 (found: 1.2.3.4.2, "
                                         "1.2.3.4.1)"),
              std::string::npos)
        << e.what();
  }
}

// One UID, two orientations (a localizer): two series, as dcm2niix splits
// them, never one stack.
TEST(Dicom, OneUidWithTwoOrientationsIsTwoSeries) {
  const fs::path dir = scratch_dir();
  const auto axial = phantom_int16(oblique_geometry(Size3{8, 8, 4}));
  const Geometry g = oblique_geometry(Size3{8, 8, 2});
  const Geometry tilted(g.size(), g.origin(), g.spacing(),
                        multiply(rotation(Vec3{1, 0, 0}, 90.0), g.direction()));
  write_dicom_series(axial, dir, "1.2.3.9", "a");
  write_dicom_series(phantom_int16(tilted), dir, "1.2.3.9", "b");
  const DicomFolderListing listing = list_dicom_folder(dir.string());
  ASSERT_EQ(listing.series.size(), 2u);
  EXPECT_EQ(listing.series[0].id, "1.2.3.9#1");
  EXPECT_EQ(listing.series[0].size[2], 4);
  EXPECT_EQ(listing.series[1].id, "1.2.3.9#2");
  EXPECT_EQ(listing.series[1].size[2], 2);
  const auto second = load_image(dir.string(), LoadOptions{"1.2.3.9#2"});
  expect_same_geometry(tilted, geometry(second), 1e-6);
  // The bare UID names no single series now.
  try {
    load_image(dir.string(), LoadOptions{"1.2.3.9"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(found: 1.2.3.9#1, 1.2.3.9#2)"), std::string::npos)
        << e.what();
  }
}

// Files GDCM's image reader or its parser abort on, and objects that are not
// images, are skipped with their reason; the series next to them loads.
TEST(Dicom, FolderScreeningSkipsWhatIsNotAnImageSlice) {
  const fs::path dir = scratch_dir();
  write_dicom_series(phantom_int16(oblique_geometry(Size3{8, 8, 3})), dir, "1.2.3.7");
  copy_pydicom("dicomdirtests/DICOMDIR-nooffset", dir);  // GDCM's parser asserted
  copy_pydicom("rtdose_1frame.dcm", dir);                // GDCM's image reader asserts
  copy_pydicom("rtstruct.dcm", dir);
  copy_pydicom("dicomdirtests/DICOMDIR", dir);
  copy_pydicom("SC_rgb_rle.dcm", dir);
  write_file_bytes(dir / "README.txt", "notes\n");
  const DicomFolderListing listing = list_dicom_folder(dir.string());
  ASSERT_EQ(listing.series.size(), 1u);
  EXPECT_EQ(listing.series[0].size[2], 3);
  std::map<std::string, std::string> reasons;
  for (const DicomSkippedFile& f : listing.skipped) reasons[f.file] = f.reason;
  ASSERT_EQ(reasons.size(), 6u);
  // Its last directory record declares 24 bytes more than the file holds:
  // GDCM's parser asserted on it (the child died with SIGABRT); the length
  // walk now finds it first (read alone, it still reaches GDCM's image
  // reader, FileThatAbortsGdcmIsOneErrorAndTheProcessLivesOn).
  EXPECT_EQ(reasons["DICOMDIR-nooffset"],
            "damaged: element (FFFE,E000) declares 248 bytes, 224 are left in the sequence");
  EXPECT_EQ(reasons["rtdose_1frame.dcm"],
            "FrameIncrementPointer without NumberOfFrames (a malformed multi-frame object)");
  EXPECT_EQ(reasons["rtstruct.dcm"], "no pixel data (modality RTSTRUCT)");
  EXPECT_EQ(reasons["DICOMDIR"], "a DICOMDIR (an index of files, not an image)");
  EXPECT_EQ(reasons["SC_rgb_rle.dcm"], "3 samples per pixel (colour); medimg reads scalar images");
  EXPECT_EQ(reasons["README.txt"], "not a DICOM file GDCM can parse");
  std::vector<std::string> warnings;
  EXPECT_EQ(geometry(load_collecting(dir.string(), warnings)).size()[2], 3);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("skipped 6 file(s) that are not image slices"), std::string::npos)
      << warnings[0];
}

// GDCM re-reads what fails in the declared encoding in others; the walk
// does not follow those (it stops without a finding), the screen's memory
// limit bounds them (io/detail/child_memory.hpp). A File Meta group whose
// first VR is no VR: GDCM reads the group again in implicit VR, takes
// "\0\2\0U" for a length of 1.4 GB and zero-fills that (then asserts; a
// fuzzed corpus file: 1.4 GiB and 0.7 s in each child). Now the child's
// allocation fails and the file is skipped; read alone (ITK's GDCM reader
// in the header child, under the same bound) it is one error; no child
// grew past 200 MiB.
TEST(Dicom, WhatTheWalkCannotFollowIsBoundedByTheScreensMemoryLimit) {
  // Under AddressSanitizer (scripts/test.sh --sanitize) a failed operator
  // new ends the child (ASan reports it) instead of throwing: the file is
  // still skipped and the read still one error, with another reason; and
  // its runtime's memory is inherited by every child (no RSS bound).
  const char* sanitized_flag = std::getenv("MEDIMG_SANITIZED");
  const bool sanitized = sanitized_flag && std::string(sanitized_flag) == "1";
  const fs::path dir = scratch_dir();
  write_dicom_series(phantom_int16(oblique_geometry(Size3{8, 8, 3})), dir, "1.2.3.8");
  std::string bytes = std::string(128, '\0') + "DICM";
  bytes += std::string("\x02\x00\x01\x00\x00\x02\x00\x55", 8);
  bytes += std::string(300, 'x');
  write_file_bytes(dir / "meta.dcm", bytes);
  EXPECT_EQ(detail::dicom_length_problem((dir / "meta.dcm").string()), "");
  const DicomFolderListing listing = list_dicom_folder(dir.string());
  ASSERT_EQ(listing.series.size(), 1u);
  EXPECT_EQ(listing.series[0].size[2], 3);
  ASSERT_EQ(listing.skipped.size(), 1u);
  EXPECT_EQ(listing.skipped[0].file, "meta.dcm");
  if (!sanitized) {
    EXPECT_EQ(listing.skipped[0].reason, "not a DICOM file GDCM can parse");
  }
  expect_read_error((dir / "meta.dcm").string(),
                    sanitized ? "" : "not an image in a format medimg reads");
  EXPECT_THROW((void)read_image_header((dir / "meta.dcm").string()), Error);
  if (sanitized) return;
  rusage children{};
  ASSERT_EQ(getrusage(RUSAGE_CHILDREN, &children), 0);
  EXPECT_LT(children.ru_maxrss, 200 * 1024) << "KiB";  // 1.4 GiB without the limit
}

// The voxel read parses the file again (ITK's GDCM reader reads it whole),
// under a bound of its own (io/detail/child_memory.hpp: voxel_memory_budget).
// pydicom's CT slice with one VR made "|\0" (a fuzzed corpus file): GDCM
// re-reads the data set element by element, takes four bytes of a tag and
// a VR for a length of 1.2 GB and zero-fills it; the header's bound stopped
// that in the screen and the header child, and the voxel read then did it
// unbounded (2.5 s and 1.2 GiB for a 39 KB file). Now it fails there as
// well, GDCM goes on after it, and the voxels are the undamaged file's.
TEST(Dicom, TheVoxelReadIsBoundedAsTheHeaderIs) {
  const char* sanitized_flag = std::getenv("MEDIMG_SANITIZED");
  const bool sanitized = sanitized_flag && std::string(sanitized_flag) == "1";
  const fs::path good = scratch_dir() / "good";
  const fs::path damaged = scratch_dir() / "damaged";
  fs::create_directories(good);
  fs::create_directories(damaged);
  std::string bytes = read_file_bytes(pydicom_data_dir + "/CT_small.dcm");
  write_file_bytes(good / "ct.dcm", bytes);
  // (0008,0201) Timezone Offset From UTC, SH, 6 bytes.
  const std::string element("\x08\x00\x01\x02SH\x06\x00-0500 ", 14);
  const std::size_t at = bytes.find(element);
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at + 4, 3, std::string("|\0\0", 3));
  write_file_bytes(damaged / "ct.dcm", bytes);
  const AnyImage<HostMemory> expected = load_image(good.string());
  if (sanitized) {
    // A failed operator new ends the child under AddressSanitizer: one
    // error, or the voxels.
    try {
      (void)load_image(damaged.string());
    } catch (const Error&) {
    }
    return;
  }
  const AnyImage<HostMemory> read = load_image(damaged.string());
  ASSERT_EQ(read.index(), expected.index());
  std::visit(
      [&](const auto& typed) {
        using Typed = std::decay_t<decltype(typed)>;
        expect_same_voxels(std::get<Typed>(expected), typed);
      },
      read);
  rusage children{};
  ASSERT_EQ(getrusage(RUSAGE_CHILDREN, &children), 0);
  EXPECT_LT(children.ru_maxrss, 200 * 1024) << "KiB";  // 1.2 GiB without the bound
}

// pydicom's CT slice with Rows 128 made 256: 32 KiB of pixel data for 64
// KiB of image. In a folder the file is skipped with the reason; read
// alone it is one error (DicomLengths.NativePixelDataShorterThanTheImageIsFound).
TEST(Dicom, PixelDataShorterThanTheImageIsRefusedAsPydicomRefusesIt) {
  const fs::path dir = scratch_dir() / "short";
  fs::create_directories(dir);
  std::string bytes = read_file_bytes(pydicom_data_dir + "/CT_small.dcm");
  const std::string rows("\x28\x00\x10\x00US\x02\x00\x80\x00", 10);
  const std::size_t at = bytes.find(rows);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 8] = 0;
  bytes[at + 9] = 1;
  write_file_bytes(dir / "ct.dcm", bytes);
  const std::string why =
      "pixel data (7FE0,0010) holds 32768 bytes, 256 rows x 128 columns x 1 frame(s) x 1 "
      "sample(s) x 16 bits need 65536";
  expect_read_error((dir / "ct.dcm").string(), "damaged DICOM file: " + why);
  const DicomFolderListing listing = list_dicom_folder(dir.string());
  EXPECT_TRUE(listing.series.empty());
  ASSERT_EQ(listing.skipped.size(), 1u);
  EXPECT_EQ(listing.skipped[0].reason, "damaged: " + why);
  expect_read_error(dir.string(), why);
}

// Data elements as bytes, for the length walk (io/detail/dicom_lengths.hpp).
struct DicomBytes {
  std::string bytes;
  explicit DicomBytes(bool preamble = true) {
    if (preamble) bytes = std::string(128, '\0') + "DICM";
  }
  void u16(std::uint32_t v) {
    bytes += static_cast<char>(v & 0xff);
    bytes += static_cast<char>(v >> 8 & 0xff);
  }
  void u32(std::uint32_t v) {
    u16(v & 0xffff);
    u16(v >> 16);
  }
  void tag(std::uint16_t group, std::uint16_t element) {
    u16(group);
    u16(element);
  }
  // Explicit VR: a 2- or 4-byte length by VR; `length` may differ from the
  // value's size (a damaged length).
  DicomBytes& explicit_element(std::uint16_t group, std::uint16_t element, const char* vr,
                               const std::string& value, std::int64_t length = -1) {
    tag(group, element);
    bytes += vr;
    const std::uint32_t n =
        length < 0 ? static_cast<std::uint32_t>(value.size()) : static_cast<std::uint32_t>(length);
    const std::string name(vr);
    if (name == "OB" || name == "OW" || name == "SQ" || name == "UN" || name == "UT") {
      u16(0);
      u32(n);
    } else {
      u16(n);
    }
    bytes += value;
    return *this;
  }
  DicomBytes& implicit_element(std::uint16_t group, std::uint16_t element, const std::string& value,
                               std::int64_t length = -1) {
    tag(group, element);
    u32(length < 0 ? static_cast<std::uint32_t>(value.size()) : static_cast<std::uint32_t>(length));
    bytes += value;
    return *this;
  }
  // An item header (FFFE,E000) of `length` (0xffffffff: undefined), or an
  // item's delimiter.
  DicomBytes& item(std::uint32_t length) {
    tag(0xfffe, 0xe000);
    u32(length);
    return *this;
  }
  DicomBytes& item_end() {
    tag(0xfffe, 0xe00d);
    u32(0);
    return *this;
  }
  DicomBytes& meta(const std::string& transfer_syntax) {
    return explicit_element(0x0002, 0x0001, "OB", std::string("\0\1", 2))
        .explicit_element(0x0002, 0x0010, "UI", transfer_syntax);
  }
  std::string problem() const {
    return detail::dicom_length_problem(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                        bytes.size());
  }
};

// Native pixel data shorter than Rows x Columns x NumberOfFrames x
// SamplesPerPixel x BitsAllocated describe: GDCM and ITK read such a file
// and leave the rest of the image as the buffer was (a fuzzed 39 KB CT
// slice with Rows 64127: 128 x 64127 voxels from 32 KB); pydicom and
// dcm2niix refuse it. Only the top-level data set is checked (an icon in a
// sequence has its own), only native transfer syntaxes, and longer data
// pass (pydicom reads the first bytes).
TEST(DicomLengths, NativePixelDataShorterThanTheImageIsFound) {
  const std::string explicit_le = std::string("1.2.840.10008.1.2.1") + '\0';
  const auto us = [](std::uint16_t v) {
    return std::string{static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
  };
  const auto image = [&](const std::string& syntax, std::uint16_t bits, const std::string& frames,
                         std::size_t pixel_bytes) {
    DicomBytes d;
    d.meta(syntax)
        .explicit_element(0x0028, 0x0002, "US", us(1))
        .explicit_element(0x0028, 0x0008, "IS", frames)
        .explicit_element(0x0028, 0x0010, "US", us(4))
        .explicit_element(0x0028, 0x0011, "US", us(3))
        .explicit_element(0x0028, 0x0100, "US", us(bits))
        .explicit_element(0x7fe0, 0x0010, "OW", std::string(pixel_bytes, '\1'));
    return d;
  };
  EXPECT_EQ(image(explicit_le, 16, "1 ", 24).problem(), "");
  EXPECT_EQ(image(explicit_le, 16, "1 ", 26).problem(), "");  // longer: read as pydicom does
  EXPECT_EQ(image(explicit_le, 16, "1 ", 22).problem(),
            "pixel data (7FE0,0010) holds 22 bytes, 4 rows x 3 columns x 1 frame(s) x 1 "
            "sample(s) x 16 bits need 24");
  EXPECT_EQ(image(explicit_le, 16, "2 ", 24).problem(),
            "pixel data (7FE0,0010) holds 24 bytes, 4 rows x 3 columns x 2 frame(s) x 1 "
            "sample(s) x 16 bits need 48");
  EXPECT_EQ(image(explicit_le, 1, "1 ", 2).problem(), "");            // 12 bits, packed
  EXPECT_NE(image(explicit_le, 8, "99999999999", 64).problem(), "");  // no overflow
  // JPEG baseline: compressed, not checked.
  EXPECT_EQ(image(std::string("1.2.840.10008.1.2.4.50") + '\0', 16, "1 ", 4).problem(), "");
  // An icon's short pixel data inside a sequence item is not the image's.
  DicomBytes icon;
  icon.meta(explicit_le)
      .explicit_element(0x0028, 0x0010, "US", us(2))
      .explicit_element(0x0028, 0x0011, "US", us(2))
      .explicit_element(0x0028, 0x0100, "US", us(8));
  DicomBytes item(false);
  item.explicit_element(0x0028, 0x0010, "US", us(64))
      .explicit_element(0x0028, 0x0011, "US", us(64))
      .explicit_element(0x7fe0, 0x0010, "OB", std::string(2, '\0'));
  icon.explicit_element(0x0088, 0x0200, "SQ", "", 8 + static_cast<std::int64_t>(item.bytes.size()))
      .item(static_cast<std::uint32_t>(item.bytes.size()));
  icon.bytes += item.bytes;
  icon.explicit_element(0x7fe0, 0x0010, "OB", std::string(4, '\0'));
  EXPECT_EQ(icon.problem(), "");
  icon.bytes.resize(icon.bytes.size() - 4);
  icon.bytes[icon.bytes.size() - 4] = 3;  // the image's own pixel data: 3 bytes of 4
  icon.bytes += std::string(3, '\0');
  EXPECT_EQ(icon.problem(),
            "pixel data (7FE0,0010) holds 3 bytes, 2 rows x 2 columns x 1 frame(s) x 1 sample(s) "
            "x 8 bits need 4");
}

TEST(DicomLengths, ALengthPastItsContainerIsFoundWhereverTheWalkReaches) {
  const std::string explicit_le = std::string("1.2.840.10008.1.2.1") + '\0';
  const std::string implicit_le = std::string("1.2.840.10008.1.2") + '\0';
  // Sound files: nothing to report.
  DicomBytes sound;
  sound.meta(explicit_le)
      .explicit_element(0x0008, 0x0060, "CS", "CT")
      .explicit_element(0x0010, 0x0010, "PN", "Doe^J ")
      .explicit_element(0x7fe0, 0x0010, "OW", std::string(8, '\1'))
      .explicit_element(0xfffc, 0xfffc, "OB", std::string(4, '\0'));
  EXPECT_EQ(sound.problem(), "");
  // The walk goes past the pixel data, as GDCM's full read does: a
  // truncated file, and an element after the pixel data.
  DicomBytes truncated_pixels;
  truncated_pixels.meta(explicit_le)
      .explicit_element(0x0008, 0x0060, "CS", "CT")
      .explicit_element(0x7fe0, 0x0010, "OW", std::string(8, '\1'), 4000000);
  EXPECT_EQ(truncated_pixels.problem(),
            "element (7FE0,0010) declares 4000000 bytes, 8 are left in the file");
  DicomBytes trailer = sound;
  trailer.explicit_element(0xfffc, 0xfffc, "OB", "", 0x7fffffff);
  EXPECT_EQ(trailer.problem(),
            "element (FFFC,FFFC) declares 2147483647 bytes, 0 are left in the file");
  // The fuzz finding's shape: implicit VR, a private element of 0x46464646.
  DicomBytes fuzzed;
  fuzzed.meta(implicit_le)
      .implicit_element(0x0010, 0x0010, "Last^First^m")
      .implicit_element(0x4646, 0x4646, std::string(100, 'F'), 0x46464646);
  EXPECT_EQ(fuzzed.problem(),
            "element (4646,4646) declares 1179010630 bytes, 100 are left in the file");
  // Explicit VR, in the File Meta group itself.
  DicomBytes meta;
  meta.explicit_element(0x0002, 0x0001, "OB", "ab", 70000);
  EXPECT_EQ(meta.problem(), "element (0002,0001) declares 70000 bytes, 2 are left in the file");
  // Nested: an element of an item (undefined lengths) of a sequence, and
  // an item of defined length longer than its sequence.
  DicomBytes nested;
  nested.meta(explicit_le).explicit_element(0x0008, 0x1140, "SQ", "", 0xffffffff);
  nested.tag(0xfffe, 0xe000);
  nested.u32(0xffffffff);
  nested.explicit_element(0x0008, 0x1155, "UI", "1.2.3", 5)
      .explicit_element(0x0009, 0x1001, "UN", std::string(20, 'x'), 0x10000000);
  EXPECT_EQ(nested.problem(),
            "element (0009,1001) declares 268435456 bytes, 20 are left in the file");
  DicomBytes item;
  item.meta(explicit_le).explicit_element(0x0008, 0x1140, "SQ", "", 16);
  item.tag(0xfffe, 0xe000);
  item.u32(64);
  item.bytes += std::string(8, '\0');
  item.explicit_element(0x0008, 0x0060, "CS", "CT");
  EXPECT_EQ(item.problem(), "element (FFFE,E000) declares 64 bytes, 8 are left in the sequence");
  // No preamble: the first element shows the encoding (implicit here).
  DicomBytes raw(false);
  raw.implicit_element(0x0008, 0x0060, "MR").implicit_element(0x0028, 0x0010, "ab", 1u << 30);
  EXPECT_EQ(raw.problem(), "element (0028,0010) declares 1073741824 bytes, 2 are left in the file");
  // Without a preamble only a start of group 0002 or 0008 is walked: a
  // NIfTI header or a text file in a DICOM folder is not "damaged".
  DicomBytes nifti(false);
  nifti.implicit_element(0x015c, 0x0000, "", 0x7fffffff);
  DicomBytes text(false);
  text.bytes = "NRRD0004\ntype: float\n";
  EXPECT_EQ(nifti.problem(), "");
  EXPECT_EQ(text.problem(), "");
  // An element whose VR bytes are not printable, in an explicit data set:
  // GDCM reads it in implicit VR, so the two bytes and the 2-byte length are
  // a 4-byte one.
  DicomBytes unknown;
  unknown.meta(explicit_le)
      .explicit_element(0x0008, 0x0060, "\x01\x02", "CT")
      .explicit_element(0x0009, 0x1001, "UN", "x", 1u << 30);
  EXPECT_EQ(unknown.problem().rfind("element (0008,0060) declares 131585 bytes, ", 0), 0u)
      << unknown.problem();
  // Two printable characters that are no VR are UN to GDCM (a 4-byte length
  // after two reserved bytes), in the File Meta group as well (a corpus file
  // whose "Om" made GDCM allocate 2 GB and then assert).
  DicomBytes printable;
  printable.meta(explicit_le).explicit_element(0x0008, 0x0060, "ZZ", "", 0);
  printable.u32(0x40000000);
  printable.bytes += "CT";
  EXPECT_EQ(printable.problem(),
            "element (0008,0060) declares 1073741824 bytes, 2 are left in the file");
  DicomBytes printable_meta;
  printable_meta.explicit_element(0x0002, 0x0001, "Om", "", 0);
  printable_meta.u32(2087153001u);
  printable_meta.bytes += "img|";
  EXPECT_EQ(printable_meta.problem(),
            "element (0002,0001) declares 2087153001 bytes, 4 are left in the file");
  // After such an element GDCM reads each element by its own two bytes:
  // explicit where they are a VR, implicit where not (the fuzz corpus' file
  // that cost 3.2 GB: zeros read as implicit elements, explicit ones again,
  // the pixel data, then four bytes after it read as an implicit length).
  DicomBytes mixed;
  mixed.meta(explicit_le)
      .explicit_element(0x0008, 0x0060, "CS", "CT")
      .implicit_element(0x0028, 0x0000, "")
      .explicit_element(0x0028, 0x0010, "US", std::string("\x40\x00", 2))
      .explicit_element(0x7fe0, 0x0010, "OW", std::string(64, '\1'))
      .implicit_element(0xbb00, 0xb400, std::string(12, 'x'), 3204495360u);
  EXPECT_EQ(mixed.problem(),
            "element (BB00,B400) declares 3204495360 bytes, 12 are left in the file");
  // Implicit VR, a defined length: a value that starts with an item is a
  // sequence to GDCM (when asked for one) and pydicom, and is walked: an
  // element of an undefined-length item inside, and a defined-length item
  // longer than its sequence. A sound one, and bytes that happen to hold a
  // large number (no item tag first), are not findings.
  DicomBytes implicit_sequence;
  implicit_sequence.meta(implicit_le).implicit_element(0x0008, 0x0060, "CT");
  DicomBytes inner(false);
  inner.item(0xffffffff)
      .implicit_element(0x0008, 0x1155, "1.2.3")
      .implicit_element(0x0029, 0x1010, std::string(6, 'x'), 0x20000000);
  implicit_sequence.implicit_element(0x5200, 0x9229, inner.bytes);
  EXPECT_EQ(implicit_sequence.problem(),
            "element (0029,1010) declares 536870912 bytes, 6 are left in the sequence");
  DicomBytes long_item;
  long_item.meta(implicit_le);
  DicomBytes items(false);
  items.item(40).implicit_element(0x0008, 0x0060, "CT");
  long_item.implicit_element(0x0008, 0x1140, items.bytes);
  EXPECT_EQ(long_item.problem(),
            "element (FFFE,E000) declares 40 bytes, 10 are left in the sequence");
  DicomBytes sound_implicit;
  sound_implicit.meta(implicit_le);
  DicomBytes sound_items(false);
  sound_items.item(10)
      .implicit_element(0x0008, 0x0060, "CT")
      .item(0xffffffff)
      .implicit_element(0x0008, 0x0060, "MR")
      .item_end();
  sound_implicit.implicit_element(0x0008, 0x1140, sound_items.bytes)
      .implicit_element(0x0009, 0x1001, std::string("\xff\xff\xff\x7f\0\0\0\0", 8))
      .implicit_element(0x7fe0, 0x0010, std::string(8, '\1'));
  EXPECT_EQ(sound_implicit.problem(), "");
  // What the walk cannot follow ends it without a finding: VR bytes that
  // are not printable in the File Meta group, a deflated data set, a stray
  // delimiter.
  DicomBytes bad_meta;
  bad_meta.explicit_element(0x0002, 0x0001, "\x01\x02", "ab")
      .explicit_element(0x0009, 0x1001, "UN", "x", 1u << 30);
  EXPECT_EQ(bad_meta.problem(), "");
  DicomBytes deflated;
  deflated.meta(std::string("1.2.840.10008.1.2.1.99"))
      .explicit_element(0x0009, 0x1001, "UN", "x", 1u << 30);
  EXPECT_EQ(deflated.problem(), "");
  DicomBytes stray;
  stray.meta(explicit_le);
  stray.tag(0xfffe, 0xe0dd);
  stray.u32(0);
  stray.explicit_element(0x0009, 0x1001, "UN", "x", 1u << 30);
  EXPECT_EQ(stray.problem(), "");
  // Damage inside: truncated headers never read past the end.
  for (std::size_t cut = 0; cut < fuzzed.bytes.size(); cut += 7) {
    DicomBytes truncated = fuzzed;
    truncated.bytes.resize(cut);
    (void)truncated.problem();
  }
}

// A slice whose private element declares 1 GiB is skipped with that reason
// before GDCM reads it (GDCM would allocate the gigabyte first); the folder's
// other slices load.
TEST(Dicom, ADamagedLengthIsSkippedBeforeGdcmParsesIt) {
  const fs::path dir = scratch_dir();
  write_dicom_series(phantom_int16(oblique_geometry(Size3{8, 8, 3})), dir, "1.2.3.8");
  std::vector<fs::path> slices;
  for (const auto& entry : fs::directory_iterator(dir)) slices.push_back(entry.path());
  std::sort(slices.begin(), slices.end());
  ASSERT_EQ(slices.size(), 3u);
  std::string bytes = read_file_bytes(slices[0]);
  ASSERT_TRUE(detail::dicom_length_problem(slices[0].string()).empty());
  // ITK's writer writes implicit VR little endian.
  const std::size_t pixels = bytes.find(std::string("\xe0\x7f\x10\x00", 4));
  ASSERT_NE(pixels, std::string::npos);
  DicomBytes damaged(false);
  damaged.implicit_element(0x0009, 0x1001, std::string(16, 'x'), 1u << 30);
  bytes.insert(pixels, damaged.bytes);
  write_file_bytes(slices[0], bytes);
  const DicomFolderListing listing = list_dicom_folder(dir.string());
  ASSERT_EQ(listing.skipped.size(), 1u);
  EXPECT_EQ(listing.skipped[0].reason, "damaged: element (0009,1001) declares 1073741824 bytes, " +
                                           std::to_string(bytes.size() - pixels - 8) +
                                           " are left in the file");
  ASSERT_EQ(listing.series.size(), 1u);
  EXPECT_EQ(listing.series[0].size[2], 2);
  // Read alone, before ITK probes it with GDCM.
  expect_read_error(slices[0].string(),
                    "damaged DICOM file: element (0009,1001) declares 1073741824 bytes");
  // pydicom's MR_truncated.dcm lacks the last 62 bytes of its pixel data:
  // ITK read it, the missing voxels made up; refused as every truncated
  // file is (NIfTI, MetaImage).
  expect_read_error(pydicom_data_dir + "/MR_truncated.dcm",
                    "damaged DICOM file: element (7FE0,0010) declares 8192 bytes, 8130 are left in "
                    "the file");
}

// The screen has a time limit per file (header_timeout()): a file GDCM
// reads for longer (a loop on a damaged file) is skipped as damaged, and
// the scan goes on with the next file in a new child. The long file here is
// 3,932,160 empty private elements, 31 MB (`medimg info` on it alone: 1.6 s
// and 254 MiB; a quarter of them took GDCM 0.1-0.2 s on a fresh VM, too
// close to the limit; the length walk takes milliseconds), the limit 0.2 s
// per file.
TEST(Dicom, AFileScreenedPastTheTimeLimitIsSkippedAndTheScanGoesOn) {
  const fs::path dir = scratch_dir();
  write_dicom_series(phantom_int16(oblique_geometry(Size3{8, 8, 2})), dir, "1.2.3.9");
  DicomBytes slow;
  slow.meta(std::string("1.2.840.10008.1.2") + '\0');
  for (std::uint16_t group = 0x0009; group < 0x0089; group += 2) {
    for (std::uint32_t element = 0x1000; element < 0x10000; ++element) {
      slow.implicit_element(group, static_cast<std::uint16_t>(element), "");
    }
  }
  write_file_bytes(dir / "a_slow.dcm", slow.bytes);
  ASSERT_EQ(slow.problem(), "");
  ::setenv("MEDIMG_HEADER_TIMEOUT", "0.2", 1);
  const DicomFolderListing listing = list_dicom_folder(dir.string());
  ::unsetenv("MEDIMG_HEADER_TIMEOUT");
  ASSERT_EQ(listing.skipped.size(), 1u);
  EXPECT_EQ(listing.skipped[0].file, "a_slow.dcm");
  EXPECT_EQ(listing.skipped[0].reason,
            "damaged: the DICOM library did not finish reading it in 0.2 s (a damaged file?) and "
            "was stopped");
  ASSERT_EQ(listing.series.size(), 1u);
  EXPECT_EQ(listing.series[0].size[2], 2);
}

// pydicom's dicomdirtests: CT2's gaps are uneven (refused, naming the
// positions); the localizers that mix orientations under one UID are one
// series per orientation; every folder ends in a result or one error.
TEST(Dicom, PydicomFoldersAreSplitOrRefusedAsDcm2niixWould) {
  const std::string dirs = pydicom_data_dir + "/dicomdirtests";
  expect_read_error(dirs + "/77654033/CT2",
                    "is not one volume: slice spacing varies by more than 1% (positions along the "
                    "normal -99.48, 103.02, 104.27, 105.52 mm; gaps 202.5, 1.25, 1.25 mm)");
  EXPECT_EQ(list_dicom_folder(dirs + "/98892003/MR700").series.size(), 7u);
  EXPECT_EQ(list_dicom_folder(dirs + "/98892003/MR2").series.size(), 7u);
  EXPECT_EQ(list_dicom_folder(dirs + "/98892001/CT2N").series.size(), 2u);
  EXPECT_EQ(geometry(load_image(dirs + "/98892001/CT5N")).size()[2], 5);
  for (const auto& entry : fs::recursive_directory_iterator(pydicom_data_dir)) {
    if (!entry.is_directory()) continue;
    try {
      load_image(entry.path().string());
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

// ------------------------------------------------------------ vs dcm2niix

// dcm2niix's NIfTI files for `input` (a folder, or one file), in `out`.
std::vector<fs::path> run_dcm2niix(const fs::path& input, const fs::path& out) {
  fs::create_directories(out);
  const bool file = fs::is_regular_file(input);
  const std::string command = std::string(MEDIMG_TEST_DCM2NIIX) + " -z n -b n -f %s_%j" +
                              (file ? " -s y" : "") + " -o '" + out.string() + "' '" +
                              input.string() + "' > '" + (out / "log.txt").string() + "' 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::vector<fs::path> written;
  for (const auto& entry : fs::directory_iterator(out)) {
    if (entry.path().extension() == ".nii") written.push_back(entry.path());
  }
  std::sort(written.begin(), written.end());
  return written;
}

// Whether `theirs` puts the same values at the same points as `ours`: its
// index grid is ours with the axes permuted or reversed (dcm2niix flips rows
// for NIfTI), the corners agree to 1e-3 voxel, and every voxel is equal.
::testing::AssertionResult same_physical_image(const AnyImage<HostMemory>& ours_any,
                                               const AnyImage<HostMemory>& theirs_any) {
  const auto ours = std::get<Image<double, HostMemory>>(cast_to(ours_any, PixelType::float64));
  const auto theirs = std::get<Image<double, HostMemory>>(cast_to(theirs_any, PixelType::float64));
  const Geometry& a = ours.geometry();
  const Geometry& b = theirs.geometry();
  const Vec3 start = b.physical_to_continuous_index(a.index_to_physical(Vec3{0, 0, 0}));
  Mat3 step;  // step[r][c]: b's index r per a's index c
  for (int c = 0; c < 3; ++c) {
    Vec3 unit{0, 0, 0};
    unit[c] = 1.0;
    const Vec3 moved = b.physical_to_continuous_index(a.index_to_physical(unit));
    for (int r = 0; r < 3; ++r) step[r][c] = moved[r] - start[r];
  }
  Size3 expected_size{0, 0, 0};
  for (int r = 0; r < 3; ++r) {
    int nonzero = 0;
    for (int c = 0; c < 3; ++c) {
      const double s = step[r][c];
      if (std::abs(s) > 1e-3) {
        if (std::abs(std::abs(s) - 1.0) > 1e-3) {
          return ::testing::AssertionFailure()
                 << "index step " << s << " along axis " << c << " (spacing differs)";
        }
        ++nonzero;
        expected_size[r] = a.size()[c];
      }
    }
    if (nonzero != 1) return ::testing::AssertionFailure() << "axes are not a permutation";
    if (std::abs(start[r] - std::round(start[r])) > 1e-3) {
      return ::testing::AssertionFailure() << "corners differ by " << start[r] << " voxels";
    }
  }
  for (int r = 0; r < 3; ++r) {
    if (expected_size[r] != b.size()[r]) return ::testing::AssertionFailure() << "sizes differ";
  }
  std::int64_t differing = 0;
  for (std::int64_t k = 0; k < a.size()[2]; ++k) {
    for (std::int64_t j = 0; j < a.size()[1]; ++j) {
      for (std::int64_t i = 0; i < a.size()[0]; ++i) {
        std::int64_t at[3];
        for (int r = 0; r < 3; ++r) {
          at[r] = std::llround(start[r] + step[r][0] * i + step[r][1] * j + step[r][2] * k);
        }
        const double x = ours.voxels()(i, j, k), y = theirs.voxels()(at[0], at[1], at[2]);
        if (std::abs(x - y) > 1e-3 * std::max(1.0, std::abs(x))) ++differing;
      }
    }
  }
  if (differing > 0) return ::testing::AssertionFailure() << differing << " voxels differ";
  return ::testing::AssertionSuccess();
}

// Every NIfTI file dcm2niix writes for `input` matches exactly one series
// medimg reads there (one file: that file), and the counts agree.
void expect_same_as_dcm2niix(const fs::path& input, const fs::path& out) {
  const std::vector<fs::path> written = run_dcm2niix(input, out);
  std::vector<AnyImage<HostMemory>> ours;
  if (fs::is_directory(input)) {
    for (const DicomSeriesInfo& s : list_dicom_folder(input.string()).series) {
      ours.push_back(load_image(input.string(), LoadOptions{s.id}));
    }
  } else {
    ours.push_back(load_image(input.string()));
  }
  ASSERT_EQ(written.size(), ours.size()) << input;
  for (const fs::path& nii : written) {
    const AnyImage<HostMemory> theirs = load_image(nii.string());
    int matches = 0;
    std::string why;
    for (const AnyImage<HostMemory>& candidate : ours) {
      const auto result = same_physical_image(candidate, theirs);
      if (result) {
        ++matches;
      } else {
        why += std::string(" [") + result.message() + "]";
      }
    }
    EXPECT_EQ(matches, 1) << input << " vs " << nii.filename() << ":" << why;
  }
}

TEST(Dicom, GeometryAndVoxelsEqualDcm2niix) {
  const fs::path dir = scratch_dir();
  // Series GDCM wrote: an oblique anisotropic phantom, and a real LAS
  // NIfTI (which comes back right-handed, k reversed).
  const auto anatomical = load_image_as<std::int16_t>(nibabel_data_dir + "/anatomical.nii");
  write_dicom_series(phantom_int16(oblique_geometry(Size3{20, 18, 7})), dir / "oblique",
                     "1.2.826.0.1.3680043.2.1125.3.1");
  write_dicom_series(anatomical, dir / "anatomical", "1.2.826.0.1.3680043.2.1125.3.2");
  expect_same_as_dcm2niix(dir / "oblique", dir / "oblique_nii");
  expect_same_as_dcm2niix(dir / "anatomical", dir / "anatomical_nii");
  // pydicom's folders (oblique angio projections, tri-planar localizers, an
  // axial CT) and single files (CT and MR slices: SliceThickness as k).
  const std::string dirs = pydicom_data_dir + "/dicomdirtests";
  for (const char* folder :
       {"/98892001/CT5N", "/98892003/MR700", "/98892003/MR2", "/98892003/MR1"}) {
    expect_same_as_dcm2niix(dirs + folder, dir / (std::string("pydicom") + folder));
  }
  for (const char* file : {"CT_small.dcm", "MR_small.dcm"}) {
    expect_same_as_dcm2niix(pydicom_data_dir + "/" + file, dir / file);
  }
  // nibabel's MR slice with decimal rescale values (its Siemens mosaics are
  // not de-mosaicked; dcm2niix 1.0.20220720 cannot decode its J2K slice).
  expect_same_as_dcm2niix(nibabel_data_dir + "/../../nicom/tests/data/decimal_rescale.dcm",
                          dir / "decimal_rescale");
}

}  // namespace
}  // namespace medimg::test
