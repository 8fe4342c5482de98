// The ITK module's images (include/medimg/io/detail/itk_module.hpp): NRRD,
// MetaImage, PNG and DICOM files read and written through ITK and GDCM, and
// the module's entry point. The rules are image_io.hpp's; this file only
// turns ITK's images into voxels for a VoxelSink and back.
#include <itkGDCMImageIO.h>
#include <itkGDCMImageIOFactory.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkImageIOFactory.h>
#include <itkImageSeriesReader.h>
#include <itkMetaDataObject.h>
#include <itkMetaImageIOFactory.h>
#include <itkMultiThreaderBase.h>
#include <itkNrrdImageIOFactory.h>
#include <itkPNGImageIOFactory.h>
#include <itkRGBPixel.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <sstream>
#include <type_traits>

#include "itk_module/module.hpp"
#include "medimg/core/error.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/detail/dicom_lengths.hpp"
#include "medimg/io/detail/itk_module.hpp"
#include "medimg/io/detail/payload_check.hpp"
#include "medimg/io/itk_bridge.hpp"

namespace medimg::itk_module {

namespace {

using detail::GridAndType;
using detail::VoxelSink;

void register_io_factories() {
  static std::once_flag once;
  std::call_once(once, [] {
    itk::NrrdImageIOFactory::RegisterOneFactory();
    itk::MetaImageIOFactory::RegisterOneFactory();
    itk::GDCMImageIOFactory::RegisterOneFactory();
    itk::PNGImageIOFactory::RegisterOneFactory();
    // Problems reach the caller as medimg::Error; ITK's warnings on stderr
    // would only interleave with a batch job's output.
    itk::Object::SetGlobalWarningDisplay(false);
  });
}

// Some ITK readers (MetaIO) print their complaints to std::cerr instead of
// putting them in the exception. While a reader runs, std::cerr goes here, so
// the CLI's error stays one line and the complaint is not lost. std::cerr is
// process-wide, so captures (and the ITK reads inside them) take turns.
class CapturedStderr {
 public:
  // In an isolated child no other thread exists, and one of the parent's
  // may have held the lock when it forked: the child does not take it.
  CapturedStderr() : m_lock(mutex(), std::defer_lock) {
    if (!in_isolated_child()) m_lock.lock();
    m_previous = std::cerr.rdbuf(m_buffer.rdbuf());
  }
  ~CapturedStderr() { std::cerr.rdbuf(m_previous); }
  CapturedStderr(const CapturedStderr&) = delete;
  CapturedStderr& operator=(const CapturedStderr&) = delete;
  std::string text() const {
    std::string t = m_buffer.str();
    for (char& c : t) {
      if (c == '\n') c = ' ';
    }
    while (!t.empty() && t.back() == ' ') t.pop_back();
    return t;
  }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  std::unique_lock<std::mutex> m_lock;
  std::ostringstream m_buffer;
  std::streambuf* m_previous = nullptr;
};

// The first line of an ITK exception's description, without ITK's source
// location boilerplate.
std::string describe(const itk::ExceptionObject& e) {
  std::string text = e.GetDescription();
  const std::string prefix = "ITK ERROR: ";
  if (text.compare(0, prefix.size(), prefix) == 0) {
    const auto end = text.find("): ");
    text.erase(0, end == std::string::npos ? prefix.size() : end + 3);
  }
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '.')) text.pop_back();
  return text.empty() ? std::string("ITK could not read it") : text;
}

std::string component_name(itk::IOComponentEnum component) {
  return itk::ImageIOBase::GetComponentTypeAsString(component);
}

PixelType pixel_type_of_io(const itk::ImageIOBase& io, const std::string& path) {
  if (io.GetNumberOfComponents() != 1) {
    throw Error("cannot read '" + path + "': unsupported pixel type (" +
                std::to_string(io.GetNumberOfComponents()) + "-component " +
                itk::ImageIOBase::GetPixelTypeAsString(io.GetPixelType()) +
                "); medimg reads scalar images");
  }
  switch (io.GetComponentType()) {
    case itk::IOComponentEnum::UCHAR: return PixelType::uint8;
    case itk::IOComponentEnum::SHORT: return PixelType::int16;
    case itk::IOComponentEnum::USHORT: return PixelType::uint16;
    case itk::IOComponentEnum::INT: return PixelType::int32;
    case itk::IOComponentEnum::FLOAT: return PixelType::float32;
    case itk::IOComponentEnum::DOUBLE: return PixelType::float64;
    default: break;
  }
  throw Error("cannot read '" + path + "': unsupported pixel type " +
              component_name(io.GetComponentType()) +
              " (medimg reads uint8, int16, uint16, int32, float32, float64)");
}

// The grid the header describes, validated before any voxel is read.
Geometry header_geometry(const itk::ImageIOBase& io, const std::string& path) {
  const unsigned dims = io.GetNumberOfDimensions();
  if (dims < 2) {
    throw Error("cannot read '" + path + "': " + std::to_string(dims) +
                "-dimensional image; medimg needs a 2D or 3D image");
  }
  for (unsigned d = 3; d < dims; ++d) {
    if (io.GetDimensions(d) > 1) {
      throw Error("cannot read '" + path + "': " + std::to_string(dims) + "D image with " +
                  std::to_string(io.GetDimensions(d)) + " points along axis " + std::to_string(d) +
                  "; medimg needs a 3D image (extract one volume first)");
    }
  }
  Size3 size{1, 1, 1};
  Vec3 origin{0.0, 0.0, 0.0};
  Vec3 spacing{1.0, 1.0, 1.0};
  Mat3 direction = identity_matrix();
  for (unsigned c = 0; c < std::min(dims, 3u); ++c) {
    size[c] = static_cast<std::int64_t>(io.GetDimensions(c));
    origin[c] = io.GetOrigin(c);
    spacing[c] = io.GetSpacing(c);
    const std::vector<double> axis = io.GetDirection(c);
    for (unsigned r = 0; r < 3; ++r) direction[r][c] = r < axis.size() ? axis[r] : 0.0;
  }
  if (dims == 2) direction[2][2] = 1.0;
  try {
    return Geometry(size, origin, spacing, direction);
  } catch (const Error& e) {
    throw Error("cannot read '" + path + "': " + e.what());
  }
}

bool is_utf8(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t extra = c < 0x80           ? 0
                              : (c >> 5) == 0x6  ? 1
                              : (c >> 4) == 0xe  ? 2
                              : (c >> 3) == 0x1e ? 3
                                                 : 9;
    if (extra == 9 || i + extra >= text.size() + (extra == 0 ? 1 : 0)) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) >> 6) != 0x2)
        return false;
    }
    i += extra + 1;
  }
  return true;
}

// DICOM text is UTF-8 already (ISO_IR 192, or plain ASCII) or, in the
// character sets medimg meets (ISO_IR 100, Latin-1, the default repertoire's
// common extension), one byte per character: those bytes are re-encoded.
std::string as_utf8(const std::string& text) {
  if (is_utf8(text)) return text;
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

// String-valued entries of an ITK dictionary (DICOM tags, NIfTI descrip ...).
Metadata metadata_from(const itk::MetaDataDictionary& dictionary) {
  Metadata metadata;
  for (const std::string& key : dictionary.GetKeys()) {
    std::string value;
    if (itk::ExposeMetaData<std::string>(dictionary, key, value)) {
      while (!value.empty() && (value.back() == ' ' || value.back() == '\0')) value.pop_back();
      metadata.tags[key] = as_utf8(value);
    }
  }
  auto tag = [&metadata](const char* key) {
    auto found = metadata.tags.find(key);
    return found == metadata.tags.end() ? std::string() : found->second;
  };
  metadata.modality = modality_from_dicom(tag("0008|0060"));
  if (metadata.modality == Modality::CT) metadata.subtype = Subtype::CT;
  metadata.patient_id = tag("0010|0020");
  metadata.study_uid = tag("0020|000d");
  metadata.series_uid = tag("0020|000e");
  return metadata;
}

// Runs an ITK call that reads `path`, turning its failure into medimg::Error.
template <class Call>
void itk_read(const std::string& path, Call&& call) {
  CapturedStderr captured;
  try {
    call();
  } catch (const itk::ExceptionObject& e) {
    const std::string details = captured.text();
    throw Error("cannot read '" + path + "': " + describe(e) +
                (details.empty() ? "" : " (" + details + ")"));
  }
}

// The ImageIO of a single file, its header read and validated.
struct FileHeader {
  itk::ImageIOBase::Pointer io;
  PixelType type;
  Geometry geometry;
};

// The z spacing of a single DICOM slice, as dcm2niix writes it:
// SpacingBetweenSlices when > 0, else SliceThickness; 0 when neither is set
// (ITK 5.2 gives 1).
double single_slice_spacing(const itk::MetaDataDictionary& dictionary) {
  auto tag = [&dictionary](const char* key) {
    std::string value;
    if (!itk::ExposeMetaData<std::string>(dictionary, key, value)) return 0.0;
    try {
      const double number = std::stod(value);
      return std::isfinite(number) && number > 0.0 ? number : 0.0;
    } catch (const std::exception&) {
      return 0.0;
    }
  };
  const double between = tag("0018|0088");
  return between > 0.0 ? between : tag("0018|0050");
}

// The in-plane spacing of a DICOM file: its PixelSpacing (0028,0030) when
// present, as dcm2niix reads it. GDCM 3.0 ignores that tag for
// secondary-capture objects (NM files stored as SC read 2.26 mm as 1).
Geometry with_dicom_pixel_spacing(const Geometry& g, const itk::MetaDataDictionary& dictionary) {
  std::string text;
  if (!itk::ExposeMetaData<std::string>(dictionary, "0028|0030", text)) return g;
  const auto [column, row] = pixel_spacing_from_tag(text);
  if (column <= 0.0) return g;
  return Geometry(g.size(), g.origin(), Vec3{column, row, g.spacing()[2]}, g.direction());
}

// The geometry with its k spacing replaced (a single slice's thickness).
Geometry with_k_spacing(const Geometry& g, double spacing) {
  return Geometry(g.size(), g.origin(), Vec3{g.spacing()[0], g.spacing()[1], spacing},
                  g.direction());
}

FileHeader read_file_header(const std::string& path) {
  // Before ITK asks GDCM whether it can read the file (GDCM would allocate
  // what a damaged length declares; io/detail/dicom_lengths.hpp).
  const std::string damaged = detail::dicom_length_problem(path);
  if (!damaged.empty()) throw Error("cannot read '" + path + "': damaged DICOM file: " + damaged);
  itk::ImageIOBase::Pointer io =
      itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::IOFileModeEnum::ReadMode);
  if (!io) {
    throw Error("cannot read '" + path +
                "': not an image in a format medimg reads (NIfTI, NRRD, MetaImage, DICOM, PNG)");
  }
  io->SetFileName(path);
  detail::check_before_header(path, io->GetNameOfClass());
  itk_read(path, [&io] { io->ReadImageInformation(); });
  const PixelType type = pixel_type_of_io(*io, path);
  Geometry geometry = header_geometry(*io, path);
  if (std::string(io->GetNameOfClass()) == "GDCMImageIO") {
    geometry = with_dicom_pixel_spacing(geometry, io->GetMetaDataDictionary());
    const double thickness = single_slice_spacing(io->GetMetaDataDictionary());
    if (geometry.size()[2] == 1 && thickness > 0.0) geometry = with_k_spacing(geometry, thickness);
  }
  return {io, type, geometry};
}

// The grid of an image ITK produced (or of a reader's output information),
// with errors naming `path`.
template <class T>
Geometry geometry_of(const itk::Image<T, 3>& image, const std::string& path) {
  try {
    return geometry_of_itk(image);
  } catch (const Error& e) {
    throw Error("cannot read '" + path + "': " + e.what());
  }
}

// DICOM 1-bit images (BitsAllocated 1: segmentations, overlays) hold 0 and
// 1; GDCM unpacks the set bits as 255. medimg keeps the file's values, as
// pydicom and dcm2niix do.
template <class T>
void one_bit_values(T* voxels, std::int64_t count, const Metadata& metadata) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    const auto found = metadata.tags.find("0028|0100");
    if (found == metadata.tags.end() || found->second != "1") return;
    for (std::int64_t n = 0; n < count; ++n) voxels[n] = voxels[n] != 0;
  }
}

// Hands ITK's voxels to the sink (the one copy of a read through ITK).
template <class T>
void deliver(const itk::Image<T, 3>& image, const Geometry& geometry, Metadata metadata,
             VoxelSink& sink) {
  const std::int64_t count = geometry.voxel_count();
  const bool one_bit = metadata.tags.count("0028|0100") != 0;
  Metadata kept = one_bit ? metadata : Metadata{};
  auto* out = static_cast<T*>(sink.voxels(geometry, pixel_type_of<T>(), std::move(metadata)));
  std::memcpy(out, image.GetBufferPointer(), static_cast<std::size_t>(count) * sizeof(T));
  if (one_bit) one_bit_values(out, count, kept);
}

}  // namespace

void prepare_isolated_child() {
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(1);
}

GridAndType read_header(const std::string& path) {
  register_io_factories();
  const FileHeader header = read_file_header(path);
  return {header.geometry, header.type};
}

void read_file(const std::string& path, VoxelSink& sink) {
  register_io_factories();
  const FileHeader header = read_file_header(path);
  const itk::ImageIOBase::Pointer& io = header.io;
  detail::check_after_header(
      path, io->GetNameOfClass(),
      static_cast<std::uint64_t>(header.geometry.voxel_count()) * io->GetComponentSize());
  visit_pixel_type(header.type, [&](auto zero) {
    using T = decltype(zero);
    auto reader = itk::ImageFileReader<itk::Image<T, 3>>::New();
    reader->SetFileName(path);
    reader->SetImageIO(io);
    itk_read(path, [&reader] { reader->Update(); });
    const Geometry read = geometry_of(*reader->GetOutput(), path);
    // The spacing the header rules above chose (DICOM: PixelSpacing, a
    // single slice's thickness).
    const Geometry geometry(read.size(), read.origin(), header.geometry.spacing(),
                            read.direction());
    deliver(*reader->GetOutput(), geometry, metadata_from(io->GetMetaDataDictionary()), sink);
    return 0;
  });
}

namespace {

// Adds the series' tags to what a single-file read delivers.
class SeriesSink : public VoxelSink {
 public:
  SeriesSink(VoxelSink& sink, const detail::DicomSeriesFiles& series)
      : m_sink(sink), m_series(series) {}
  void* voxels(const Geometry& geometry, PixelType type, Metadata metadata) override {
    metadata.tags["medimg|series_file_count"] = std::to_string(m_series.files.size());
    metadata.tags["medimg|series_id"] = m_series.info.id;
    return m_sink.voxels(geometry, type, std::move(metadata));
  }

 private:
  VoxelSink& m_sink;
  const detail::DicomSeriesFiles& m_series;
};

// A series of several single-frame files, in the order the scan sorted them
// (along the slice normal: k's direction is row x column, right-handed).
void read_dicom_slices(const std::string& folder, const detail::DicomSeriesFiles& series,
                       VoxelSink& sink) {
  const std::vector<std::string>& files = series.files;
  auto io = itk::GDCMImageIO::New();
  io->SetFileName(files.front());
  itk_read(files.front(), [&io] { io->ReadImageInformation(); });
  const PixelType type = pixel_type_of_io(*io, folder);
  visit_pixel_type(type, [&](auto zero) {
    using T = decltype(zero);
    auto reader = itk::ImageSeriesReader<itk::Image<T, 3>>::New();
    reader->SetImageIO(io);
    reader->SetFileNames(files);
    itk_read(folder, [&reader] { reader->Update(); });
    Geometry geometry = geometry_of(*reader->GetOutput(), folder);
    geometry = with_dicom_pixel_spacing(geometry, io->GetMetaDataDictionary());
    SeriesSink tagged(sink, series);
    deliver(*reader->GetOutput(), geometry, metadata_from(io->GetMetaDataDictionary()), tagged);
    return 0;
  });
}

}  // namespace

void read_dicom_series(const std::string& folder, const detail::DicomSeriesFiles& series,
                       VoxelSink& sink) {
  register_io_factories();
  if (series.files.size() > 1) {
    read_dicom_slices(folder, series, sink);
    return;
  }
  // One file (a single slice or a multi-frame object): the single-file path.
  SeriesSink tagged(sink, series);
  read_file(series.files.front(), tagged);
}

GridAndType read_dicom_series_header(const std::string& folder,
                                     const detail::DicomSeriesFiles& series) {
  register_io_factories();
  const std::vector<std::string>& files = series.files;
  if (files.size() == 1) return read_header(files.front());
  auto io = itk::GDCMImageIO::New();
  io->SetFileName(files.front());
  itk_read(files.front(), [&io] { io->ReadImageInformation(); });
  const PixelType type = pixel_type_of_io(*io, folder);
  using Float = itk::Image<float, 3>;
  auto reader = itk::ImageSeriesReader<Float>::New();
  reader->SetImageIO(io);
  reader->SetFileNames(files);
  itk_read(folder, [&reader] { reader->UpdateOutputInformation(); });
  const Geometry geometry = geometry_of(*reader->GetOutput(), folder);
  try {
    return {with_dicom_pixel_spacing(geometry, io->GetMetaDataDictionary()), type};
  } catch (const Error& e) {
    throw Error("cannot read '" + folder + "': " + e.what());
  }
}

namespace {

// Runs an ITK write of `target` (the temporary file of `path`); a failure
// becomes one medimg::Error naming `path`. What the writer prints instead of
// throwing (MetaIO: "file stream is fail after write", then success) is
// captured and returned for verify_written.
template <class Write>
std::string itk_write(const std::string& path, const std::string& target, Write&& write) {
  CapturedStderr captured;
  errno = 0;
  try {
    write();
  } catch (const itk::ExceptionObject& e) {
    const std::string cause = write_failure_cause(errno, target);
    throw Error("cannot write '" + path + "': " + (cause.empty() ? describe(e) : cause));
  }
  return captured.text();
}

// ITK's MetaImage writer reports a failed write on std::cerr and returns as
// if it had succeeded: the file written is checked before it is committed.
// A MetaImage file must hold its payload (payload_check.cpp, as when it is
// read); an uncompressed file of another format at least its voxel bytes.
void verify_written(const std::string& path, const std::string& target, const Geometry& geometry,
                    PixelType type, bool compress, const std::string& complaint) {
  const std::uint64_t bytes = static_cast<std::uint64_t>(geometry.voxel_count()) * pixel_size(type);
  std::string problem;
  if (std::filesystem::path(target).extension() == ".mha") {
    try {
      detail::check_after_header(target, "MetaImageIO", bytes);
    } catch (const Error&) {
      problem = "incomplete";
    }
  } else if (!compress) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(target, ec);
    if (ec || size < bytes) problem = "incomplete";
  }
  if (problem.empty()) return;
  std::string cause = write_failure_cause(0, target);
  if (cause.empty()) cause = complaint.empty() ? "the file written is incomplete" : complaint;
  throw Error("cannot write '" + path + "': " + cause);
}

}  // namespace

std::string describe_itk_error(const itk::ExceptionObject& e) {
  return describe(e);
}

void write_file(const std::string& path, const std::string& target, const Geometry& geometry,
                PixelType type, const void* voxels, bool compress) {
  register_io_factories();
  const std::string complaint = itk_write(path, target, [&] {
    visit_pixel_type(type, [&](auto zero) {
      using T = decltype(zero);
      using ItkImage = itk::Image<T, 3>;
      auto writer = itk::ImageFileWriter<ItkImage>::New();
      writer->SetFileName(target);
      writer->SetInput(itk_image_over(geometry, static_cast<const T*>(voxels)));
      writer->SetUseCompression(compress);
      writer->Update();
      return 0;
    });
  });
  verify_written(path, target, geometry, type, compress, complaint);
}

void write_png(const std::string& path, const std::string& target, const RgbPicture& picture) {
  register_io_factories();
  using Rgb = itk::RGBPixel<unsigned char>;
  using Picture = itk::Image<Rgb, 2>;
  auto image = Picture::New();
  Picture::RegionType region;
  region.SetSize(0, static_cast<itk::SizeValueType>(picture.width));
  region.SetSize(1, static_cast<itk::SizeValueType>(picture.height));
  image->SetRegions(region);
  image->Allocate();
  std::memcpy(static_cast<void*>(image->GetBufferPointer()), picture.rgb.data(),
              picture.rgb.size());
  itk_write(path, target, [&] {
    auto writer = itk::ImageFileWriter<Picture>::New();
    writer->SetFileName(target);
    writer->SetInput(image);
    writer->Update();
  });
}

}  // namespace medimg::itk_module

namespace {

const medimg::detail::ItkHost* g_host = nullptr;

}  // namespace

bool medimg::itk_module::in_isolated_child() {
  return g_host && g_host->in_isolated_child();
}

extern "C" MEDIMG_ITK_MODULE_EXPORT const medimg::detail::ItkModule* medimg_itk_module(
    const medimg::detail::ItkHost* host) {
  namespace m = medimg::itk_module;
  if (!host || host->abi != medimg::detail::itk_module_abi) return nullptr;
  g_host = host;
  static const medimg::detail::ItkModule module = [] {
    medimg::detail::ItkModule t;
    t.prepare_isolated_child = m::prepare_isolated_child;
    t.read_file_header = m::read_header;
    t.read_file = m::read_file;
    t.read_dicom_series_header = m::read_dicom_series_header;
    t.read_dicom_series = m::read_dicom_series;
    t.screen_dicom_file = m::screen_dicom_file;
    t.write_file = m::write_file;
    t.write_png = m::write_png;
    t.write_transform = m::write_transform;
    t.read_transform = m::read_transform;
    return t;
  }();
  return &module;
}
