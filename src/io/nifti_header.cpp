// NIfTI headers: recognised, byte-swapped and checked by nifti_clib, then
// turned into a Geometry by the rules of include/medimg/io/nifti_io.hpp.
#include "medimg/io/detail/nifti_header.hpp"

#include <nifti2_io.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>

#include "medimg/core/error.hpp"
#include "medimg/io/atomic_output.hpp"

namespace medimg::detail {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw Error("cannot read '" + path + "': " + why);
}

void quiet_nifti_clib() {
  static std::once_flag once;
  // 0: errors only; medimg checks first, so nifti_clib has nothing to say.
  std::call_once(once, [] { nifti_set_debug_level(0); });
}

struct NimDeleter {
  void operator()(nifti_image* nim) const { nifti_image_free(nim); }
};
using NimPointer = std::unique_ptr<nifti_image, NimDeleter>;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The .img (or .hdr) beside `path`, plain or gzip, in the same letter case.
std::string partner(const std::string& path, const std::string& to) {
  const bool gz = ends_with(lower(path), ".gz");
  const std::string base = path.substr(0, path.size() - (gz ? 3 : 0));
  const std::string ext = base.substr(base.size() - 4);
  const bool upper_case = ext != lower(ext);
  std::string wanted = to;
  if (upper_case) {
    for (char& c : wanted) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  const std::string stem = base.substr(0, base.size() - 4) + wanted;
  for (const std::string& candidate : {stem + (gz ? ".gz" : ""), stem + (gz ? "" : ".gz")}) {
    if (std::filesystem::exists(candidate)) return candidate;
  }
  return stem + (gz ? ".gz" : "");
}

const char* code_name(int code) {
  switch (code) {
    case NIFTI_XFORM_SCANNER_ANAT: return "scanner";
    case NIFTI_XFORM_ALIGNED_ANAT: return "aligned";
    case NIFTI_XFORM_TALAIRACH: return "Talairach";
    case NIFTI_XFORM_MNI_152: return "MNI";
    default: return "other";
  }
}

// millimetres per unit of xyz_units (unknown: mm, as nibabel and ITK).
double mm_per_unit(int xyzt_units) {
  switch (XYZT_TO_SPACE(xyzt_units)) {
    case NIFTI_UNITS_METER: return 1000.0;
    case NIFTI_UNITS_MICRON: return 0.001;
    default: return 1.0;
  }
}

Affine34 rows_of(const nifti_dmat44& m) {
  Affine34 a{};
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 4; ++c) a[r][c] = m.m[r][c];
  }
  return a;
}

struct Placement {
  Vec3 origin{};
  Vec3 spacing{};
  Mat3 direction{};
};

// LPS placement of a RAS voxel-to-mm affine; throws on a zero axis or shear.
Placement placement_of(const Affine34& ras, const std::string& path, const char* source) {
  Placement p;
  for (int r = 0; r < 3; ++r) {
    const double flip = r < 2 ? -1.0 : 1.0;
    p.origin[r] = flip * ras[r][3];
  }
  for (int c = 0; c < 3; ++c) {
    double norm = 0.0;
    for (int r = 0; r < 3; ++r) norm += ras[r][c] * ras[r][c];
    norm = std::sqrt(norm);
    if (!(norm > 0.0) || !std::isfinite(norm)) {
      fail(path, std::string("the ") + source + " gives axis " + std::to_string(c) +
                     " zero or non-finite length");
    }
    p.spacing[c] = norm;
    for (int r = 0; r < 3; ++r) p.direction[r][c] = (r < 2 ? -1.0 : 1.0) * ras[r][c] / norm;
  }
  for (int a = 0; a < 3; ++a) {
    for (int b = a + 1; b < 3; ++b) {
      double dot = 0.0;
      for (int r = 0; r < 3; ++r) dot += p.direction[r][a] * p.direction[r][b];
      if (std::abs(dot) > 1e-4) {
        std::ostringstream why;
        why << "the " << source << " has shear (axes " << a << " and " << b << " at "
            << std::acos(std::max(-1.0, std::min(1.0, dot))) * 180.0 / M_PI
            << " degrees); a medimg geometry has none";
        if (std::string(source) == "sform") why << " (--nifti-xform qform uses the qform)";
        fail(path, why.str());
      }
    }
  }
  return p;
}

bool placements_differ(const Placement& a, const Placement& b) {
  for (int r = 0; r < 3; ++r) {
    if (std::abs(a.origin[r] - b.origin[r]) > 1e-4) return true;
    if (std::abs(a.spacing[r] - b.spacing[r]) > 1e-4) return true;
    for (int c = 0; c < 3; ++c) {
      if (std::abs(a.direction[r][c] - b.direction[r][c]) > 1e-6) return true;
    }
  }
  return false;
}

double max_origin_distance(const Placement& a, const Placement& b) {
  double d = 0.0;
  for (int r = 0; r < 3; ++r) d += (a.origin[r] - b.origin[r]) * (a.origin[r] - b.origin[r]);
  return std::sqrt(d);
}

struct DataType {
  PixelType type;
  int bytes;
};

// The datatypes medimg holds, with what they load as.
bool held_datatype(int code, DataType& out) {
  switch (code) {
    case DT_UINT8: out = {PixelType::uint8, 1}; return true;
    case DT_INT8: out = {PixelType::int16, 1}; return true;
    case DT_INT16: out = {PixelType::int16, 2}; return true;
    case DT_UINT16: out = {PixelType::uint16, 2}; return true;
    case DT_INT32: out = {PixelType::int32, 4}; return true;
    case DT_FLOAT32: out = {PixelType::float32, 4}; return true;
    case DT_FLOAT64: out = {PixelType::float64, 8}; return true;
    default: return false;
  }
}

std::string magic_text(const char* magic, int count) {
  std::string text;
  for (int i = 0; i < count; ++i) {
    const auto c = static_cast<unsigned char>(magic[i]);
    if (c >= 32 && c < 127) {
      text += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      text += hex;
    }
  }
  return text;
}

std::int32_t byte_swapped(std::int32_t v) {
  std::uint32_t u;
  std::memcpy(&u, &v, 4);
  u = (u >> 24) | ((u >> 8) & 0xff00u) | ((u << 8) & 0xff0000u) | (u << 24);
  std::memcpy(&v, &u, 4);
  return v;
}

// The header bytes of `in`, recognised: version and byte order.
struct RawHeader {
  int version = 1;
  bool swapped = false;
  nifti_1_header n1{};
  nifti_2_header n2{};
};

RawHeader read_raw_header(InputFile& in, bool single_file) {
  const std::string& path = in.path();
  static_assert(sizeof(nifti_1_header) == 348 && sizeof(nifti_2_header) == 540,
                "nifti_clib's header structs have the standard sizes");
  unsigned char bytes[540] = {};
  in.read_exactly(bytes, 348, "a NIfTI-1 header");
  std::int32_t size_field;
  std::memcpy(&size_field, bytes, 4);
  RawHeader raw;
  if (size_field == 540 || byte_swapped(size_field) == 540) {
    in.read_exactly(bytes + 348, 540 - 348, "a NIfTI-2 header");
  } else if (size_field != 348 && byte_swapped(size_field) != 348) {
    fail(path, "not a NIfTI or Analyze file (the header size field is " +
                   std::to_string(size_field) + ", not 348 or 540)");
  }
  const int version =
      nifti_header_version(reinterpret_cast<const char*>(bytes),
                           size_field == 348 || byte_swapped(size_field) == 348 ? 348 : 540);
  if (version < 0) fail(path, "NIfTI-2 sized header without the NIfTI-2 magic");
  raw.version = version;
  if (version == 2) {
    std::memcpy(&raw.n2, bytes, 540);
    raw.swapped = raw.n2.sizeof_hdr != 540;
    const std::string magic(raw.n2.magic, 3);
    if (single_file != (magic == "n+2")) {
      fail(path, "NIfTI-2 magic '" + magic_text(raw.n2.magic, 4) + "' does not match a " +
                     (single_file ? "single .nii file" : ".hdr/.img pair"));
    }
    if (raw.swapped) swap_nifti_header(&raw.n2, 2);
  } else {
    std::memcpy(&raw.n1, bytes, 348);
    raw.swapped = raw.n1.sizeof_hdr != 348;
    if (version == 0 && single_file) {
      fail(path, "no NIfTI magic (bytes 344-347 are '" + magic_text(raw.n1.magic, 4) +
                     "'): the file is corrupt, or an Analyze 7.5 header, which medimg reads only "
                     "as a .hdr/.img pair");
    }
    if (version == 1 && single_file != (std::string(raw.n1.magic, 3) == "n+1")) {
      fail(path, "NIfTI-1 magic '" + magic_text(raw.n1.magic, 4) + "' does not match a " +
                     (single_file ? "single .nii file" : ".hdr/.img pair"));
    }
    if (raw.swapped) swap_nifti_header(&raw.n1, version);
  }
  return raw;
}

// Checks nifti_clib's conversion would hide: it turns dims <= 0 and pixdims
// of 0 or NaN into 1, and non-finite floats into 0.
template <class Header>
void check_raw_fields(const Header& h, const std::string& path) {
  const auto rank = static_cast<std::int64_t>(h.dim[0]);
  if (rank < 1 || rank > 7) fail(path, "dim[0] is " + std::to_string(rank) + ", not 1..7");
  for (std::int64_t d = 1; d <= rank; ++d) {
    if (h.dim[d] < 1) {
      fail(path, "dim[" + std::to_string(d) + "] is " + std::to_string(h.dim[d]) +
                     "; a NIfTI dimension must be >= 1");
    }
  }
  for (std::int64_t d = 4; d <= rank; ++d) {
    if (h.dim[d] > 1) {
      fail(path, std::to_string(rank) + "D image with " + std::to_string(h.dim[d]) +
                     " points along dim[" + std::to_string(d) +
                     "]; medimg needs a 3D image (extract one volume first)");
    }
  }
  DataType type;
  if (!held_datatype(h.datatype, type)) {
    fail(path, std::string("voxels of type ") + nifti_datatype_string(h.datatype) +
                   " (NIfTI datatype " + std::to_string(h.datatype) +
                   ") are not held by medimg (uint8, int8 as int16, int16, uint16, int32, "
                   "float32, float64)");
  }
  const double slope = h.scl_slope;
  const double inter = h.scl_inter;
  if (std::isfinite(slope) && slope != 0.0 && !std::isfinite(inter)) {
    fail(path, "scl_inter is not finite while scl_slope is " + std::to_string(slope));
  }
}

}  // namespace

NiftiPaths nifti_paths(const std::string& path) {
  const std::string l = lower(path);
  if (ends_with(l, ".nii") || ends_with(l, ".nii.gz")) return {path, path, true};
  if (ends_with(l, ".hdr") || ends_with(l, ".hdr.gz")) {
    return {path, partner(path, ".img"), false};
  }
  if (ends_with(l, ".img") || ends_with(l, ".img.gz")) {
    return {partner(path, ".hdr"), path, false};
  }
  throw Error("'" + path + "' is not a NIfTI path (.nii, .nii.gz, .hdr, .img)");
}

NiftiHeader parse_nifti_header(InputFile& in, bool single_file, NiftiXform choice,
                               const std::string& data_path) {
  quiet_nifti_clib();
  const std::string& path = in.path();
  const RawHeader raw = read_raw_header(in, single_file);
  NiftiHeader h;
  h.version = raw.version;
  h.swapped = raw.swapped;
  h.data_path = data_path;
  h.header_bytes = raw.version == 2 ? 540 : 348;
  NimPointer nim;
  if (raw.version == 2) {
    check_raw_fields(raw.n2, path);
    if (!nifti_hdr2_looks_good(&raw.n2)) fail(path, "nifti_clib rejects the NIfTI-2 header");
    nim.reset(nifti_convert_n2hdr2nim(raw.n2, nullptr));
  } else {
    check_raw_fields(raw.n1, path);
    if (raw.version == 1 && !nifti_hdr1_looks_good(&raw.n1)) {
      fail(path, "nifti_clib rejects the NIfTI-1 header");
    }
    nim.reset(nifti_convert_n1hdr2nim(raw.n1, nullptr));
  }
  if (!nim) fail(path, "nifti_clib could not convert the header");

  DataType type{};
  held_datatype(nim->datatype, type);
  h.datatype = nim->datatype;
  h.stored_bytes = type.bytes;
  h.size = {nim->nx, nim->dim[0] >= 2 ? nim->ny : 1, nim->dim[0] >= 3 ? nim->nz : 1};
  const double vox_offset = raw.version == 2 ? static_cast<double>(raw.n2.vox_offset)
                                             : static_cast<double>(raw.n1.vox_offset);
  if (!(vox_offset >= 0.0) || (single_file && vox_offset < h.header_bytes)) {
    fail(path, "vox_offset " + std::to_string(vox_offset) + " points inside the header");
  }
  if (!(vox_offset < 4.6e18)) {  // also not finite; 2^62 bytes is past any file
    fail(path, "vox_offset " + std::to_string(vox_offset) + " points past the end of any file");
  }
  h.voxel_offset = static_cast<std::uint64_t>(vox_offset);

  const double slope = raw.version == 2 ? raw.n2.scl_slope : raw.n1.scl_slope;
  const double inter = raw.version == 2 ? raw.n2.scl_inter : raw.n1.scl_inter;
  if (raw.version != 0 && std::isfinite(slope) && slope != 0.0 && !(slope == 1.0 && inter == 0.0)) {
    h.scaled = true;
    h.slope = slope;
    h.inter = inter;
  }
  h.type = type.type;
  if (h.scaled) {
    h.type = (nim->datatype == DT_INT32 || nim->datatype == DT_FLOAT64) ? PixelType::float64
                                                                        : PixelType::float32;
  }

  // The transforms, in mm.
  const double unit = raw.version == 0 ? 1.0 : mm_per_unit(nim->xyz_units);
  h.sform_code = raw.version == 0 ? 0 : std::max(0, nim->sform_code);
  h.qform_code = raw.version == 0 ? 0 : std::max(0, nim->qform_code);
  auto scaled = [unit](Affine34 a) {
    for (auto& row : a) {
      for (double& v : row) v *= unit;
    }
    return a;
  };
  if (h.sform_code > 0) h.sform = scaled(rows_of(nim->sto_xyz));
  if (h.qform_code > 0) h.qform = scaled(rows_of(nim->qto_xyz));

  const int rank = static_cast<int>(nim->dim[0]);
  auto check_pixdim = [&](const char* source) {
    const float* pd1 = raw.version == 2 ? nullptr : raw.n1.pixdim;
    for (int c = 0; c < std::min(rank, 3); ++c) {
      const double v = raw.version == 2 ? raw.n2.pixdim[c + 1] : pd1[c + 1];
      if (!(v > 0.0) || !std::isfinite(v)) {
        std::ostringstream why;
        why << "pixdim[" << c + 1 << "] is " << v << "; the " << source
            << " needs a finite spacing > 0";
        fail(path, why.str());
      }
    }
  };
  if (choice == NiftiXform::sform && h.sform_code == 0) {
    fail(path, "--nifti-xform sform, but the file has no sform (sform_code 0)");
  }
  if (choice == NiftiXform::qform && h.qform_code == 0) {
    fail(path, "--nifti-xform qform, but the file has no qform (qform_code 0)");
  }
  const bool use_sform =
      choice == NiftiXform::sform || (choice == NiftiXform::automatic && h.sform_code > 0);
  const bool use_qform = !use_sform && h.qform_code > 0;
  Placement placement;
  if (use_sform) {
    h.used = "sform";
    placement = placement_of(h.sform, path, "sform");
  } else if (use_qform) {
    h.used = "qform";
    check_pixdim("qform");
    placement = placement_of(h.qform, path, "qform");
  } else {
    h.used = "pixdim";
    check_pixdim("pixdim (NIfTI method 1)");
    Affine34 method1{};
    const double pixdim[3] = {nim->dx, nim->dy, nim->dz};
    for (int c = 0; c < 3; ++c) method1[c][c] = c < rank ? pixdim[c] * unit : 1.0;
    placement = placement_of(method1, path, "pixdim");
  }
  if (h.sform_code > 0 && h.qform_code > 0) {
    // A qform cannot hold shear; an sform with shear is compared only when used.
    try {
      const Placement s = placement_of(h.sform, path, "sform");
      const Placement q = placement_of(h.qform, path, "qform");
      h.differ = placements_differ(s, q);
      if (h.differ) {
        std::ostringstream text;
        text.precision(4);
        text << "'" << path << "': sform (code " << h.sform_code << ", " << code_name(h.sform_code)
             << ") and qform (code " << h.qform_code << ", " << code_name(h.qform_code)
             << ") differ (origins " << max_origin_distance(s, q) << " mm apart); using the "
             << h.used << " ("
             << (h.used == "sform" ? "--nifti-xform qform uses the qform"
                                   : "--nifti-xform sform uses the sform")
             << ")";
        h.warning = text.str();
      }
    } catch (const Error&) {
      h.differ = true;  // the unused one is degenerate: they differ
    }
  }
  try {
    h.geometry = Geometry(h.size, placement.origin, placement.spacing, placement.direction);
  } catch (const Error& e) {
    fail(path, e.what());
  }
  return h;
}

}  // namespace medimg::detail
