// Files that may be gzip-compressed, read in one streaming pass and written
// with parallel compression. ISA-L's igzip does the work where medimg was
// built with it (MEDIMG_HAS_ISAL), zlib otherwise; the files are the same
// format either way.
//
// Reading: a file starting with the gzip magic (1f 8b) is inflated on the
// fly, every member of a multi-member file in turn (RFC 1952: a gzip file is
// a series of members; gzip, zlib's gzread, Python and nibabel read them as
// one stream); any other file is read as it is. The bytes go straight into
// the caller's buffer. Corrupt data, a CRC or length mismatch and a stream
// that ends inside a member are errors naming the file.
//
// Writing: the data is cut into blocks of `block_bytes`, each compressed by
// one of `threads` host threads into an independent gzip member (its own
// header, CRC and length, as `pigz -i` blocks are independent), and the
// members are written in order. The result passes `gzip -t`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace medimg::detail {

class InputFile {
 public:
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Reads up to `count` bytes of the (decompressed) content; fewer only when
  // the content ends.
  std::size_t read(void* buffer, std::size_t count);
  // Reads exactly `count` bytes; throws "... ends after N bytes; WHAT needs M"
  // when the content is shorter.
  void read_exactly(void* buffer, std::size_t count, const char* what);
  // Skips `count` bytes of content (a NIfTI extension, a gap before voxels).
  void skip(std::uint64_t count, const char* what);
  // Bytes of content delivered so far.
  std::uint64_t position() const;
  bool compressed() const;
  const std::string& path() const;

 private:
  struct State;
  std::unique_ptr<State> m_state;
};

// One contiguous piece of the data to write.
struct ByteSpan {
  const void* data;
  std::size_t size;
};

struct GzipWriteOptions {
  int level = 1;    // 1 (fastest) .. 9 (smallest); see gzip_level_description
  int threads = 0;  // 0: the host execution space's concurrency
  std::size_t block_bytes = std::size_t(4) << 20;
};

// Writes the concatenation of `pieces` to `path` (created or truncated),
// gzip-compressed when `compress`, else as they are. Throws medimg::Error
// naming `error_path` (the user's path, when `path` is a temporary one).
void write_file(const std::string& path, const std::vector<ByteSpan>& pieces, bool compress,
                const GzipWriteOptions& options, const std::string& error_path);

// "ISA-L igzip level 1" / "zlib level 6": what a medimg level means here.
std::string gzip_level_description(int level);

// True when the first bytes of a file are the gzip magic.
bool starts_with_gzip_magic(const unsigned char* bytes, std::size_t count);

}  // namespace medimg::detail
