// io/detail/dicom_lengths.hpp. Compiled into the library (its tests) and
// into the ITK module (the screen calls it before GDCM).
#include "medimg/io/detail/dicom_lengths.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string_view>

namespace medimg::detail {

namespace {

constexpr std::uint32_t undefined_length = 0xffffffffu;
constexpr int deepest = 64;

// The VRs of PS3.5 table 6.2-1, and those of them with a 4-byte length in
// explicit VR (PS3.5 7.1.2).
bool is_vr(char a, char b) {
  static constexpr std::string_view all =
      "AEASATCSDADSDTFLFDISLOLTOBODOFOLOVOWPNSHSLSQSSSTSVTMUCUIULUNURUSUTUV";
  for (std::size_t i = 0; i < all.size(); i += 2) {
    if (all[i] == a && all[i + 1] == b) return true;
  }
  return false;
}

bool has_long_length(char a, char b) {
  static constexpr std::string_view long_vrs = "OBODOFOLOVOWSQSVUCUNURUTUV";
  for (std::size_t i = 0; i < long_vrs.size(); i += 2) {
    if (long_vrs[i] == a && long_vrs[i + 1] == b) return true;
  }
  return false;
}

bool printable(char c) {
  return c >= ' ' && c <= '~';
}

std::string tag_text(std::uint16_t group, std::uint16_t element) {
  char text[16];
  std::snprintf(text, sizeof(text), "(%04X,%04X)", group, element);
  return text;
}

class Walk {
 public:
  Walk(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}

  std::string run() {
    std::size_t pos = 0;
    if (m_size >= 132 && std::memcmp(m_data + 128, "DICM", 4) == 0) {
      pos = 132;
      // The File Meta group: explicit VR little endian, whatever follows.
      m_explicit = true;
      m_little = true;
      m_in_meta = true;
      std::string syntax;
      while (pos + 8 <= m_size && u16(pos) == 0x0002) {
        Element e;
        if (!header(pos, m_size, e) || !fits(e, m_size, "file")) return m_problem;
        if (e.length == undefined_length) return {};
        if (e.element == 0x0010) {
          syntax.assign(reinterpret_cast<const char*>(m_data + e.value), e.length);
          while (!syntax.empty() && (syntax.back() == '\0' || syntax.back() == ' ')) {
            syntax.pop_back();
          }
        }
        pos = e.value + e.length;
      }
      m_in_meta = false;
      if (syntax == "1.2.840.10008.1.2.1.99") return {};  // deflated: not walked
      m_explicit = syntax != "1.2.840.10008.1.2";
      m_little = syntax != "1.2.840.10008.1.2.2";
      m_native = syntax == "1.2.840.10008.1.2" || syntax == "1.2.840.10008.1.2.1" ||
                 syntax == "1.2.840.10008.1.2.2";
    } else {
      // No preamble: only what starts like a DICOM data set (File Meta, or
      // group 0008 as the old ACR-NEMA and raw files do) is walked, so a
      // NIfTI or text file is never called damaged; then the encoding the
      // first element shows (GDCM guesses the same way), little endian.
      m_little = true;
      if (m_size < 8 || m_data[1] != 0 || (m_data[0] != 0x02 && m_data[0] != 0x08)) return {};
      m_explicit = is_vr(static_cast<char>(m_data[4]), static_cast<char>(m_data[5]));
    }
    walk_data_set(pos, m_size, 0, false, "file");
    return m_problem;
  }

 private:
  struct Element {
    std::uint16_t group = 0, element = 0;
    char vr[2] = {0, 0};
    bool implicit = false;  // read without a VR
    std::uint32_t length = 0;
    std::size_t value = 0;  // where the value starts
  };

  std::uint16_t u16(std::size_t at) const {
    const std::uint8_t* p = m_data + at;
    return m_little ? static_cast<std::uint16_t>(p[0] | p[1] << 8)
                    : static_cast<std::uint16_t>(p[1] | p[0] << 8);
  }
  std::uint32_t u32(std::size_t at) const {
    const std::uint8_t* p = m_data + at;
    return m_little ? (std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
                       std::uint32_t(p[3]) << 24)
                    : (std::uint32_t(p[3]) | std::uint32_t(p[2]) << 8 | std::uint32_t(p[1]) << 16 |
                       std::uint32_t(p[0]) << 24);
  }

  // False ends the walk (with m_problem set when a length is past `end`).
  bool found(const Element& e, std::size_t end, const char* container) {
    m_problem = "element " + tag_text(e.group, e.element) + " declares " +
                std::to_string(e.length) + " bytes, " + std::to_string(end - e.value) +
                " are left in the " + container;
    return false;
  }

  // The element header at `pos` (tag, VR where explicit, length); false when
  // it is cut off or does not read as one. Items and delimiters (FFFE,xxxx)
  // have no VR.
  bool header(std::size_t pos, std::size_t end, Element& e) {
    if (pos + 8 > end) return false;
    e.group = u16(pos);
    e.element = u16(pos + 2);
    if (e.group == 0xfffe || !m_explicit) {
      e.length = u32(pos + 4);
      e.value = pos + 8;
      e.implicit = e.group != 0xfffe;
      // Implicit VR bytes that read as a VR: the file is probably explicit
      // after all; GDCM decides.
      if (e.group != 0xfffe &&
          is_vr(static_cast<char>(m_data[pos + 4]), static_cast<char>(m_data[pos + 5]))) {
        return false;
      }
    } else {
      e.vr[0] = static_cast<char>(m_data[pos + 4]);
      e.vr[1] = static_cast<char>(m_data[pos + 5]);
      if (!is_vr(e.vr[0], e.vr[1]) && printable(e.vr[0]) && printable(e.vr[1])) {
        // GDCM reads two unknown printable characters as UN (a VR newer
        // than its dictionary, PS3.5 6.2): reserved bytes, a 4-byte length.
        e.vr[0] = 'U';
        e.vr[1] = 'N';
      }
      if (!is_vr(e.vr[0], e.vr[1])) {
        if (m_in_meta) return false;
        // GDCM reads an explicit-VR data set with an element that has no
        // valid VR again element by element (its ExplicitImplicitDataElement:
        // explicit where the two bytes are a VR, implicit where not; what it
        // then allocates is four bytes read as a length): so does the walk,
        // from here on (the elements before read the same either way).
        e.vr[0] = e.vr[1] = 0;
        e.implicit = true;
        e.length = u32(pos + 4);
        e.value = pos + 8;
        return true;
      }
      if (has_long_length(e.vr[0], e.vr[1])) {
        if (pos + 12 > end) return false;
        e.length = u32(pos + 8);
        e.value = pos + 12;
      } else {
        e.length = u16(pos + 6);
        e.value = pos + 8;
      }
    }
    return true;
  }

  // Whether an element's value of defined length starts with an item tag.
  bool starts_item(const Element& e) const {
    return e.length >= 8 && e.length != undefined_length && u16(e.value) == 0xfffe &&
           u16(e.value + 2) == 0xe000;
  }

  // Whether a defined length stays within `end` (else the finding).
  bool fits(const Element& e, std::size_t end, const char* container) {
    if (e.length == undefined_length || e.length <= end - e.value) return true;
    return found(e, end, container);
  }

  // The image attributes of the top-level data set as they pass (Rows,
  // Columns, BitsAllocated, SamplesPerPixel: US; NumberOfFrames: IS), and
  // its native pixel data checked against them: false (the finding) when
  // the element holds fewer bytes than they describe. GDCM and ITK read
  // such a file and fill the rest with whatever the buffer held; pydicom
  // refuses it ("The length of the pixel data in the dataset ... doesn't
  // match the expected length"), dcm2niix too. Longer is accepted (pydicom
  // reads the first bytes), encapsulated (compressed) data is not checked.
  bool pixel_data_fits(const Element& e) {
    if (e.group == 0x0028 && e.length == 2 &&
        (e.element == 0x0002 || e.element == 0x0010 || e.element == 0x0011 ||
         e.element == 0x0100)) {
      const std::uint16_t value = u16(e.value);
      if (e.element == 0x0002) m_samples = value;
      if (e.element == 0x0010) m_rows = value;
      if (e.element == 0x0011) m_columns = value;
      if (e.element == 0x0100) m_bits = value;
      return true;
    }
    if (e.group == 0x0028 && e.element == 0x0008 && e.length <= 12) {
      std::uint64_t frames = 0;
      bool digits = false;
      for (std::uint32_t i = 0; i < e.length; ++i) {
        const char c = static_cast<char>(m_data[e.value + i]);
        if (c >= '0' && c <= '9') {
          frames = frames * 10 + static_cast<std::uint64_t>(c - '0');
          digits = true;
        } else if (c != ' ' && c != '\0' && c != '+') {
          digits = false;
          break;
        }
      }
      m_frames = digits && frames > 0 ? frames : 1;
      return true;
    }
    if (e.group != 0x7fe0 || e.element != 0x0010 || !m_native || e.length == undefined_length ||
        m_rows == 0 || m_columns == 0 || m_bits == 0) {
      return true;
    }
    const std::uint64_t samples = m_samples == 0 ? 1 : m_samples;
    // At most 2^48 bits before the frames; more than 2^40 bytes saturates
    // (no length can hold that).
    const std::uint64_t per_frame = std::uint64_t(m_rows) * m_columns * samples * m_bits;
    constexpr std::uint64_t most = std::uint64_t(1) << 43;
    const std::uint64_t bits = m_frames > most / per_frame ? most : per_frame * m_frames;
    const std::uint64_t need = (bits + 7) / 8;
    if (e.length >= need) return true;
    m_problem = "pixel data (7FE0,0010) holds " + std::to_string(e.length) + " bytes, " +
                std::to_string(m_rows) + " rows x " + std::to_string(m_columns) + " columns x " +
                std::to_string(m_frames) + " frame(s) x " + std::to_string(samples) +
                " sample(s) x " + std::to_string(m_bits) + " bits need " + std::to_string(need);
    return false;
  }

  // Elements from `pos` to `end` (the end of `container`: "file",
  // "sequence", "item"); in an item of undefined length (`item`) until its
  // delimiter. Returns where the walk stopped, or npos to end it.
  std::size_t walk_data_set(std::size_t pos, std::size_t end, int depth, bool item,
                            const char* container) {
    if (depth > deepest) return npos;
    while (pos < end) {
      Element e;
      if (!header(pos, end, e)) return npos;
      if (e.group == 0xfffe) {
        // Only an item's delimiter belongs here.
        return item && e.element == 0xe00d ? e.value : npos;
      }
      if (!fits(e, end, container)) return npos;
      if (depth == 0 && !pixel_data_fits(e)) return npos;
      const bool sequence = e.implicit || (e.vr[0] == 'S' && e.vr[1] == 'Q');
      if (e.length == undefined_length) {
        // In explicit VR, an OB or OW of undefined length is encapsulated
        // pixel data: items that are fragments, not data sets. A UN of
        // undefined length holds an implicit-VR sequence: not followed.
        const bool fragments = !sequence && (e.vr[0] == 'O');
        if (!sequence && !fragments) return npos;
        pos = walk_sequence(e.value, end, depth + 1, true, fragments, container);
        if (pos == npos) return npos;
        continue;
      }
      // A defined length in implicit VR says nothing of the VR: GDCM keeps
      // the bytes, and opens them as a sequence when asked for one (its
      // GetValueAsSQ, for the functional groups, say); the walk opens those
      // that start with an item, as pydicom and GDCM would.
      if (!e.implicit ? sequence : starts_item(e)) {
        const std::size_t stop = e.value + e.length;
        if (walk_sequence(e.value, stop, depth + 1, false, false, "sequence") == npos) return npos;
      }
      pos = e.value + e.length;
    }
    return item ? npos : pos;
  }

  // Items from `pos`: until the sequence delimiter (`undefined`) or `end`
  // (the end of `container`); `fragments`: items of encapsulated pixel
  // data, of defined length and not opened.
  std::size_t walk_sequence(std::size_t pos, std::size_t end, int depth, bool undefined,
                            bool fragments, const char* container) {
    if (depth > deepest) return npos;
    while (pos < end) {
      Element e;
      if (!header(pos, end, e) || !fits(e, end, container)) return npos;
      if (e.group != 0xfffe) return npos;
      if (e.element == 0xe0dd) return undefined ? e.value : npos;
      if (e.element != 0xe000) return npos;
      if (e.length == undefined_length) {
        if (fragments) return npos;
        pos = walk_data_set(e.value, end, depth + 1, true, container);
        if (pos == npos) return npos;
        continue;
      }
      const std::size_t stop = e.value + e.length;
      if (!fragments && walk_data_set(e.value, stop, depth + 1, false, "item") != stop) {
        return npos;
      }
      pos = e.value + e.length;
    }
    return undefined ? npos : pos;
  }

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  const std::uint8_t* m_data;
  std::size_t m_size;
  bool m_explicit = true, m_little = true, m_in_meta = false;
  // A transfer syntax whose pixel data are the voxels' bytes (implicit and
  // explicit VR little endian, explicit big endian); also a file without
  // File Meta (ACR-NEMA and raw data sets have no other).
  bool m_native = true;
  std::uint16_t m_rows = 0, m_columns = 0, m_bits = 0, m_samples = 0;
  std::uint64_t m_frames = 1;
  std::string m_problem;
};

}  // namespace

std::string dicom_length_problem(const std::uint8_t* data, std::size_t size) {
  return Walk(data, size).run();
}

std::string dicom_length_problem(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  std::string problem;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    const auto size = static_cast<std::size_t>(st.st_size);
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      problem = dicom_length_problem(static_cast<const std::uint8_t*>(map), size);
      ::munmap(map, size);
    }
  }
  ::close(fd);
  return problem;
}

}  // namespace medimg::detail
