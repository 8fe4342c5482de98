// NIfTI-1/2 reading and writing (include/medimg/io/nifti_io.hpp): the
// header through nifti_header.cpp, the voxels streamed once between the file
// (gzip.cpp) and the image's View.
#include "medimg/io/nifti_io.hpp"
#include "medimg/core/cpu_pinning.hpp"

#include <fcntl.h>
#include <nifti2_io.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#include "medimg/config.hpp"
#include "medimg/core/error.hpp"
#include "medimg/core/host_memory.hpp"
#include "medimg/core/warning.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/detail/gzip.hpp"
#include "medimg/io/detail/gzip_split.hpp"
#include "medimg/io/detail/nifti_header.hpp"

namespace medimg {

namespace {

using detail::InputFile;
using detail::NiftiHeader;

template <class T>
void swap_bytes(T* values, std::size_t count) {
  if constexpr (sizeof(T) > 1) {
    for (std::size_t i = 0; i < count; ++i) {
      auto* b = reinterpret_cast<unsigned char*>(values + i);
      std::reverse(b, b + sizeof(T));
    }
  }
}

// `count` stored voxels (file order) -> `out`: byte swap, widening, scaling.
template <class Stored, class Out>
void widen_voxels(Stored* stored, std::size_t count, Out* out, const NiftiHeader& h) {
  if (h.swapped) swap_bytes(stored, count);
  if (h.scaled) {
    for (std::size_t i = 0; i < count; ++i) {
      out[i] = static_cast<Out>(static_cast<double>(stored[i]) * h.slope + h.inter);
    }
  } else {
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<Out>(stored[i]);
  }
}

// Streams `count` stored voxels of type Stored from `in` into `out` (type
// Out): straight into `out` when nothing changes, else through a bounce
// buffer with byte swap, widening and scaling.
template <class Stored, class Out>
void read_voxels(InputFile& in, Out* out, std::size_t count, const NiftiHeader& h) {
  if constexpr (std::is_same<Stored, Out>::value) {
    if (!h.scaled) {
      in.read_exactly(out, count * sizeof(Out), "the voxels");
      if (h.swapped) swap_bytes(out, count);
      return;
    }
  }
  constexpr std::size_t chunk = std::size_t(1) << 20;
  std::vector<Stored> buffer(std::min(count, chunk));
  for (std::size_t done = 0; done < count;) {
    const std::size_t now = std::min(chunk, count - done);
    in.read_exactly(buffer.data(), now * sizeof(Stored), "the voxels");
    widen_voxels(buffer.data(), now, out + done, h);
    done += now;
  }
}

template <class Out>
void read_stored(InputFile& in, Out* out, std::size_t count, const NiftiHeader& h) {
  switch (h.datatype) {
    case DT_UINT8: return read_voxels<std::uint8_t>(in, out, count, h);
    case DT_INT8: return read_voxels<std::int8_t>(in, out, count, h);
    case DT_INT16: return read_voxels<std::int16_t>(in, out, count, h);
    case DT_UINT16: return read_voxels<std::uint16_t>(in, out, count, h);
    case DT_INT32: return read_voxels<std::int32_t>(in, out, count, h);
    case DT_FLOAT32: return read_voxels<float>(in, out, count, h);
    case DT_FLOAT64: return read_voxels<double>(in, out, count, h);
    default: throw Error("cannot read '" + in.path() + "': unexpected NIfTI datatype");
  }
}

Metadata nifti_metadata(const NiftiHeader& h) {
  Metadata metadata;
  metadata.tags["nifti|version"] = std::to_string(h.version);
  metadata.tags["nifti|sform_code"] = std::to_string(h.sform_code);
  metadata.tags["nifti|qform_code"] = std::to_string(h.qform_code);
  metadata.tags["nifti|xform"] = h.used;
  if (h.scaled) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.9g %.9g", h.slope, h.inter);
    metadata.tags["nifti|scl_slope_inter"] = text;
  }
  return metadata;
}

struct OpenedNifti {
  std::unique_ptr<InputFile> header_file;
  std::unique_ptr<InputFile> data_file;  // the .img of a pair
  NiftiHeader header;
  InputFile& voxels() { return data_file ? *data_file : *header_file; }
};

OpenedNifti open_nifti(const std::string& path, const LoadOptions& options) {
  const detail::NiftiPaths paths = detail::nifti_paths(path);
  OpenedNifti opened;
  opened.header_file = std::make_unique<InputFile>(paths.header);
  opened.header = detail::parse_nifti_header(*opened.header_file, paths.single_file,
                                             options.nifti_xform, paths.data);
  return opened;
}

// Before the voxels are allocated: the file can hold the `bytes` the header
// describes (a header can describe any size, and a truncated or hostile
// file must not cost that much memory before it is found short). Plain
// files: the bytes after the voxel offset. gzip: deflate's best ratio,
// 1032:1, over the whole compressed file.
void check_payload_fits(const InputFile& in, std::uint64_t bytes) {
  std::error_code ec;
  const std::uint64_t file_bytes = std::filesystem::file_size(in.path(), ec);
  if (ec) return;
  const std::uint64_t at_most = in.compressed()              ? file_bytes * 1032
                                : file_bytes > in.position() ? file_bytes - in.position()
                                                             : 0;
  if (bytes > at_most) {
    const std::string holds =
        in.compressed() ? "its " + std::to_string(file_bytes) + " bytes of gzip can hold at most " +
                              std::to_string(at_most)
                        : "it holds " + std::to_string(at_most) + " bytes after the header";
    throw Error("cannot read '" + in.path() + "': truncated: " + holds + "; the voxels need " +
                std::to_string(bytes));
  }
}

// The stored voxels are the image's bytes: no byte swap, no scaling, the
// same pixel type (int8 widens), and an offset aligned for it.
bool stored_as_loaded(const NiftiHeader& h) {
  const bool same_type = (h.datatype == DT_UINT8 && h.type == PixelType::uint8) ||
                         (h.datatype == DT_INT16 && h.type == PixelType::int16) ||
                         (h.datatype == DT_UINT16 && h.type == PixelType::uint16) ||
                         (h.datatype == DT_INT32 && h.type == PixelType::int32) ||
                         (h.datatype == DT_FLOAT32 && h.type == PixelType::float32) ||
                         (h.datatype == DT_FLOAT64 && h.type == PixelType::float64);
  return same_type && !h.swapped && !h.scaled && h.voxel_offset % pixel_size(h.type) == 0;
}

// `path` mapped copy-on-write from its start to `offset + bytes`, its pages
// read in now (MADV_POPULATE_READ: page-table entries for the page cache's
// pages, no copy); null where that cannot be done (not a regular file,
// shorter than that, mmap refused, a read error while populating), and the
// caller then reads the file as usual, which reports any error.
std::shared_ptr<void> map_voxels(const std::string& path, std::uint64_t offset,
                                 std::uint64_t bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  const std::uint64_t length = offset + bytes;
  void* base = MAP_FAILED;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::uint64_t>(st.st_size) >= length && bytes > 0) {
    base =
        mmap(nullptr, static_cast<std::size_t>(length), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  }
  ::close(fd);
  if (base == MAP_FAILED) return nullptr;
  std::shared_ptr<void> mapping(base,
                                [length](void* p) { munmap(p, static_cast<std::size_t>(length)); });
#ifdef MADV_POPULATE_READ
  // EINVAL: a kernel before 5.14, the pages then fault in on first use.
  if (madvise(base, static_cast<std::size_t>(length), MADV_POPULATE_READ) != 0 && errno != EINVAL) {
    return nullptr;
  }
#endif
  return mapping;
}

// Positions `opened` at its first voxel: the header's warning said, the
// .img of a pair opened, and the payload checked against the file.
void seek_voxels(OpenedNifti& opened, const std::string& path) {
  NiftiHeader& h = opened.header;
  if (!h.warning.empty()) warn(h.warning);
  const auto count = static_cast<std::uint64_t>(h.geometry.voxel_count());
  if (h.data_path == opened.header_file->path()) {
    opened.header_file->skip(h.voxel_offset - h.header_bytes, "the extensions before the voxels");
  } else {
    if (!std::filesystem::exists(h.data_path)) {
      throw Error("cannot read '" + path + "': its voxel file '" + h.data_path + "' is missing");
    }
    opened.data_file = std::make_unique<InputFile>(h.data_path);
    opened.data_file->skip(h.voxel_offset, "vox_offset");
  }
  check_payload_fits(opened.voxels(), count * h.stored_bytes);
}

MappedImage load_opened(OpenedNifti& opened, const std::string& path, bool map) {
  NiftiHeader& h = opened.header;
  const auto count = static_cast<std::size_t>(h.geometry.voxel_count());
  const std::uint64_t bytes = static_cast<std::uint64_t>(count) * pixel_size(h.type);
  check_host_allocation(bytes, path);
  seek_voxels(opened, path);
  MappedImage result;
  if (map && !opened.voxels().compressed() && stored_as_loaded(h)) {
    result.mapping = map_voxels(h.data_path, h.voxel_offset, bytes);
  }
  result.image = visit_pixel_type(h.type, [&](auto zero) -> AnyImage<HostMemory> {
    using T = decltype(zero);
    const auto& size = h.geometry.size();
    Image<T, HostMemory> image;
    if (result.mapping) {
      T* voxels =
          reinterpret_cast<T*>(static_cast<unsigned char*>(result.mapping.get()) + h.voxel_offset);
      image = Image<T, HostMemory>(
          h.geometry, typename Image<T, HostMemory>::view_type(
                          voxels, static_cast<std::size_t>(size[0]),
                          static_cast<std::size_t>(size[1]), static_cast<std::size_t>(size[2])));
    } else {
      image = Image<T, HostMemory>::uninitialized(h.geometry);
      read_stored(opened.voxels(), image.voxels().data(), count, h);
    }
    image.metadata() = nifti_metadata(h);
    return image;
  });
  return result;
}

}  // namespace

AnyImage<HostMemory> load_nifti(const std::string& path, const LoadOptions& options) {
  OpenedNifti opened = open_nifti(path, options);
  return load_opened(opened, path, false).image;
}

MappedImage load_nifti_mapped(const std::string& path, const LoadOptions& options) {
  OpenedNifti opened = open_nifti(path, options);
  return load_opened(opened, path, true);
}

namespace {

NiftiTransforms transforms_of(const NiftiHeader& h) {
  NiftiTransforms t;
  t.version = h.version;
  t.sform_code = h.sform_code;
  t.qform_code = h.qform_code;
  t.sform = h.sform;
  t.qform = h.qform;
  t.used = h.used;
  t.differ = h.differ;
  return t;
}

}  // namespace

NiftiStream stream_nifti(const std::string& path, const LoadOptions& options,
                         std::size_t chunk_voxels,
                         const std::function<void(PixelType, const void*, std::size_t)>& consume) {
  OpenedNifti opened = open_nifti(path, options);
  seek_voxels(opened, path);
  const NiftiHeader& h = opened.header;
  const auto count = static_cast<std::size_t>(h.geometry.voxel_count());
  visit_pixel_type(h.type, [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> buffer(std::max<std::size_t>(1, std::min(chunk_voxels, count)));
    for (std::size_t done = 0; done < count;) {
      const std::size_t now = std::min(buffer.size(), count - done);
      read_stored(opened.voxels(), buffer.data(), now, h);
      consume(h.type, buffer.data(), now);
      done += now;
    }
  });
  return {h.geometry, h.type, nifti_metadata(h), transforms_of(h), 0};
}

namespace {

// Stored voxels as bytes (any alignment) -> the loaded type, as read_voxels.
template <class Stored, class Out>
void convert_stored(const unsigned char* bytes, std::size_t count, Stored* scratch, Out* out,
                    const NiftiHeader& h) {
  if constexpr (std::is_same<Stored, Out>::value) {
    if (!h.scaled) {
      std::memcpy(out, bytes, count * sizeof(Out));
      if (h.swapped) swap_bytes(out, count);
      return;
    }
  }
  std::memcpy(scratch, bytes, count * sizeof(Stored));
  widen_voxels(scratch, count, out, h);
}

// A byte stream cut into voxels from `skip` bytes in, each piece converted
// and added to `reduction`; `carry` holds a voxel's bytes split between pieces.
template <class Stored, class Out>
class Voxelizer {
 public:
  Voxelizer(const NiftiHeader& h, std::uint64_t skip, VoxelReduction& reduction)
      : m_h(h), m_skip(skip), m_reduction(reduction) {}

  void feed(const unsigned char* bytes, std::size_t count) {
    const std::size_t skipped = static_cast<std::size_t>(std::min<std::uint64_t>(m_skip, count));
    m_skip -= skipped;
    bytes += skipped;
    count -= skipped;
    if (count == 0) return;
    if (m_carry_bytes > 0) {
      const std::size_t take = std::min(count, sizeof(Stored) - m_carry_bytes);
      std::memcpy(m_carry + m_carry_bytes, bytes, take);
      m_carry_bytes += take;
      bytes += take;
      count -= take;
      if (m_carry_bytes < sizeof(Stored)) return;
      add(m_carry, 1);
      m_carry_bytes = 0;
    }
    const std::size_t voxels = count / sizeof(Stored);
    for (std::size_t done = 0; done < voxels; done += kVoxels) {
      add(bytes + done * sizeof(Stored), std::min(kVoxels, voxels - done));
    }
    m_carry_bytes = count - voxels * sizeof(Stored);
    std::memcpy(m_carry, bytes + voxels * sizeof(Stored), m_carry_bytes);
  }
  // The bytes of a voxel begun but not finished.
  std::size_t carry_bytes() const { return m_carry_bytes; }
  const unsigned char* carry() const { return m_carry; }
  void add(const unsigned char* bytes, std::size_t count) {
    if constexpr (std::is_same<Stored, Out>::value) {
      // Voxels as they are, where they are: no copy.
      if (!m_h.scaled && !m_h.swapped &&
          reinterpret_cast<std::uintptr_t>(bytes) % alignof(Out) == 0) {
        m_reduction.add(pixel_type_of<Out>(), reinterpret_cast<const Out*>(bytes), count);
        return;
      }
    }
    if (m_out.empty()) {  // fresh memory costs on first touch: only where needed
      m_stored.resize(kVoxels);
      m_out.resize(kVoxels);
    }
    convert_stored(bytes, count, m_stored.data(), m_out.data(), m_h);
    m_reduction.add(pixel_type_of<Out>(), m_out.data(), count);
  }

 private:
  static constexpr std::size_t kVoxels = std::size_t(1) << 13;
  const NiftiHeader& m_h;
  std::uint64_t m_skip;
  VoxelReduction& m_reduction;
  std::vector<Stored> m_stored;
  std::vector<Out> m_out;
  unsigned char m_carry[sizeof(Stored)] = {};
  std::size_t m_carry_bytes = 0;
};

// f(Stored{}) for the stored type of a NIfTI datatype code; false for others.
template <class F>
bool visit_stored_type(int datatype, F&& f) {
  switch (datatype) {
    case DT_UINT8: return f(std::uint8_t{});
    case DT_INT8: return f(std::int8_t{});
    case DT_INT16: return f(std::int16_t{});
    case DT_UINT16: return f(std::uint16_t{});
    case DT_INT32: return f(std::int32_t{});
    case DT_FLOAT32: return f(float{});
    case DT_FLOAT64: return f(double{});
    default: return false;
  }
}

// A part of the content whose offset is not known when it begins: its
// voxels for each of the places the first whole voxel may start at (until
// `only` says which: the others are then left behind), and its first bytes
// (the end of the voxel cut before it).
template <class Stored, class Out>
struct Unplaced {
  std::vector<std::unique_ptr<VoxelReduction>> phases;
  std::vector<std::unique_ptr<Voxelizer<Stored, Out>>> voxels;
  unsigned char first[sizeof(Stored)] = {};
  std::size_t first_bytes = 0;
  std::atomic<int> only{-1};
  Unplaced(const NiftiHeader& h, const VoxelReduction& like) {
    for (std::size_t phase = 0; phase < sizeof(Stored); ++phase) {
      phases.push_back(like.empty_like());
      voxels.push_back(std::make_unique<Voxelizer<Stored, Out>>(h, phase, *phases.back()));
    }
  }
  void feed(const unsigned char* bytes, std::size_t count) {
    const std::size_t take = std::min(count, sizeof(Stored) - first_bytes);
    std::memcpy(first + first_bytes, bytes, take);
    first_bytes += take;
    const int phase = only.load(std::memory_order_acquire);
    if (phase >= 0) {
      voxels[static_cast<std::size_t>(phase)]->feed(bytes, count);
      return;
    }
    for (auto& v : voxels) v->feed(bytes, count);
  }
};

// reduce_nifti's two-thread path: false when it did not check (nothing
// merged into `reduction`).
template <class Stored, class Out>
bool reduce_split(const std::string& path, const NiftiHeader& h, VoxelReduction& reduction,
                  std::uint64_t& split_at) {
  constexpr std::size_t S = sizeof(Stored);
  const std::unique_ptr<VoxelReduction> head = reduction.empty_like();
  // Where the first whole voxel of a part starting at `offset` begins.
  const auto phase_at = [&h](std::uint64_t offset) {
    return static_cast<std::size_t>((S - (offset - h.voxel_offset) % S) % S);
  };
  struct Sink final : detail::SplitSink {
    const NiftiHeader& h;
    Voxelizer<Stored, Out> front;  // the head's voxels
    Unplaced<Stored, Out> middle, end;
    const decltype(phase_at)& phase_of;
    Sink(const NiftiHeader& header, VoxelReduction& r, const decltype(phase_at)& p)
        : h(header),
          front(header, header.voxel_offset, r),
          middle(header, r),
          end(header, r),
          phase_of(p) {}
    void head(const unsigned char* bytes, std::size_t count) override { front.feed(bytes, count); }
    void tail(const unsigned char* bytes, std::size_t count) override { middle.feed(bytes, count); }
    void last(const unsigned char* bytes, std::size_t count) override { end.feed(bytes, count); }
    void placed(std::uint64_t tail_offset) override {
      if (tail_offset >= h.voxel_offset) {
        middle.only.store(static_cast<int>(phase_of(tail_offset)), std::memory_order_release);
      }
    }
  } sink(h, *head, phase_at);
  const auto count = static_cast<std::uint64_t>(h.geometry.voxel_count());
  const detail::SplitResult split = detail::inflate_split(path, sink);
  const std::uint64_t end = h.voxel_offset + count * S;
  if (!split.done || split.content != end || split.tail_offset < h.voxel_offset) return false;
  // The voxel cut where `after` begins: the bytes `before` carries and
  // after's first; added to the head's reduction.
  const auto join = [&](const Voxelizer<Stored, Out>& before, const Unplaced<Stored, Out>& after,
                        std::size_t phase) {
    if (before.carry_bytes() + phase != (phase ? S : 0) || after.first_bytes < phase) return false;
    if (phase > 0) {
      unsigned char voxel[S];
      std::memcpy(voxel, before.carry(), S - phase);
      std::memcpy(voxel + (S - phase), after.first, phase);
      sink.front.add(voxel, 1);
    }
    return true;
  };
  if (split.tail_offset < end) {
    const std::size_t tail_phase = phase_at(split.tail_offset);
    if (!join(sink.front, sink.middle, tail_phase)) return false;
    const Voxelizer<Stored, Out>& tail = *sink.middle.voxels[tail_phase];
    head->merge(*sink.middle.phases[tail_phase]);
    if (split.last_offset < end) {
      const std::size_t last_phase = phase_at(split.last_offset);
      if (!join(tail, sink.end, last_phase) || sink.end.voxels[last_phase]->carry_bytes() != 0)
        return false;
      head->merge(*sink.end.phases[last_phase]);
    } else if (tail.carry_bytes() != 0) {
      return false;
    }
  }
  reduction.merge(*head);
  split_at = split.tail_offset < end ? split.tail_offset : 0;
  return true;
}

}  // namespace

NiftiStream reduce_nifti(const std::string& path, const LoadOptions& options,
                         VoxelReduction& reduction) {
  OpenedNifti opened = open_nifti(path, options);
  const NiftiHeader& h = opened.header;
  const bool one_file = h.data_path == opened.header_file->path();
  if (opened.header_file->compressed() && one_file &&
      Kokkos::DefaultHostExecutionSpace().concurrency() >= 2) {
    std::uint64_t split_at = 0;
    const bool split = visit_stored_type(h.datatype, [&](auto stored) {
      return visit_pixel_type(h.type, [&](auto zero) {
        return reduce_split<decltype(stored), decltype(zero)>(path, h, reduction, split_at);
      });
    });
    if (split) {
      if (!h.warning.empty()) warn(h.warning);
      return {h.geometry, h.type, nifti_metadata(h), transforms_of(h), split_at};
    }
  }
  return stream_nifti(path, options, std::size_t(1) << 20,
                      [&](PixelType type, const void* voxels, std::size_t count) {
                        reduction.add(type, voxels, count);
                      });
}

ImageHeader read_nifti_header(const std::string& path, const LoadOptions& options) {
  const OpenedNifti opened = open_nifti(path, options);
  return {opened.header.geometry, opened.header.type};
}

NiftiTransforms read_nifti_transforms(const std::string& path, const LoadOptions& options) {
  return transforms_of(open_nifti(path, options).header);
}

// ------------------------------------------------------------------ writing

namespace {

int datatype_of(PixelType type) {
  switch (type) {
    case PixelType::uint8: return DT_UINT8;
    case PixelType::int16: return DT_INT16;
    case PixelType::uint16: return DT_UINT16;
    case PixelType::int32: return DT_INT32;
    case PixelType::float32: return DT_FLOAT32;
    case PixelType::float64: return DT_FLOAT64;
  }
  return DT_FLOAT32;
}

int code_tag(const Metadata& metadata, const char* key) {
  const auto found = metadata.tags.find(key);
  if (found == metadata.tags.end()) return 0;
  try {
    const int code = std::stoi(found->second);
    return code >= 1 && code <= 4 ? code : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

struct NimDeleter {
  void operator()(nifti_image* nim) const { nifti_image_free(nim); }
};

// The header bytes (with the 4-byte empty extension flag) of `image`.
std::vector<unsigned char> header_bytes(const Geometry& g, PixelType type, const Metadata& metadata,
                                        bool nifti2, const std::string& path) {
  const int sform_in = code_tag(metadata, "nifti|sform_code");
  const int qform_in = code_tag(metadata, "nifti|qform_code");
  const int sform_code =
      sform_in > 0 ? sform_in : (qform_in > 0 ? qform_in : NIFTI_XFORM_SCANNER_ANAT);
  const int qform_code = qform_in > 0 ? qform_in : sform_code;

  const std::int64_t dims[8] = {3, g.size()[0], g.size()[1], g.size()[2], 1, 1, 1, 1};
  std::unique_ptr<nifti_image, NimDeleter> nim(nifti_make_new_nim(dims, datatype_of(type), 0));
  if (!nim) throw Error("cannot write '" + path + "': nifti_clib could not make a header");
  // The RAS voxel-to-mm affine: LPS rows 0 and 1 negated.
  nifti_dmat44 ras{};
  for (int r = 0; r < 3; ++r) {
    const double flip = r < 2 ? -1.0 : 1.0;
    for (int c = 0; c < 3; ++c) ras.m[r][c] = flip * g.direction()[r][c] * g.spacing()[c];
    ras.m[r][3] = flip * g.origin()[r];
  }
  ras.m[3][3] = 1.0;
  nim->sform_code = sform_code;
  nim->sto_xyz = ras;
  nim->sto_ijk = nifti_dmat44_inverse(ras);
  nim->qform_code = qform_code;
  double dx, dy, dz;
  nifti_dmat44_to_quatern(ras, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d, &nim->qoffset_x,
                          &nim->qoffset_y, &nim->qoffset_z, &dx, &dy, &dz, &nim->qfac);
  nim->qto_xyz = nifti_quatern_to_dmat44(nim->quatern_b, nim->quatern_c, nim->quatern_d,
                                         nim->qoffset_x, nim->qoffset_y, nim->qoffset_z,
                                         g.spacing()[0], g.spacing()[1], g.spacing()[2], nim->qfac);
  nim->dx = nim->pixdim[1] = g.spacing()[0];
  nim->dy = nim->pixdim[2] = g.spacing()[1];
  nim->dz = nim->pixdim[3] = g.spacing()[2];
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->time_units = NIFTI_UNITS_SEC;
  nim->scl_slope = 1.0;
  nim->scl_inter = 0.0;
  std::snprintf(nim->descrip, sizeof(nim->descrip), "medimg %s", MEDIMG_VERSION_STRING);

  std::vector<unsigned char> bytes;
  if (nifti2) {
    nim->nifti_type = NIFTI_FTYPE_NIFTI2_1;
    nim->iname_offset = 544;
    nifti_2_header hdr{};
    if (nifti_convert_nim2n2hdr(nim.get(), &hdr) != 0) {
      throw Error("cannot write '" + path + "': nifti_clib could not make a NIfTI-2 header");
    }
    hdr.vox_offset = 544;
    // nifti_clib 3.0.1 writes only "n+2\0" and leaves the rest of the
    // 8-byte magic zero, which its own nifti_hdr2_looks_good then rejects.
    std::memcpy(hdr.magic, "n+2\0\r\n\032\n", 8);
    bytes.resize(544, 0);
    std::memcpy(bytes.data(), &hdr, sizeof(hdr));
  } else {
    nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
    nim->iname_offset = 352;
    nifti_1_header hdr{};
    if (nifti_convert_nim2n1hdr(nim.get(), &hdr) != 0) {
      throw Error("cannot write '" + path + "': nifti_clib could not make a NIfTI-1 header");
    }
    hdr.vox_offset = 352;
    bytes.resize(352, 0);
    std::memcpy(bytes.data(), &hdr, sizeof(hdr));
  }
  return bytes;
}

}  // namespace

// ------------------------------------------------------- writing in place

struct NiftiOutputMapping::State {
  std::unique_ptr<AtomicOutput> output;
  PixelType type = PixelType::float32;
  std::array<std::size_t, 3> extents{};
  bool nifti2 = false;
  std::size_t header = 0;
  std::size_t length = 0;
  void* base = nullptr;

  ~State() {
    if (base) munmap(base, length);
  }
};

std::unique_ptr<NiftiOutputMapping> NiftiOutputMapping::open(
    const std::string& path, PixelType type, const std::array<std::size_t, 3>& extents,
    const SaveOptions& options, int threads) {
  if (format_extension(path) != ".nii") return nullptr;
  auto state = std::make_unique<State>();
  state->type = type;
  state->extents = extents;
  // save_nifti's choice.
  state->nifti2 = options.nifti2 || std::any_of(extents.begin(), extents.end(),
                                                [](std::size_t n) { return n > 32767; });
  state->header = state->nifti2 ? 544 : 352;
  const std::size_t voxels = extents[0] * extents[1] * extents[2] * pixel_size(type);
  if (voxels == 0) return nullptr;
  state->length = state->header + voxels;
  try {
    state->output = std::make_unique<AtomicOutput>(path);
  } catch (const Error&) {
    return nullptr;
  }
  const int fd = ::open(state->output->temporary_path().c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return nullptr;
  // Blocks reserved now: writing through the mapping cannot then hit a full
  // disk (SIGBUS); EFBIG/ENOSPC/EDQUOT/EOPNOTSUPP here mean "write it as
  // usual" (fallocate itself: posix_fallocate would emulate it by writing).
  void* base = MAP_FAILED;
  if (::fallocate(fd, 0, 0, static_cast<off_t>(state->length)) == 0) {
    base = mmap(nullptr, state->length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  ::close(fd);
  if (base == MAP_FAILED) return nullptr;
  state->base = base;
#ifdef MADV_POPULATE_WRITE
  // The pages faulted in before the kernel runs, in parallel slices (a fault
  // inside a kernel costs it its caches too); EINVAL: Linux before 5.14,
  // first touch then.
  const std::size_t page = 4096;
  const std::size_t slices = static_cast<std::size_t>(std::max(1, threads));
  const std::size_t step = (state->length / slices + page - 1) / page * page;
  std::vector<std::thread> workers;
  const AllCpus all;  // the helpers may run on any CPU (pinned threads)
  for (std::size_t at = step; at < state->length; at += step) {
    workers.emplace_back([base, at, step, length = state->length] {
      madvise(static_cast<char*>(base) + at, std::min(step, length - at), MADV_POPULATE_WRITE);
    });
  }
  madvise(base, std::min(step, state->length), MADV_POPULATE_WRITE);
  for (std::thread& worker : workers) worker.join();
#endif
  std::unique_ptr<NiftiOutputMapping> mapping(new NiftiOutputMapping());
  mapping->m_state = std::move(state);
  return mapping;
}

NiftiOutputMapping::~NiftiOutputMapping() = default;

void* NiftiOutputMapping::voxels() const {
  return m_state && m_state->base ? static_cast<char*>(m_state->base) + m_state->header : nullptr;
}

bool NiftiOutputMapping::holds(const AnyImage<HostMemory>& image) const {
  const void* data = voxels();
  return data && std::visit(
                     [&](const auto& typed) {
                       const auto& v = typed.voxels();
                       return typed.pixel_type() == m_state->type &&
                              static_cast<const void*>(v.data()) == data &&
                              v.extent(0) == m_state->extents[0] &&
                              v.extent(1) == m_state->extents[1] &&
                              v.extent(2) == m_state->extents[2] &&
                              v.span() == v.extent(0) * v.extent(1) * v.extent(2);
                     },
                     image);
}

void NiftiOutputMapping::commit(const AnyImage<HostMemory>& image) {
  const std::string& path = m_state->output->path();
  if (!holds(image)) {
    throw Error("cannot write '" + path + "': the image is not in the file's mapping");
  }
  std::visit(
      [&](const auto& typed) {
        const std::vector<unsigned char> header = header_bytes(
            typed.geometry(), typed.pixel_type(), typed.metadata(), m_state->nifti2, path);
        if (header.size() != m_state->header) {
          throw Error("cannot write '" + path + "': its header is not the size mapped");
        }
        std::memcpy(m_state->base, header.data(), header.size());
      },
      image);
  munmap(m_state->base, m_state->length);
  m_state->base = nullptr;
  m_state->output->commit();
}

void save_nifti(const AnyImage<HostMemory>& image, const std::string& path,
                const SaveOptions& options) {
  const std::string extension = format_extension(path);
  if (extension != ".nii" && extension != ".nii.gz") {
    throw Error("cannot write '" + path + "': medimg writes NIfTI as .nii or .nii.gz");
  }
  std::visit(
      [&](const auto& typed) {
        const Geometry& g = typed.geometry();
        const bool nifti2 =
            options.nifti2 || g.size()[0] > 32767 || g.size()[1] > 32767 || g.size()[2] > 32767;
        const std::vector<unsigned char> header =
            header_bytes(g, typed.pixel_type(), typed.metadata(), nifti2, path);
        const std::size_t voxel_bytes = static_cast<std::size_t>(g.voxel_count()) *
                                        sizeof(typename std::decay_t<decltype(typed)>::value_type);
        AtomicOutput output(path);
        detail::GzipWriteOptions gzip;
        gzip.level = options.compression_level;
        gzip.threads = options.threads;
        detail::write_file(output.temporary_path(),
                           {{header.data(), header.size()}, {typed.voxels().data(), voxel_bytes}},
                           extension == ".nii.gz", gzip, path);
        output.commit();
      },
      image);
}

}  // namespace medimg
