// include/medimg/io/image_io.hpp: which reader or writer a path goes to.
// NIfTI is io/nifti_io.cpp, HDF5 io/hdf5_io.cpp; every other format goes
// to the ITK module (io/detail/itk_module.hpp), loaded on first use, whose
// reads run in an isolated child (io/detail/isolated.hpp) that sends the
// image back through a pipe.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <nlohmann/json.hpp>
#include <system_error>
#include <type_traits>

#include "medimg/config.hpp"
#include "medimg/core/host_memory.hpp"
#include "medimg/core/warning.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/detail/child_memory.hpp"
#include "medimg/io/detail/dicom_scan.hpp"
#include "medimg/io/detail/hdf5_module.hpp"
#include "medimg/io/detail/isolated.hpp"
#include "medimg/io/detail/itk_module.hpp"
#include "medimg/io/hdf5_io.hpp"
#if MEDIMG_HAS_HDF5
#include "medimg/dist/hdf5.hpp"
#endif
#include "medimg/io/image_io.hpp"
#include "medimg/io/nifti_io.hpp"

namespace medimg {

namespace {

namespace fs = std::filesystem;

// Single-file formats only: a detached header (.nhdr, .mhd) would be two
// files, which cannot be renamed into place together.
const char* const writable_extensions[] = {".nii", ".nii.gz", ".nrrd", ".mha"};

using ChildBuffer = std::unique_ptr<unsigned char, decltype(&std::free)>;

// A buffer in an isolated child, uninitialised and on huge pages like an
// Image: the reader overwrites every byte, and 4 KiB first touches cost
// this kind of VM 4 ms per MiB.
ChildBuffer child_buffer(std::size_t bytes, const std::string& path) {
  constexpr std::size_t huge = std::size_t(2) << 20;
  ChildBuffer buffer(static_cast<unsigned char*>(std::aligned_alloc(
                         huge, std::max(huge, (bytes + huge - 1) / huge * huge))),
                     &std::free);
  if (!buffer) {
    throw Error("cannot read '" + path + "': not enough memory for its voxels (" +
                format_bytes(bytes) + ")");
  }
  advise_huge_pages(buffer.get(), bytes);
  return buffer;
}

// The child's side of an isolated read: the voxels in a plain buffer, then
// sent whole.
class BufferSink : public detail::VoxelSink {
 public:
  explicit BufferSink(std::string path) : m_path(std::move(path)) {}
  void* voxels(const Geometry& geometry, PixelType type, Metadata metadata) override {
    m_header = {geometry, type};
    m_metadata = std::move(metadata);
    m_size = static_cast<std::size_t>(geometry.voxel_count()) * pixel_size(type);
    m_bytes = child_buffer(m_size, m_path);
    return m_bytes.get();
  }
  detail::GridAndType m_header;
  Metadata m_metadata;
  ChildBuffer m_bytes{nullptr, &std::free};
  std::size_t m_size = 0;
  std::string m_path;
};

// What the child sends: the image's grid, type and metadata, then its voxels.
void send_header(detail::PipeWriter& out, const Geometry& g, PixelType type,
                 const Metadata& metadata, const std::vector<std::string>& warnings = {}) {
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
  if (!warnings.empty()) header["warnings"] = warnings;
  out.write_string(header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

ImageHeader receive_header(detail::PipeReader& in, Metadata* metadata,
                           std::vector<std::string>* warnings = nullptr) {
  const nlohmann::json header = nlohmann::json::parse(in.read_string());
  if (warnings && header.contains("warnings")) {
    *warnings = header["warnings"].get<std::vector<std::string>>();
  }
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

// Sent by a child when the header is parsed and only the voxels are left.
constexpr char header_parsed = 'H';

// The mark, then the voxel bytes the header describes; the parent's time
// limit becomes the voxels' (detail::load_timeout).
void send_header_parsed(detail::PipeWriter& out, const detail::GridAndType& header) {
  out.write(&header_parsed, 1);
  out.write_u64(static_cast<std::uint64_t>(header.geometry.voxel_count()) *
                pixel_size(header.type));
}

void wait_for_header(detail::PipeReader& in, const std::string& path) {
  char mark = 0;
  std::uint64_t bytes = 0;
  if (!in.read(&mark, 1) || mark != header_parsed || !in.read(&bytes, sizeof(bytes))) {
    throw Error("cannot read '" + path + "': the reading process ended early");
  }
  in.extend(detail::load_timeout(bytes));
}

// The parent's side of an isolated read: the header, then the voxels
// straight into the Image (under the voxels' time limit from here).
// The image a child sends; its reader's warnings are given once it has come.
AnyImage<HostMemory> receive_image(detail::PipeReader& in, const std::string& path) {
  Metadata metadata;
  std::vector<std::string> warnings;
  const ImageHeader header = receive_header(in, &metadata, &warnings);
  in.extend(detail::load_timeout(static_cast<std::uint64_t>(header.geometry.voxel_count()) *
                                 pixel_size(header.type)));
  return visit_pixel_type(header.type, [&](auto zero) -> AnyImage<HostMemory> {
    using T = decltype(zero);
    const auto bytes = static_cast<std::uint64_t>(header.geometry.voxel_count()) * sizeof(T);
    check_host_allocation(bytes, path);
    auto image = Image<T, HostMemory>::uninitialized(header.geometry);
    if (!in.read(image.voxels().data(), static_cast<std::size_t>(bytes))) {
      throw Error("cannot read '" + path + "': the reading process ended early");
    }
    image.metadata() = std::move(metadata);
    for (const std::string& line : warnings) warn("'" + path + "': " + line);
    return image;
  });
}

// The size of the file, 0 if it cannot be read; of a series, its largest.
std::uint64_t file_bytes(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::uint64_t>(size);
}

std::uint64_t largest_file_bytes(const std::vector<std::string>& files) {
  std::uint64_t most = 0;
  for (const std::string& f : files) most = std::max(most, file_bytes(f));
  return most;
}

// The header part of an isolated read (`read`, in the child), under the
// memory bound of a header (io/detail/child_memory.hpp): GDCM re-reads a
// data set that fails in its declared encoding in others and zero-fills
// what a damaged length there declares (fuzzed 12-16 KB files: 1.4-2.9 GB
// per read); HDF5 zero-fills what a damaged variable-length string
// declares (a fuzzed 16 KB file: 1.6 GB in each child).
template <class Read>
auto bounded_header(const std::string& path, std::uint64_t file_size, const char* what, Read&& read)
    -> decltype(read()) {
  const detail::ChildMemoryLimit limit(detail::header_memory_budget(file_size));
  try {
    return read();
  } catch (const std::bad_alloc&) {
    throw Error("cannot read '" + path + "': " + what +
                " asked for more memory than the header of a file of " + std::to_string(file_size) +
                " bytes needs (a damaged length?)");
  }
}

// The voxel part of an isolated read (`read`, in the child), under a bound
// of its own (detail::voxel_memory_budget): the reader parses the header
// again as it reads the voxels, and GDCM's re-reads in other encodings
// happen there too, after the bounded header part has passed (a fuzzed
// 39 KB CT slice of 128 x 128 voxels: 1.2 GB allocated and zero-filled,
// 2.6 s, per load).
template <class Read>
void bounded_voxels(const std::string& path, std::uint64_t file_size,
                    const detail::GridAndType& header, const char* what, Read&& read) {
  std::uint64_t voxel_bytes = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(header.geometry.voxel_count()),
                             static_cast<std::uint64_t>(pixel_size(header.type)), &voxel_bytes)) {
    voxel_bytes = ~std::uint64_t(0);  // saturated: voxel_memory_budget caps it
  }
  const detail::ChildMemoryLimit limit(detail::voxel_memory_budget(file_size, voxel_bytes));
  try {
    read();
  } catch (const std::bad_alloc&) {
    throw Error("cannot read '" + path + "': " + what + " asked for more memory than reading " +
                std::to_string(header.geometry.voxel_count()) + " voxels from files of at most " +
                std::to_string(file_size) + " bytes needs (a damaged length?)");
  }
}

// Runs `read` (a module read into a VoxelSink) in an isolated child and
// receives the image here. `read_header` first parses the header alone,
// under the header's time limit; `read` then parses it again with the
// voxels, under theirs (`medimg convert` of a 64 MiB MetaImage: 0.24-0.41 s over 7 runs
// with the second parse, 0.18-0.31 s over 3 before it: within this VM's
// run-to-run spread, docs/PERFORMANCE.md).
template <class ReadHeader, class Read>
AnyImage<HostMemory> load_isolated(const std::string& path, std::uint64_t file_size,
                                   const detail::ItkModule& module, ReadHeader&& read_header,
                                   Read&& read, const char* what = "the DICOM library") {
  AnyImage<HostMemory> result;
  detail::run_isolated(
      path,
      [&](detail::PipeWriter& out) {
        module.prepare_isolated_child();
        const detail::GridAndType header = bounded_header(path, file_size, what, read_header);
        send_header_parsed(out, header);
        BufferSink sink(path);
        bounded_voxels(path, file_size, header, what, [&] { read(sink); });
        send_header(out, sink.m_header.geometry, sink.m_header.type, sink.m_metadata);
        out.write(sink.m_bytes.get(), sink.m_size);
      },
      [&](detail::PipeReader& in) {
        wait_for_header(in, path);
        result = receive_image(in, path);
      },
      what, detail::header_timeout());
  return result;
}

template <class Read>
ImageHeader header_isolated(const std::string& path, std::uint64_t file_size,
                            const detail::ItkModule& module, Read&& read,
                            const char* what = "the DICOM library") {
  ImageHeader result;
  detail::run_isolated(
      path,
      [&](detail::PipeWriter& out) {
        module.prepare_isolated_child();
        const detail::GridAndType header = bounded_header(path, file_size, what, read);
        send_header(out, header.geometry, header.type, Metadata{});
      },
      [&](detail::PipeReader& in) { result = receive_header(in, nullptr); }, what,
      detail::header_timeout());
  return result;
}

#if MEDIMG_HAS_HDF5
// No other thread is inside HDF5 while its child is forked (the lock), and
// the child does not take the lock it inherited held. The HDF5 module (and
// the HDF5 and MPI libraries under it) is loaded in this process before the
// first fork, not in each child: dlopen of that chain cost every read a
// child's worth of relocations and page faults (the hdf5 fuzz harness: 3x
// the executions per second).
ImageHeader hdf5_header_isolated(const Hdf5Location& location) {
  ImageHeader result;
  const std::lock_guard<std::recursive_mutex> guard(hdf5_lock());
  (void)detail::hdf5_module(location.file);  // loaded here once, inherited by every child
  const std::uint64_t file_size = file_bytes(location.file);
  detail::run_isolated(
      location.file,
      [&](detail::PipeWriter& out) {
        const impl::Hdf5Header header = bounded_header(
            location.file, file_size, "the HDF5 library",
            [&] { return impl::read_hdf5_header(MPI_COMM_NULL, location.file, location.dataset); });
        send_header(out, header.geometry, header.type, Metadata{});
      },
      [&](detail::PipeReader& in) { result = receive_header(in, nullptr); }, "the HDF5 library",
      detail::header_timeout());
  return result;
}

// The whole HDF5 read in a child too, so that a crash in HDF5's dataset
// reading is one error as well: the header (under the time limit), then the
// voxels in slabs of about 64 MiB.
AnyImage<HostMemory> hdf5_load_isolated(const Hdf5Location& location) {
  AnyImage<HostMemory> result;
  const std::lock_guard<std::recursive_mutex> guard(hdf5_lock());
  (void)detail::hdf5_module(location.file);
  const std::uint64_t file_size = file_bytes(location.file);
  detail::run_isolated(
      location.file,
      [&](detail::PipeWriter& out) {
        const impl::Hdf5Header header = bounded_header(
            location.file, file_size, "the HDF5 library",
            [&] { return impl::read_hdf5_header(MPI_COMM_NULL, location.file, location.dataset); });
        send_header(out, header.geometry, header.type, header.metadata, header.warnings);
        const auto& size = header.geometry.size();
        const std::uint64_t plane =
            static_cast<std::uint64_t>(size[0]) * size[1] * pixel_size(header.type);
        const std::int64_t slab = std::max<std::int64_t>(
            1, std::min<std::int64_t>(
                   size[2],
                   static_cast<std::int64_t>((64u << 20) / std::max<std::uint64_t>(plane, 1))));
        bounded_voxels(location.file, file_size, {header.geometry, header.type}, "the HDF5 library",
                       [&] {
                         const ChildBuffer buffer =
                             child_buffer(static_cast<std::size_t>(plane * slab), location.file);
                         for (std::int64_t k0 = 0; k0 < size[2]; k0 += slab) {
                           const std::int64_t count = std::min(slab, size[2] - k0);
                           impl::read_hdf5_planes(MPI_COMM_NULL, location.file, header, k0, count,
                                                  buffer.get());
                           out.write(buffer.get(), static_cast<std::size_t>(plane * count));
                         }
                       });
      },
      [&](detail::PipeReader& in) {
        result = receive_image(
            in, location.dataset.empty() ? location.file : location.file + ":" + location.dataset);
      },
      "the HDF5 library", detail::header_timeout());
  return result;
}
#endif

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
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw Error("cannot read '" + path + "': no such file or directory");
  return fs::is_directory(status) ? Source::dicom_folder : Source::file;
}

}  // namespace

MappedImage load_image_mapped(const std::string& path, const LoadOptions& options) {
  // MEDIMG_MAP_INPUT=0 reads instead (to compare the two).
  static const bool map = [] {
    const char* v = std::getenv("MEDIMG_MAP_INPUT");
    return !(v && v[0] == '0');
  }();
  if (map && source_of(path) == Source::file && is_nifti_path(path)) {
    return load_nifti_mapped(path, options);
  }
  return {nullptr, load_image(path, options)};
}

AnyImage<HostMemory> load_image(const std::string& path, const LoadOptions& options) {
  switch (source_of(path)) {
    case Source::hdf5: {
#if MEDIMG_HAS_HDF5
      const Hdf5Location location = parse_hdf5_location(path);
      return hdf5_load_isolated(location);
#else
      break;
#endif
    }
    case Source::dicom_folder: {
      const detail::DicomFolderScan scan = detail::scan_dicom_folder(path);
      const detail::DicomSeriesFiles& chosen =
          detail::select_dicom_series(scan, path, options.series_uid);
      const detail::ItkModule& module = detail::itk_module(path);
      AnyImage<HostMemory> image = load_isolated(
          path, largest_file_bytes(chosen.files), module,
          [&] { return module.read_dicom_series_header(path, chosen); },
          [&](detail::VoxelSink& sink) { module.read_dicom_series(path, chosen, sink); });
      report_choice(path, scan, chosen, options);
      return image;
    }
    case Source::file: break;
  }
  if (is_nifti_path(path)) return load_nifti(path, options);
  const detail::ItkModule& module = detail::itk_module(path);
  // Every file ITK parses is read in an isolated child that sends the image
  // back (fuzz/ found crashes in the parsers ITK ships: a MetaImage key of
  // more than 255 characters overflows a strcpy in MetaIO, and its
  // ElementDataFile pattern is handed to sprintf as the format, so "%n"
  // aborts and "%s" reads the stack). A crash, an abort or an assert there
  // becomes one error here, and a loop in the header parser (MetaIO's
  // MET_Read) a time limit; the cost is one copy through a pipe.
  return load_isolated(
      path, file_bytes(path), module, [&] { return module.read_file_header(path); },
      [&](detail::VoxelSink& sink) { module.read_file(path, sink); },
      may_be_dicom_file(path) ? "the DICOM library" : "ITK's reader");
}

ImageHeader read_image_header(const std::string& path, const LoadOptions& options) {
  const Source source = source_of(path);
#if MEDIMG_HAS_HDF5
  if (source == Source::hdf5) {
    return hdf5_header_isolated(parse_hdf5_location(path));
  }
#endif
  if (source == Source::file && is_nifti_path(path)) return read_nifti_header(path, options);
  const detail::ItkModule& module = detail::itk_module(path);
  if (source == Source::file) {
    // Isolated for every format ITK parses (see load_image).
    return header_isolated(
        path, file_bytes(path), module, [&] { return module.read_file_header(path); },
        may_be_dicom_file(path) ? "the DICOM library" : "ITK's reader");
  }
  const detail::DicomFolderScan scan = detail::scan_dicom_folder(path);
  const detail::DicomSeriesFiles& chosen =
      detail::select_dicom_series(scan, path, options.series_uid);
  return header_isolated(path, largest_file_bytes(chosen.files), module,
                         [&] { return module.read_dicom_series_header(path, chosen); });
}

void save_png(const RgbPicture& picture, const std::string& path) {
  if (format_extension(path) != ".png") {
    throw Error("cannot write '" + path + "': a picture is written as .png");
  }
  if (picture.width < 1 || picture.height < 1 ||
      picture.rgb.size() != static_cast<std::size_t>(picture.width) * picture.height * 3) {
    throw Error("cannot write '" + path + "': empty or inconsistent picture");
  }
  check_output_folder(path);
  const detail::ItkModule& module = detail::itk_module(path);
  const detail::LibraryCall call;
  AtomicOutput output(path);
  module.write_png(path, output.temporary_path(), picture);
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
  {
    // The least the file takes: its voxels (deflate's best ratio, 1032:1,
    // when compressed), plus what an HDF5 file it is added to holds already.
    const std::string file = is_hdf5_path(path) ? parse_hdf5_location(path).file : path;
    const Geometry& g = geometry(image);
    std::uint64_t bytes =
        static_cast<std::uint64_t>(g.voxel_count()) * pixel_size(pixel_type(image));
    if (options.compress || format_extension(path) == ".nii.gz") bytes /= 1032;
    std::error_code ec;
    if (is_hdf5_path(path) && std::filesystem::exists(file, ec)) {
      const std::uintmax_t existing = std::filesystem::file_size(file, ec);
      if (!ec) bytes += existing;
    }
    check_output_space(file, bytes);
  }
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
  const detail::ItkModule& module = detail::itk_module(path);
  const detail::LibraryCall call;
  AtomicOutput output(path);
  std::visit(
      [&](const auto& typed) {
        module.write_file(path, output.temporary_path(), typed.geometry(), pixel_type(image),
                          typed.voxels().data(), options.compress);
      },
      image);
  output.commit();
}

}  // namespace medimg
