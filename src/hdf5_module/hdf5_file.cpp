// The HDF5 module (include/medimg/io/detail/hdf5_module.hpp): HDF5 reading
// and writing (layout: include/medimg/io/hdf5_io.hpp and docs/HDF5.md). One
// implementation serves serial files (comm == MPI_COMM_NULL: default driver,
// called by one process) and distributed ones (MPI-IO driver, collective
// hyperslab IO of every rank's k-slab). No Kokkos is used here.
#include "medimg/io/detail/hdf5_module.hpp"

#include <hdf5.h>
#include <mpi.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <memory>
#include <sstream>
#include <system_error>

#include "medimg/core/error.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/detail/hdf5_heap_check.hpp"

namespace medimg {

namespace fs = std::filesystem;

// H5Ovisit's newest form in the HDF5 found (1.10: H5Ovisit2, 1.12+: H5Ovisit3).
#if H5_VERSION_GE(1, 12, 0)
#define H5O_INFO_T H5O_info2_t
#define H5OVISIT H5Ovisit3
#else
#define H5O_INFO_T H5O_info_t
#define H5OVISIT H5Ovisit2
#endif

namespace {

// Owns one HDF5 identifier.
class Id {
 public:
  Id(hid_t id, herr_t (*close)(hid_t)) : m_id(id), m_close(close) {}
  ~Id() {
    if (m_id >= 0) m_close(m_id);
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return m_id; }
  bool ok() const { return m_id >= 0; }

 private:
  hid_t m_id;
  herr_t (*m_close)(hid_t);
};

void quiet_hdf5() {
  static const bool done = [] {
    // No HDF5 clean-up at exit: medimg closes every file it opens, and a
    // file whose flush failed (a disk that filled while it was written)
    // cannot be closed: HDF5's exit handler would then crash on it
    // (H5F__close_cb) after medimg has reported the error.
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

hid_t memory_type(PixelType type) {
  switch (type) {
    case PixelType::uint8: return H5T_NATIVE_UINT8;
    case PixelType::int16: return H5T_NATIVE_INT16;
    case PixelType::uint16: return H5T_NATIVE_UINT16;
    case PixelType::int32: return H5T_NATIVE_INT32;
    case PixelType::float32: return H5T_NATIVE_FLOAT;
    case PixelType::float64: break;
  }
  return H5T_NATIVE_DOUBLE;
}

std::string where(const std::string& file, const std::string& dataset) {
  return "'" + file + ":" + dataset + "'";
}

PixelType pixel_type_of_dataset(hid_t dataset, const std::string& name) {
  Id type(H5Dget_type(dataset), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  const std::size_t size = H5Tget_size(type.get());
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type.get()) == H5T_SGN_2;
    if (size == 1 && !is_signed) return PixelType::uint8;
    if (size == 2) return is_signed ? PixelType::int16 : PixelType::uint16;
    if (size == 4 && is_signed) return PixelType::int32;
  } else if (cls == H5T_FLOAT) {
    if (size == 4) return PixelType::float32;
    if (size == 8) return PixelType::float64;
  }
  throw Error("cannot read " + name +
              ": voxel type is not one of uint8, int16, uint16, int32, float32, float64");
}

void write_doubles(hid_t object, const char* name, const double* values, hsize_t count) {
  Id space(H5Screate_simple(1, &count, nullptr), H5Sclose);
  Id attribute(H5Acreate2(object, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
               H5Aclose);
  if (!attribute.ok() || H5Awrite(attribute.get(), H5T_NATIVE_DOUBLE, values) < 0) {
    throw Error(std::string("cannot write attribute ") + name);
  }
}

void write_int(hid_t object, const char* name, std::int64_t value) {
  Id space(H5Screate(H5S_SCALAR), H5Sclose);
  Id attribute(H5Acreate2(object, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
               H5Aclose);
  if (!attribute.ok() || H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value) < 0) {
    throw Error(std::string("cannot write attribute ") + name);
  }
}

void write_string(hid_t object, const char* name, const std::string& value) {
  Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Id space(H5Screate(H5S_SCALAR), H5Sclose);
  Id attribute(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
               H5Aclose);
  const char* text = value.c_str();
  if (!attribute.ok() || H5Awrite(attribute.get(), type.get(), &text) < 0) {
    throw Error(std::string("cannot write attribute ") + name);
  }
}

bool has_attribute(hid_t object, const char* name) {
  return H5Aexists(object, name) > 0;
}

std::vector<double> read_doubles(hid_t object, const char* name, const std::string& what) {
  Id attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  if (!attribute.ok()) throw Error("cannot read " + what + ": attribute '" + name + "' missing");
  Id space(H5Aget_space(attribute.get()), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  std::vector<double> values(static_cast<std::size_t>(count > 0 ? count : 0));
  if (H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, values.data()) < 0) {
    throw Error("cannot read " + what + ": attribute '" + name + "' is not numeric");
  }
  return values;
}

std::int64_t read_int(hid_t object, const char* name, std::int64_t fallback) {
  if (!has_attribute(object, name)) return fallback;
  Id attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  Id type(H5Aget_type(attribute.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_INTEGER) return fallback;
  std::int64_t value = fallback;
  if (H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) < 0) return fallback;
  return value;
}

// A text attribute of `dataset` (`object`), or "" when absent. A number (an
// integer or real scalar, as a script may store a patient id) is kept as
// its text; an attribute of another kind, or one HDF5 cannot read, is left
// out with a line in `warnings`.
std::string read_string(hid_t object, const std::string& dataset, const char* name,
                        std::vector<std::string>& warnings) {
  if (!has_attribute(object, name)) return "";
  Id attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  Id type(H5Aget_type(attribute.get()), H5Tclose);
  const H5T_class_t type_class = H5Tget_class(type.get());
  const auto left_out = [&](const std::string& why) {
    warnings.push_back("attribute '" + std::string(name) + "' of dataset '" + dataset + "' " + why +
                       ": left out");
    return std::string();
  };
  if (type_class == H5T_INTEGER || type_class == H5T_FLOAT) {
    Id space(H5Aget_space(attribute.get()), H5Sclose);
    if (H5Sget_simple_extent_npoints(space.get()) != 1) return left_out("holds several numbers");
    std::ostringstream text;
    if (type_class == H5T_INTEGER) {
      std::int64_t value = 0;
      if (H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) < 0) return left_out("is unreadable");
      text << value;
    } else {
      double value = 0;
      if (H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value) < 0) return left_out("is unreadable");
      text << std::setprecision(17) << value;
    }
    return text.str();
  }
  if (type_class != H5T_STRING) return left_out("is neither text nor a number");
  if (H5Tis_variable_str(type.get()) > 0) {
    Id memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory.get(), H5T_VARIABLE);
    H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
    char* text = nullptr;
    if (H5Aread(attribute.get(), memory.get(), &text) < 0 || text == nullptr) {
      return left_out("is unreadable");
    }
    std::string value(text);
    H5free_memory(text);
    return value;
  }
  std::string value(H5Tget_size(type.get()), '\0');
  if (H5Aread(attribute.get(), type.get(), value.data()) < 0) return left_out("is unreadable");
  value.resize(std::strlen(value.c_str()));
  return value;
}

// MedImages.jl's enums (Image_type: MRI, PET, CT; Image_subtype: CT, ADC,
// DWI, T1, T2, FLAIR, FDG, PSMA).
std::int64_t image_type_code(Modality m) {
  switch (m) {
    case Modality::MRI: return 0;
    case Modality::PET: return 1;
    case Modality::CT: return 2;
    case Modality::Other: break;
  }
  return -1;
}

Modality modality_of_code(std::int64_t code) {
  switch (code) {
    case 0: return Modality::MRI;
    case 1: return Modality::PET;
    case 2: return Modality::CT;
    default: return Modality::Other;
  }
}

std::int64_t subtype_code(Subtype s) {
  return s == Subtype::Unknown ? -1 : static_cast<std::int64_t>(s);
}

Subtype subtype_of_code(std::int64_t code) {
  return code >= 0 && code < static_cast<std::int64_t>(Subtype::Unknown)
             ? static_cast<Subtype>(code)
             : Subtype::Unknown;
}

void write_attributes(hid_t dataset, const Geometry& g, const Metadata& metadata) {
  double origin[3], spacing[3], direction[9];
  for (int a = 0; a < 3; ++a) {
    origin[a] = g.origin()[a];
    spacing[a] = g.spacing()[a];
    for (int c = 0; c < 3; ++c) direction[3 * a + c] = g.direction()[a][c];
  }
  write_doubles(dataset, "origin", origin, 3);
  write_doubles(dataset, "spacing", spacing, 3);
  write_doubles(dataset, "direction_row_major", direction, 9);
  write_doubles(dataset, "direction", direction, 9);
  write_int(dataset, "image_type", image_type_code(metadata.modality));
  write_int(dataset, "image_subtype", subtype_code(metadata.subtype));
  write_string(dataset, "patient_id", metadata.patient_id);
  write_string(dataset, "study_uid", metadata.study_uid);
  write_string(dataset, "series_uid", metadata.series_uid);
  write_string(dataset, "metadata", to_json(metadata));
}

// Planes per chunk: about 1 MiB, whole planes, at most the volume.
hsize_t chunk_planes(const Size3& n, std::size_t voxel_bytes) {
  const double plane = static_cast<double>(n[0] * n[1]) * static_cast<double>(voxel_bytes);
  const double planes = std::floor((1 << 20) / plane);
  return static_cast<hsize_t>(std::clamp(planes, 1.0, static_cast<double>(n[2])));
}

hid_t file_access(MPI_Comm comm) {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (comm != MPI_COMM_NULL) H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  return fapl;
}

// Every dataset of a file (MedImages.jl: group/study_uid), for loads that
// name none.
herr_t collect_dataset(hid_t, const char* name, const H5O_INFO_T* info, void* data) {
  if (info->type == H5O_TYPE_DATASET) {
    static_cast<std::vector<std::string>*>(data)->push_back(std::string("/") + name);
  }
  return 0;
}

std::vector<std::string> datasets_in(hid_t file) {
  std::vector<std::string> names;
  H5OVISIT(file, H5_INDEX_NAME, H5_ITER_NATIVE, collect_dataset, &names, H5O_INFO_BASIC);
  return names;
}

std::string resolve_dataset(hid_t file, const std::string& path, const std::string& dataset) {
  if (!dataset.empty()) return dataset;
  const auto names = datasets_in(file);
  if (names.size() == 1) return names.front();
  if (names.empty()) throw Error("cannot read '" + path + "': the file holds no dataset");
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw Error("cannot read '" + path + "': it holds several datasets (" + list +
              "); name one as FILE.h5:/DATASET");
}

}  // namespace

namespace hdf5_module {

using impl::Hdf5Header;

// HDF5 reads chunks that were never written as the fill value, so a file
// of a few KiB can describe any size: a fuzzed 16 KiB file described
// 1073741829 x 7 x 9 int16 (135 GB) in 630 stored bytes, and its read ran
// for minutes. Such a dataset is refused like a truncated file: the bytes
// stored must hold the voxels, 1032 times over with deflate (its largest
// ratio) and shuffle or fletcher32; with other filters (szip, nbit,
// scaleoffset) the bound is unknown and nothing is checked, nor for
// external raw storage.
static void check_stored_bytes(hid_t dataset, const hsize_t dims[3], std::size_t pixel_bytes,
                               const std::string& what) {
  Id dcpl(H5Dget_create_plist(dataset), H5Pclose);
  // Voxels in external raw files are not counted by H5Dget_storage_size.
  if (!dcpl.ok() || H5Pget_external_count(dcpl.get()) > 0) return;
  double ratio = 1.0;
  const int filters = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0;
    std::size_t values = 0;
    const H5Z_filter_t filter = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags,
                                               &values, nullptr, 0, nullptr, nullptr);
    if (filter == H5Z_FILTER_DEFLATE) {
      ratio = 1032.0;
    } else if (filter != H5Z_FILTER_SHUFFLE && filter != H5Z_FILTER_FLETCHER32) {
      return;
    }
  }
  const double needed = static_cast<double>(dims[0]) * static_cast<double>(dims[1]) *
                        static_cast<double>(dims[2]) * static_cast<double>(pixel_bytes);
  const double stored = static_cast<double>(H5Dget_storage_size(dataset));
  if (stored * ratio < needed) {
    char text[160];
    std::snprintf(text, sizeof(text),
                  ": the file stores %.0f bytes of the %.0f its voxels need (chunks never "
                  "written: a truncated or damaged file)",
                  stored, needed);
    throw Error("cannot read " + what + text);
  }
}

Hdf5Header read_hdf5_header(MPI_Comm comm, const std::string& path, const std::string& name) {
  quiet_hdf5();
  Hdf5Header header;
  impl::collectively(comm, [&] {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw Error("cannot read '" + path + "': no such file");
    // Before HDF5 reads a global heap it would loop on (io/detail/hdf5_heap_check.hpp).
    const std::string heap = detail::hdf5_global_heap_problem(path);
    if (!heap.empty()) throw Error("cannot read '" + path + "': damaged HDF5 file: " + heap);
    Id fapl(file_access(comm), H5Pclose);
    Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
    if (!file.ok()) throw Error("cannot read '" + path + "': not an HDF5 file");
    header.dataset = resolve_dataset(file.get(), path, name);
    const std::string what = where(path, header.dataset);
    if (H5Lexists(file.get(), header.dataset.c_str(), H5P_DEFAULT) <= 0) {
      throw Error("cannot read " + what + ": no such dataset");
    }
    Id dataset(H5Dopen2(file.get(), header.dataset.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dataset.ok()) throw Error("cannot read " + what + ": not a dataset");
    header.type = pixel_type_of_dataset(dataset.get(), what);
    Id space(H5Dget_space(dataset.get()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank != 3 && rank != 2) {
      throw Error("cannot read " + what + ": " + std::to_string(rank) +
                  " dimensions (medimg reads 3D datasets (z, y, x) or 2D (y, x))");
    }
    hsize_t dims[3] = {1, 1, 1};
    H5Sget_simple_extent_dims(space.get(), rank == 3 ? dims : dims + 1, nullptr);
    const Size3 size{static_cast<std::int64_t>(dims[2]), static_cast<std::int64_t>(dims[1]),
                     static_cast<std::int64_t>(dims[0])};
    check_stored_bytes(dataset.get(), dims, pixel_size(header.type), what);
    Vec3 origin{0, 0, 0}, spacing{1, 1, 1};
    Mat3 direction{Vec3{1, 0, 0}, Vec3{0, 1, 0}, Vec3{0, 0, 1}};
    if (has_attribute(dataset.get(), "origin")) {
      const auto o = read_doubles(dataset.get(), "origin", what);
      if (o.size() != 3) throw Error("cannot read " + what + ": origin needs 3 numbers");
      origin = Vec3{o[0], o[1], o[2]};
    }
    if (has_attribute(dataset.get(), "spacing")) {
      const auto s = read_doubles(dataset.get(), "spacing", what);
      if (s.size() != 3) throw Error("cannot read " + what + ": spacing needs 3 numbers");
      spacing = Vec3{s[0], s[1], s[2]};
    }
    const char* direction_name =
        has_attribute(dataset.get(), "direction_row_major")
            ? "direction_row_major"
            : (has_attribute(dataset.get(), "direction") ? "direction" : nullptr);
    if (direction_name) {
      const auto d = read_doubles(dataset.get(), direction_name, what);
      if (d.size() != 9) throw Error("cannot read " + what + ": direction needs 9 numbers");
      for (int a = 0; a < 3; ++a) {
        for (int c = 0; c < 3; ++c) direction[a][c] = d[static_cast<std::size_t>(3 * a + c)];
      }
    }
    try {
      header.geometry = Geometry(size, origin, spacing, direction);
    } catch (const Error& e) {
      throw Error("cannot read " + what + ": " + e.what());
    }
    const std::string json =
        read_string(dataset.get(), header.dataset, "metadata", header.warnings);
    if (!json.empty()) {
      try {
        header.metadata = metadata_from_json(json);
      } catch (const Error&) {
        header.metadata.tags["metadata"] = json;  // not medimg's: kept verbatim
      }
    }
    header.metadata.modality = modality_of_code(
        read_int(dataset.get(), "image_type", image_type_code(header.metadata.modality)));
    header.metadata.subtype = subtype_of_code(
        read_int(dataset.get(), "image_subtype", subtype_code(header.metadata.subtype)));
    for (auto [key, field] : {std::pair{"patient_id", &header.metadata.patient_id},
                              std::pair{"study_uid", &header.metadata.study_uid},
                              std::pair{"series_uid", &header.metadata.series_uid}}) {
      const std::string value = read_string(dataset.get(), header.dataset, key, header.warnings);
      if (!value.empty()) *field = value;
    }
    // MedImages.jl names the dataset by the study UID.
    if (header.metadata.study_uid.empty() && !has_attribute(dataset.get(), "study_uid")) {
      header.metadata.study_uid = header.dataset.substr(header.dataset.rfind('/') + 1);
    }
  });
  return header;
}

void read_hdf5_planes(MPI_Comm comm, const std::string& path, const Hdf5Header& header,
                      std::int64_t k0, std::int64_t count, void* planes) {
  quiet_hdf5();
  impl::collectively(comm, [&] {
    const std::string what = where(path, header.dataset);
    Id fapl(file_access(comm), H5Pclose);
    Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
    Id dataset(H5Dopen2(file.get(), header.dataset.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dataset.ok()) throw Error("cannot read " + what);
    Id space(H5Dget_space(dataset.get()), H5Sclose);
    const Size3& n = header.geometry.size();
    const int rank = H5Sget_simple_extent_ndims(space.get());
    hsize_t start[3] = {static_cast<hsize_t>(k0), 0, 0};
    hsize_t extent[3] = {static_cast<hsize_t>(count), static_cast<hsize_t>(n[1]),
                         static_cast<hsize_t>(n[0])};
    if (count == 0) {
      H5Sselect_none(space.get());
    } else {
      H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, rank == 3 ? start : start + 1, nullptr,
                          rank == 3 ? extent : extent + 1, nullptr);
    }
    Id memory(H5Screate_simple(rank, rank == 3 ? extent : extent + 1, nullptr), H5Sclose);
    if (count == 0) H5Sselect_none(memory.get());
    Id transfer(H5Pcreate(H5P_DATASET_XFER), H5Pclose);
    if (comm != MPI_COMM_NULL) H5Pset_dxpl_mpio(transfer.get(), H5FD_MPIO_COLLECTIVE);
    if (H5Dread(dataset.get(), memory_type(header.type), memory.get(), space.get(), transfer.get(),
                planes) < 0) {
      throw Error("cannot read " + what + ": the voxel data is unreadable (truncated file?)");
    }
  });
}

void write_hdf5(MPI_Comm comm, const std::string& path, const std::string& name, const Geometry& g,
                const Metadata& metadata, PixelType type, std::int64_t k0, std::int64_t count,
                const void* planes, const Hdf5Options& options) {
  quiet_hdf5();
  int rank = 0;
  if (comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &rank);
  const std::string dataset_path = name.empty() ? "/image" : name;
  const std::string what = where(path, dataset_path);
  if (comm != MPI_COMM_NULL && options.gzip > 0) {
    impl::agree_on_failure(comm, "cannot write " + what + ": gzip is for serial HDF5 writes only");
  }
  // Rank 0 names the temporary file (and copies an existing file into it).
  std::unique_ptr<AtomicOutput> output;
  std::string temporary;
  int copied = 0;  // rank 0: the existing file was copied to `temporary`
  impl::collectively(comm, [&] {
    if (rank != 0) return;
    if (dataset_path.front() != '/' || dataset_path.back() == '/') {
      throw Error("cannot write " + what +
                  ": the dataset must be an absolute path like /group/name");
    }
    check_output_folder(path);
    output = std::make_unique<AtomicOutput>(path);
    temporary = output->temporary_path();
    std::error_code ec;
    if (fs::exists(path, ec)) {
      if (H5Fis_hdf5(path.c_str()) <= 0) {
        throw Error("cannot write " + what + ": '" + path + "' exists and is not an HDF5 file");
      }
      fs::copy_file(path, temporary, fs::copy_options::overwrite_existing, ec);
      if (ec) throw Error("cannot write " + what + ": " + ec.message());
      copied = 1;
    }
  });
  if (comm != MPI_COMM_NULL) {
    long long length = static_cast<long long>(temporary.size());
    MPI_Bcast(&length, 1, MPI_LONG_LONG, 0, comm);
    temporary.resize(static_cast<std::size_t>(length));
    MPI_Bcast(temporary.data(), static_cast<int>(length), MPI_CHAR, 0, comm);
  }
  // (AtomicOutput made `temporary` empty; it holds an HDF5 file only when
  // the existing one was copied there.)
  const bool existing = [&] {
    int flag = copied;
    if (comm != MPI_COMM_NULL) MPI_Bcast(&flag, 1, MPI_INT, 0, comm);
    return flag != 0;
  }();
  impl::collectively(comm, [&] {
    Id fapl(file_access(comm), H5Pclose);
    Id fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
    Id file(existing ? H5Fopen(temporary.c_str(), H5F_ACC_RDWR, fapl.get())
                     : H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()),
            H5Fclose);
    if (!file.ok()) throw Error("cannot write " + what + ": cannot create the file");
    if (H5Lexists(file.get(), dataset_path.c_str(), H5P_DEFAULT) > 0) {
      H5Ldelete(file.get(), dataset_path.c_str(), H5P_DEFAULT);  // replaced
    }
    const Size3& n = g.size();
    const hsize_t dims[3] = {static_cast<hsize_t>(n[2]), static_cast<hsize_t>(n[1]),
                             static_cast<hsize_t>(n[0])};
    Id space(H5Screate_simple(3, dims, nullptr), H5Sclose);
    Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    const std::size_t voxel = H5Tget_size(memory_type(type));
    const hsize_t chunk[3] = {chunk_planes(n, voxel), dims[1], dims[2]};
    H5Pset_chunk(dcpl.get(), 3, chunk);
    // The same file bytes from one process or many: chunks allocated at
    // creation, no fill writes, no timestamps.
    H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
    H5Pset_obj_track_times(dcpl.get(), 0);
    if (options.gzip > 0) H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.gzip));
    Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    Id dataset(H5Dcreate2(file.get(), dataset_path.c_str(), memory_type(type), space.get(),
                          lcpl.get(), dcpl.get(), H5P_DEFAULT),
               H5Dclose);
    if (!dataset.ok()) throw Error("cannot write " + what + ": cannot create the dataset");
    hsize_t start[3] = {static_cast<hsize_t>(k0), 0, 0};
    hsize_t extent[3] = {static_cast<hsize_t>(count), dims[1], dims[2]};
    Id memory(H5Screate_simple(3, extent, nullptr), H5Sclose);
    if (count == 0) {
      H5Sselect_none(space.get());
      H5Sselect_none(memory.get());
    } else {
      H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr);
    }
    Id transfer(H5Pcreate(H5P_DATASET_XFER), H5Pclose);
    if (comm != MPI_COMM_NULL) H5Pset_dxpl_mpio(transfer.get(), H5FD_MPIO_COLLECTIVE);
    errno = 0;
    if (H5Dwrite(dataset.get(), memory_type(type), memory.get(), space.get(), transfer.get(),
                 planes) < 0) {
      const std::string cause = write_failure_cause(errno, temporary);
      throw Error("cannot write " + what + ": " +
                  (cause.empty() ? "writing the voxels failed" : cause));
    }
    write_attributes(dataset.get(), g, metadata);
    errno = 0;
    if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) {
      const std::string cause = write_failure_cause(errno, temporary);
      throw Error("cannot write " + what + ": " +
                  (cause.empty() ? "flushing the file failed" : cause));
    }
  });
  impl::collectively(comm, [&] {
    if (rank == 0) output->commit();
  });
}

std::vector<std::string> hdf5_datasets(const std::string& file) {
  quiet_hdf5();
  Id f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.ok()) throw Error("cannot read '" + file + "': not an HDF5 file");
  return datasets_in(f.get());
}

}  // namespace hdf5_module

}  // namespace medimg

extern "C" __attribute__((visibility("default"))) const medimg::detail::Hdf5Module*
medimg_hdf5_module(int abi) {
  namespace m = medimg::hdf5_module;
  if (abi != medimg::detail::hdf5_module_abi) return nullptr;
  static const medimg::detail::Hdf5Module module = [] {
    medimg::detail::Hdf5Module t;
    t.read_header = m::read_hdf5_header;
    t.read_planes = m::read_hdf5_planes;
    t.write = m::write_hdf5;
    t.datasets = m::hdf5_datasets;
    return t;
  }();
  return &module;
}
