// ITK-based implementation of include/medimg/io/image_io.hpp.
#include <itkGDCMImageIO.h>
#include <itkGDCMImageIOFactory.h>
#include <itkGDCMSeriesFileNames.h>
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
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>
#include <type_traits>

#include "medimg/config.hpp"
#include "medimg/core/warning.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/detail/dicom_scan.hpp"
#include "medimg/io/detail/isolated.hpp"
#include "medimg/io/detail/payload_check.hpp"
#include "medimg/io/hdf5_io.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/io/itk_bridge.hpp"
#include "medimg/io/nifti_io.hpp"

namespace medimg {

namespace {

namespace fs = std::filesystem;

// Single-file formats only: a detached header (.nhdr, .mhd) would be two
// files, which cannot be renamed into place together.
const char* const writable_extensions[] = {".nii", ".nii.gz", ".nrrd", ".mha"};

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
  CapturedStderr()
      : m_lock(mutex(), std::defer_lock), m_previous(std::cerr.rdbuf(m_buffer.rdbuf())) {
    if (!detail::in_isolated_child()) m_lock.lock();
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
  std::streambuf* m_previous;
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

// The image ITK read, with errors naming `path`.
template <class T>
Image<T, HostMemory> image_from_itk(const itk::Image<T, 3>& itk_image, const std::string& path,
                                    Metadata metadata) {
  try {
    return from_itk_image(itk_image, std::move(metadata));
  } catch (const Error& e) {
    throw Error("cannot read '" + path + "': " + e.what());
  }
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
  const auto [column, row] = detail::pixel_spacing_from_tag(text);
  if (column <= 0.0) return g;
  return Geometry(g.size(), g.origin(), Vec3{column, row, g.spacing()[2]}, g.direction());
}

// The geometry with its k spacing replaced (a single slice's thickness).
Geometry with_k_spacing(const Geometry& g, double spacing) {
  return Geometry(g.size(), g.origin(), Vec3{g.spacing()[0], g.spacing()[1], spacing},
                  g.direction());
}

FileHeader read_file_header(const std::string& path) {
  itk::ImageIOBase::Pointer io =
      itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::IOFileModeEnum::ReadMode);
  if (!io) {
    throw Error("cannot read '" + path +
                "': not an image in a format medimg reads (NIfTI, NRRD, MetaImage, DICOM, PNG)");
  }
  io->SetFileName(path);
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

// DICOM 1-bit images (BitsAllocated 1: segmentations, overlays) hold 0 and
// 1; GDCM unpacks the set bits as 255. medimg keeps the file's values, as
// pydicom and dcm2niix do.
template <class T>
void one_bit_values(Image<T, HostMemory>& image) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    const auto found = image.metadata().tags.find("0028|0100");
    if (found == image.metadata().tags.end() || found->second != "1") return;
    std::uint8_t* v = image.voxels().data();
    for (std::int64_t n = 0; n < image.geometry().voxel_count(); ++n) v[n] = v[n] != 0;
  }
}

AnyImage<HostMemory> read_file(const std::string& path) {
  const FileHeader header = read_file_header(path);
  const itk::ImageIOBase::Pointer& io = header.io;
  const PixelType type = header.type;
  const Geometry& geometry = header.geometry;
  detail::check_after_header(
      path, io->GetNameOfClass(),
      static_cast<std::uint64_t>(geometry.voxel_count()) * io->GetComponentSize());
  return visit_pixel_type(type, [&](auto zero) -> AnyImage<HostMemory> {
    using T = decltype(zero);
    auto reader = itk::ImageFileReader<itk::Image<T, 3>>::New();
    reader->SetFileName(path);
    reader->SetImageIO(io);
    itk_read(path, [&reader] { reader->Update(); });
    auto image =
        image_from_itk<T>(*reader->GetOutput(), path, metadata_from(io->GetMetaDataDictionary()));
    const Geometry& read = image.geometry();
    if (read.spacing()[0] != geometry.spacing()[0] || read.spacing()[1] != geometry.spacing()[1] ||
        read.spacing()[2] != geometry.spacing()[2]) {
      // The spacing the header rules above chose (DICOM: PixelSpacing, a
      // single slice's thickness).
      image.set_geometry(
          Geometry(read.size(), read.origin(), geometry.spacing(), read.direction()));
    }
    one_bit_values(image);
    return image;
  });
}

// A series of several single-frame files, in the order the scan sorted them
// (along the slice normal: k's direction is row x column, right-handed).
AnyImage<HostMemory> read_dicom_slices(const std::string& folder,
                                       const detail::DicomSeriesFiles& series) {
  const std::vector<std::string>& files = series.files;
  auto io = itk::GDCMImageIO::New();
  io->SetFileName(files.front());
  itk_read(files.front(), [&io] { io->ReadImageInformation(); });
  const PixelType type = pixel_type_of_io(*io, folder);
  return visit_pixel_type(type, [&](auto zero) -> AnyImage<HostMemory> {
    using T = decltype(zero);
    auto reader = itk::ImageSeriesReader<itk::Image<T, 3>>::New();
    reader->SetImageIO(io);
    reader->SetFileNames(files);
    itk_read(folder, [&reader] { reader->Update(); });
    Metadata metadata = metadata_from(io->GetMetaDataDictionary());
    metadata.tags["medimg|series_file_count"] = std::to_string(files.size());
    metadata.tags["medimg|series_id"] = series.info.id;
    auto image = image_from_itk<T>(*reader->GetOutput(), folder, std::move(metadata));
    image.set_geometry(with_dicom_pixel_spacing(image.geometry(), io->GetMetaDataDictionary()));
    one_bit_values(image);
    return image;
  });
}

AnyImage<HostMemory> read_dicom_series(const std::string& folder,
                                       const detail::DicomSeriesFiles& series) {
  if (series.files.size() > 1) return read_dicom_slices(folder, series);
  // One file (a single slice or a multi-frame object): the single-file path.
  AnyImage<HostMemory> image = read_file(series.files.front());
  std::visit(
      [&](auto& typed) {
        typed.metadata().tags["medimg|series_file_count"] = "1";
        typed.metadata().tags["medimg|series_id"] = series.info.id;
      },
      image);
  return image;
}

// Tells the user which series of a folder was read when there was a choice,
// and that files were skipped (unless the caller named the series).
void report_choice(const std::string& folder, const detail::DicomFolderScan& scan,
                   const detail::DicomSeriesFiles& chosen, const LoadOptions& options) {
  if (!options.series_uid.empty()) return;  // the caller chose: it knows the folder
  if (scan.series.size() > 1) {
    warn("'" + folder + "' holds " + std::to_string(scan.series.size()) +
         " DICOM series; read the largest, " + chosen.info.id + " (" +
         std::to_string(chosen.info.size[2]) +
         " slices); --series chooses another (medimg info lists them)");
  }
  if (!scan.skipped.empty()) {
    warn("'" + folder + "': skipped " + std::to_string(scan.skipped.size()) +
         " file(s) that are not image slices, e.g. " + scan.skipped.front().file + ": " +
         scan.skipped.front().reason + " (medimg info lists them)");
  }
}

template <class T>
void write_file(const Image<T, HostMemory>& image, const std::string& path, bool compress) {
  using ItkImage = itk::Image<T, 3>;
  const auto itk_image = to_itk_image(image, ItkVoxels::shared);
  auto writer = itk::ImageFileWriter<ItkImage>::New();
  writer->SetFileName(path);
  writer->SetInput(itk_image);
  writer->SetUseCompression(compress);
  writer->Update();
}

// --- DICOM reads in a child process (io/detail/isolated.hpp) -----------------

// What the child sends: the image's grid, type and metadata, then its voxels.
void send_header(detail::PipeWriter& out, const Geometry& g, PixelType type,
                 const Metadata& metadata) {
  nlohmann::json header;
  header["size"] = {g.size()[0], g.size()[1], g.size()[2]};
  header["origin"] = {g.origin()[0], g.origin()[1], g.origin()[2]};
  header["spacing"] = {g.spacing()[0], g.spacing()[1], g.spacing()[2]};
  nlohmann::json direction = nlohmann::json::array();
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) direction.push_back(g.direction()[r][c]);
  }
  header["direction"] = direction;
  header["type"] = std::string(to_string(type));
  header["metadata"] = to_json(metadata);
  out.write_string(header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

ImageHeader receive_header(detail::PipeReader& in, Metadata* metadata) {
  const nlohmann::json header = nlohmann::json::parse(in.read_string());
  Size3 size;
  Vec3 origin, spacing;
  Mat3 direction;
  for (int a = 0; a < 3; ++a) {
    size[a] = header["size"][a].get<std::int64_t>();
    origin[a] = header["origin"][a].get<double>();
    spacing[a] = header["spacing"][a].get<double>();
    for (int c = 0; c < 3; ++c) direction[a][c] = header["direction"][3 * a + c].get<double>();
  }
  if (metadata) *metadata = metadata_from_json(header["metadata"].get<std::string>());
  return {Geometry(size, origin, spacing, direction),
          parse_pixel_type(header["type"].get<std::string>())};
}

// The child keeps ITK on its own thread: a thread pool the parent created
// before fork has no threads in the child.
void prepare_isolated_child() {
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(1);
}

template <class Read>
AnyImage<HostMemory> load_isolated(const std::string& path, Read&& read) {
  AnyImage<HostMemory> result;
  detail::run_isolated(
      path,
      [&](detail::PipeWriter& out) {
        prepare_isolated_child();
        const AnyImage<HostMemory> image = read();
        send_header(out, geometry(image), pixel_type(image), metadata(image));
        std::visit(
            [&](const auto& typed) {
              out.write(typed.voxels().data(),
                        static_cast<std::size_t>(typed.geometry().voxel_count()) *
                            sizeof(typename std::decay_t<decltype(typed)>::value_type));
            },
            image);
      },
      [&](detail::PipeReader& in) {
        Metadata metadata;
        const ImageHeader header = receive_header(in, &metadata);
        result = visit_pixel_type(header.type, [&](auto zero) -> AnyImage<HostMemory> {
          using T = decltype(zero);
          auto image = Image<T, HostMemory>::uninitialized(header.geometry);
          if (!in.read(image.voxels().data(),
                       static_cast<std::size_t>(header.geometry.voxel_count()) * sizeof(T))) {
            throw Error("cannot read '" + path + "': the reading process ended early");
          }
          image.metadata() = std::move(metadata);
          return image;
        });
      });
  return result;
}

template <class Read>
ImageHeader header_isolated(const std::string& path, Read&& read) {
  ImageHeader result;
  detail::run_isolated(
      path,
      [&](detail::PipeWriter& out) {
        prepare_isolated_child();
        const ImageHeader header = read();
        send_header(out, header.geometry, header.type, Metadata{});
      },
      [&](detail::PipeReader& in) { result = receive_header(in, nullptr); });
  return result;
}

// Formats ITK reads without GDCM; any other single file may be DICOM.
bool may_be_dicom_file(const std::string& path) {
  const std::string extension = format_extension(path);
  for (const char* known : {".nrrd", ".nhdr", ".mha", ".mhd", ".png"}) {
    if (extension == known) return false;
  }
  return true;
}

enum class Source { hdf5, dicom_folder, file };

// What `path` names; throws when it names nothing medimg can read.
Source source_of(const std::string& path) {
  if (is_hdf5_path(path)) {
    if (!MEDIMG_HAS_HDF5) throw Error("cannot read '" + path + "': medimg was built without HDF5");
    return Source::hdf5;
  }
  {
    const detail::LibraryCall call;
    register_io_factories();
  }
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw Error("cannot read '" + path + "': no such file or directory");
  return fs::is_directory(status) ? Source::dicom_folder : Source::file;
}

}  // namespace

AnyImage<HostMemory> load_image(const std::string& path, const LoadOptions& options) {
  switch (source_of(path)) {
    case Source::hdf5: {
#if MEDIMG_HAS_HDF5
      const Hdf5Location location = parse_hdf5_location(path);
      return load_hdf5(location.file, location.dataset);
#else
      break;
#endif
    }
    case Source::dicom_folder: {
      const detail::DicomFolderScan scan = detail::scan_dicom_folder(path);
      const detail::DicomSeriesFiles& chosen =
          detail::select_dicom_series(scan, path, options.series_uid);
      AnyImage<HostMemory> image =
          load_isolated(path, [&] { return read_dicom_series(path, chosen); });
      report_choice(path, scan, chosen, options);
      return image;
    }
    case Source::file: break;
  }
  if (is_nifti_path(path)) return load_nifti(path, options);
  if (may_be_dicom_file(path)) return load_isolated(path, [&] { return read_file(path); });
  const detail::LibraryCall call;
  return read_file(path);
}

namespace {
ImageHeader dicom_series_header(const std::string& path, const detail::DicomSeriesFiles& series);
}  // namespace

ImageHeader read_image_header(const std::string& path, const LoadOptions& options) {
  const Source source = source_of(path);
#if MEDIMG_HAS_HDF5
  if (source == Source::hdf5) {
    const Hdf5Location location = parse_hdf5_location(path);
    ImageHeader header;
    read_hdf5_shape(location.file, location.dataset, header.geometry, header.type);
    return header;
  }
#endif
  if (source == Source::file && is_nifti_path(path)) return read_nifti_header(path, options);
  if (source == Source::file) {
    auto read = [&path]() -> ImageHeader {
      const FileHeader header = read_file_header(path);
      return {header.geometry, header.type};
    };
    if (may_be_dicom_file(path)) return header_isolated(path, read);
    const detail::LibraryCall call;
    return read();
  }
  const detail::DicomFolderScan scan = detail::scan_dicom_folder(path);
  const detail::DicomSeriesFiles& chosen =
      detail::select_dicom_series(scan, path, options.series_uid);
  return header_isolated(path, [&] { return dicom_series_header(path, chosen); });
}

namespace {
// The grid of one series of a DICOM folder (GDCM; run isolated).
ImageHeader dicom_series_header(const std::string& path, const detail::DicomSeriesFiles& series) {
  const std::vector<std::string>& files = series.files;
  if (files.size() == 1) {
    const FileHeader header = read_file_header(files.front());
    return {header.geometry, header.type};
  }
  auto io = itk::GDCMImageIO::New();
  io->SetFileName(files.front());
  itk_read(files.front(), [&io] { io->ReadImageInformation(); });
  const PixelType type = pixel_type_of_io(*io, path);
  using Float = itk::Image<float, 3>;
  auto reader = itk::ImageSeriesReader<Float>::New();
  reader->SetImageIO(io);
  reader->SetFileNames(files);
  itk_read(path, [&reader] { reader->UpdateOutputInformation(); });
  const Float* info = reader->GetOutput();
  Size3 size;
  Vec3 origin, spacing;
  Mat3 direction;
  for (unsigned c = 0; c < 3; ++c) {
    size[c] = static_cast<std::int64_t>(info->GetLargestPossibleRegion().GetSize(c));
    origin[c] = info->GetOrigin()[c];
    spacing[c] = info->GetSpacing()[c];
    for (unsigned r = 0; r < 3; ++r) direction[r][c] = info->GetDirection()[r][c];
  }
  try {
    return {with_dicom_pixel_spacing(Geometry(size, origin, spacing, direction),
                                     io->GetMetaDataDictionary()),
            type};
  } catch (const Error& e) {
    throw Error("cannot read '" + path + "': " + e.what());
  }
}
}  // namespace

void save_png(const RgbPicture& picture, const std::string& path) {
  if (format_extension(path) != ".png") {
    throw Error("cannot write '" + path + "': a picture is written as .png");
  }
  if (picture.width < 1 || picture.height < 1 ||
      picture.rgb.size() != static_cast<std::size_t>(picture.width) * picture.height * 3) {
    throw Error("cannot write '" + path + "': empty or inconsistent picture");
  }
  check_output_folder(path);
  const detail::LibraryCall call;
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
  AtomicOutput output(path);
  try {
    auto writer = itk::ImageFileWriter<Picture>::New();
    writer->SetFileName(output.temporary_path());
    writer->SetInput(image);
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    throw Error("cannot write '" + path + "': " + describe(e));
  }
  output.commit();
}

bool is_writable_format(const std::string& path) {
  if (is_hdf5_path(path)) return MEDIMG_HAS_HDF5 != 0;
  const std::string extension = format_extension(path);
  return std::any_of(std::begin(writable_extensions), std::end(writable_extensions),
                     [&extension](const char* known) { return extension == known; });
}

void check_output_path(const std::string& path) {
  if (!is_writable_format(path)) {
    throw Error("cannot write '" + path +
                "': unsupported output format; use .nii, .nii.gz, .nrrd, .mha or .h5");
  }
  check_output_folder(is_hdf5_path(path) ? parse_hdf5_location(path).file : path);
}

void save_image(const AnyImage<HostMemory>& image, const std::string& path,
                const SaveOptions& options) {
  check_output_path(path);
#if MEDIMG_HAS_HDF5
  if (is_hdf5_path(path)) {
    const Hdf5Location location = parse_hdf5_location(path);
    save_hdf5(image, location.file, location.dataset, Hdf5Options{options.compress ? 4 : 0});
    return;
  }
#endif
  if (is_nifti_path(path)) {
    save_nifti(image, path, options);
    return;
  }
  const detail::LibraryCall call;
  register_io_factories();
  AtomicOutput output(path);
  try {
    std::visit(
        [&](const auto& typed) { write_file(typed, output.temporary_path(), options.compress); },
        image);
  } catch (const itk::ExceptionObject& e) {
    throw Error("cannot write '" + path + "': " + describe(e));
  }
  output.commit();
}

}  // namespace medimg
