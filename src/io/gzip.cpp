// Streaming gzip input and parallel gzip output (include/medimg/io/detail/gzip.hpp),
// through ISA-L's igzip where medimg was built with it, zlib otherwise.
#include "medimg/io/detail/gzip.hpp"
#include "medimg/core/cpu_pinning.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "medimg/config.hpp"
#include "medimg/core/error.hpp"

#if MEDIMG_HAS_ISAL
#include <isa-l/igzip_lib.h>
#endif
#include <zlib.h>

namespace medimg::detail {

namespace {

constexpr std::size_t input_chunk = std::size_t(4) << 20;
// What a file is read ahead by before it is known to be gzip: a plain file's
// voxels are then read straight into the image, never through a buffer.
constexpr std::size_t sniff_bytes = std::size_t(64) << 10;

// A byte buffer left uninitialised (pages are touched only when read into).
class ReadAhead {
 public:
  unsigned char* data() { return m_bytes.get(); }
  std::size_t size() const { return m_size; }
  unsigned char operator[](std::size_t i) const { return m_bytes[i]; }
  // Resizes to `size` bytes, keeping the first `keep`.
  void resize(std::size_t size, std::size_t keep) {
    std::unique_ptr<unsigned char[]> bytes(new unsigned char[size]);
    if (keep > 0) std::memcpy(bytes.get(), m_bytes.get(), std::min(keep, size));
    m_bytes = std::move(bytes);
    m_size = size;
  }

 private:
  std::unique_ptr<unsigned char[]> m_bytes;
  std::size_t m_size = 0;
};

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw Error("cannot read '" + path + "': " + why);
}

std::string system_error_text() {
  return std::strerror(errno);
}

// One read() that retries on EINTR; 0 at the end of the file.
std::size_t read_some(int fd, void* buffer, std::size_t count, const std::string& path) {
  for (;;) {
    const ssize_t got = ::read(fd, buffer, std::min<std::size_t>(count, std::size_t(1) << 30));
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR) fail(path, system_error_text());
  }
}

#if MEDIMG_HAS_ISAL
const char* inflate_error_text(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK: return "invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK: return "invalid back-reference distance";
    case ISAL_INVALID_WRAPPER: return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM: return "CRC or length check failed";
    default: return "inflate failed";
  }
}
#endif

}  // namespace

bool starts_with_gzip_magic(const unsigned char* bytes, std::size_t count) {
  return count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

struct InputFile::State {
  std::string path;
  int fd = -1;
  bool compressed = false;
  bool file_ended = false;  // read() returned 0
  bool content_ended = false;
  bool member_done = false;  // between two gzip members
  std::uint64_t position = 0;
  ReadAhead input;  // bytes read ahead (gzip: compressed bytes)
  std::size_t input_begin = 0, input_end = 0;
#if MEDIMG_HAS_ISAL
  std::unique_ptr<inflate_state> inflate;
#else
  z_stream zs{};
  bool zs_open = false;
#endif

  std::size_t input_available() const {
    return input_end - input_begin;
  }

  // Makes at least `want` compressed bytes available unless the file ends.
  void fill_input(std::size_t want) {
    if (input_available() >= want || file_ended) return;
    if (input_begin > 0) {
      std::memmove(input.data(), input.data() + input_begin, input_available());
      input_end -= input_begin;
      input_begin = 0;
    }
    while (input_end < want && !file_ended) {
      const std::size_t got =
          read_some(fd, input.data() + input_end, input.size() - input_end, path);
      if (got == 0) file_ended = true;
      input_end += got;
    }
  }

  // At a member boundary: starts the next member, or ends the content.
  // Zero bytes after the last member are padding (as Python's gzip reads
  // them); anything else there is an error.
  bool start_next_member() {
    for (;;) {
      fill_input(2);
      while (input_available() > 0 && input[input_begin] == 0) ++input_begin;
      if (input_available() == 0) {
        if (file_ended) return false;
        continue;
      }
      fill_input(2);
      if (!starts_with_gzip_magic(input.data() + input_begin, input_available())) {
        fail(path, "bytes after the end of the gzip data are not gzip");
      }
      break;
    }
#if MEDIMG_HAS_ISAL
    isal_inflate_reset(inflate.get());
    inflate->crc_flag = ISAL_GZIP;
#else
    if (inflateReset(&zs) != Z_OK) fail(path, "zlib could not restart");
#endif
    member_done = false;
    return true;
  }

  std::size_t inflate_some(unsigned char* out, std::size_t count) {
    std::size_t produced = 0;
    while (produced < count) {
      if (member_done && !start_next_member()) {
        content_ended = true;
        break;
      }
      if (input_available() == 0) fill_input(1);
      const std::size_t in_now = std::min<std::size_t>(input_available(), 1u << 30);
      const std::size_t out_now = std::min<std::size_t>(count - produced, 1u << 30);
#if MEDIMG_HAS_ISAL
      inflate_state& s = *inflate;
      s.next_in = input.data() + input_begin;
      s.avail_in = static_cast<std::uint32_t>(in_now);
      s.next_out = out + produced;
      s.avail_out = static_cast<std::uint32_t>(out_now);
      const int code = isal_inflate(&s);
      const std::size_t used = in_now - s.avail_in;
      const std::size_t made = out_now - s.avail_out;
      if (code < 0)
        fail(path, std::string("compressed data is corrupt (") + inflate_error_text(code) + ")");
      const bool finished = s.block_state == ISAL_BLOCK_FINISH;
#else
      zs.next_in = input.data() + input_begin;
      zs.avail_in = static_cast<uInt>(in_now);
      zs.next_out = out + produced;
      zs.avail_out = static_cast<uInt>(out_now);
      const int code = ::inflate(&zs, Z_NO_FLUSH);
      const std::size_t used = in_now - zs.avail_in;
      const std::size_t made = out_now - zs.avail_out;
      if (code == Z_DATA_ERROR || code == Z_NEED_DICT || code == Z_MEM_ERROR) {
        fail(path, std::string("compressed data is corrupt (zlib: ") +
                       (zs.msg ? zs.msg : "inflate failed") + ")");
      }
      const bool finished = code == Z_STREAM_END;
#endif
      input_begin += used;
      produced += made;
      if (finished) {
        member_done = true;
      } else if (used == 0 && made == 0 && input_available() == 0 && file_ended) {
        fail(path, "compressed data is truncated (the gzip stream ends inside a member after " +
                       std::to_string(position + produced) + " bytes)");
      }
    }
    return produced;
  }
};

InputFile::InputFile(const std::string& path) : m_state(std::make_unique<State>()) {
  State& s = *m_state;
  s.path = path;
  s.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (s.fd < 0) fail(path, system_error_text());
  s.input.resize(sniff_bytes, 0);
  s.fill_input(2);
  s.compressed = starts_with_gzip_magic(s.input.data(), s.input_available());
  if (!s.compressed) return;
  s.input.resize(input_chunk, s.input_end);
#if MEDIMG_HAS_ISAL
  s.inflate = std::make_unique<inflate_state>();
  isal_inflate_init(s.inflate.get());
  s.inflate->crc_flag = ISAL_GZIP;
#else
  if (inflateInit2(&s.zs, 15 + 16) != Z_OK) fail(path, "zlib could not start");
  s.zs_open = true;
#endif
}

InputFile::~InputFile() {
#if !MEDIMG_HAS_ISAL
  if (m_state->zs_open) inflateEnd(&m_state->zs);
#endif
  if (m_state->fd >= 0) ::close(m_state->fd);
}

std::size_t InputFile::read(void* buffer, std::size_t count) {
  State& s = *m_state;
  auto* out = static_cast<unsigned char*>(buffer);
  std::size_t done = 0;
  if (s.compressed) {
    if (!s.content_ended) done = s.inflate_some(out, count);
  } else {
    // Bytes read ahead (the magic check) first, then straight from the file.
    const std::size_t ahead = std::min(count, s.input_available());
    std::memcpy(out, s.input.data() + s.input_begin, ahead);
    s.input_begin += ahead;
    done = ahead;
    while (done < count && !s.file_ended) {
      const std::size_t got = read_some(s.fd, out + done, count - done, s.path);
      if (got == 0) s.file_ended = true;
      done += got;
    }
  }
  s.position += done;
  return done;
}

void InputFile::read_exactly(void* buffer, std::size_t count, const char* what) {
  const std::uint64_t start = position();
  const std::size_t got = read(buffer, count);
  if (got < count) {
    fail(path(), std::string(compressed() ? "decompressed content" : "file") + " ends after " +
                     std::to_string(start + got) + " bytes; " + what + " needs " +
                     std::to_string(start + count));
  }
}

void InputFile::skip(std::uint64_t count, const char* what) {
  std::vector<unsigned char> scratch(std::min<std::uint64_t>(count, input_chunk));
  while (count > 0) {
    const std::size_t now =
        static_cast<std::size_t>(std::min<std::uint64_t>(count, scratch.size()));
    read_exactly(scratch.data(), now, what);
    count -= now;
  }
}

std::uint64_t InputFile::position() const {
  return m_state->position;
}
bool InputFile::compressed() const {
  return m_state->compressed;
}
const std::string& InputFile::path() const {
  return m_state->path;
}

// ------------------------------------------------------------------ writing

namespace {

#if MEDIMG_HAS_ISAL
// medimg levels 1..9 onto igzip's 0..3 (igzip's 0 is a plain LZ77 pass
// without Huffman tuning; medimg starts at 1).
int isal_level(int level) {
  return level <= 2 ? 1 : level <= 5 ? 2 : 3;
}

std::size_t isal_level_buffer(int isal) {
  switch (isal) {
    case 1: return ISAL_DEF_LVL1_DEFAULT;
    case 2: return ISAL_DEF_LVL2_DEFAULT;
    default: return ISAL_DEF_LVL3_DEFAULT;
  }
}
#endif

// One complete gzip member holding `size` bytes of `data`, by zlib.
std::vector<unsigned char> compress_member_zlib(const unsigned char* data, std::size_t size,
                                                int level, const std::string& error_path) {
  std::vector<unsigned char> out;
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw Error("cannot write '" + error_path + "': zlib could not start");
  }
  out.resize(deflateBound(&zs, static_cast<uLong>(size)));
  zs.next_in = const_cast<unsigned char*>(data);
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int code = deflate(&zs, Z_FINISH);
  const std::size_t produced = out.size() - zs.avail_out;
  deflateEnd(&zs);
  if (code != Z_STREAM_END) {
    throw Error("cannot write '" + error_path + "': zlib deflate failed");
  }
  out.resize(produced);
  return out;
}

#if MEDIMG_HAS_ISAL
constexpr std::size_t small_member_bytes = 64 * 1024;
#endif

// One complete gzip member holding `size` bytes of `data`.
std::vector<unsigned char> compress_member(const unsigned char* data, std::size_t size, int level,
                                           const std::string& error_path) {
#if MEDIMG_HAS_ISAL
  // Small members (the header of a .nii.gz) go through zlib: ISA-L 2.30 was
  // seen to encode the same 352-byte header two ways in different processes
  // of one mpiexec run (both valid; the other way matches zlib's block
  // header), so outputs were not byte-identical from run to run. Its large
  // blocks were always identical. zlib costs nothing at this size.
  if (size < small_member_bytes) return compress_member_zlib(data, size, level, error_path);
  std::vector<unsigned char> out(size + size / 8 + 1024);
  const int isal = isal_level(level);
  std::vector<unsigned char> level_buffer(isal_level_buffer(isal));
  // Zeroed first: isal_deflate_init leaves some fields as they are (ISA-L
  // 2.30: hist_bits, the window size, where 0 means 32 KiB), and stack
  // garbage there made the same bytes compress differently from run to run
  // (valid streams, but outputs that were not byte-identical).
  isal_zstream s{};
  isal_deflate_init(&s);
  s.gzip_flag = IGZIP_GZIP;
  s.level = static_cast<std::uint32_t>(isal);
  s.level_buf = level_buffer.data();
  s.level_buf_size = static_cast<std::uint32_t>(level_buffer.size());
  s.end_of_stream = 1;
  s.flush = NO_FLUSH;
  s.next_in = const_cast<unsigned char*>(data);
  s.avail_in = static_cast<std::uint32_t>(size);
  std::size_t produced = 0;
  for (;;) {
    s.next_out = out.data() + produced;
    s.avail_out = static_cast<std::uint32_t>(out.size() - produced);
    const int code = isal_deflate(&s);
    if (code != COMP_OK) {
      throw Error("cannot write '" + error_path + "': ISA-L deflate failed (code " +
                  std::to_string(code) + ")");
    }
    produced = out.size() - s.avail_out;
    if (s.internal_state.state == ZSTATE_END) break;
    out.resize(out.size() * 2);
  }
  out.resize(produced);
  return out;
#else
  return compress_member_zlib(data, size, level, error_path);
#endif
}

class OutputFile {
 public:
  OutputFile(const std::string& path, const std::string& error_path)
      : m_error_path(error_path),
        m_fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {
    if (m_fd < 0) fail_write();
  }
  ~OutputFile() {
    if (m_fd >= 0) ::close(m_fd);
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    while (size > 0) {
      const ssize_t put = ::write(m_fd, bytes, std::min<std::size_t>(size, std::size_t(1) << 30));
      if (put < 0) {
        if (errno == EINTR) continue;
        fail_write();
      }
      bytes += put;
      size -= static_cast<std::size_t>(put);
    }
  }
  void close() {
    const int fd = m_fd;
    m_fd = -1;
    if (::close(fd) != 0) fail_write();
  }

 private:
  [[noreturn]] void fail_write() const {
    throw Error("cannot write '" + m_error_path + "': " + system_error_text());
  }
  std::string m_error_path;
  int m_fd;
};

int host_threads(int requested) {
  if (requested > 0) return requested;
  if (Kokkos::is_initialized()) return Kokkos::DefaultHostExecutionSpace().concurrency();
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Compresses `blocks` on worker threads and writes the members in order.
// At most 2 blocks per thread are compressed ahead of the writer, so memory
// stays a few blocks whatever the image size.
void write_members(OutputFile& file, const std::vector<ByteSpan>& blocks, int level, int threads,
                   const std::string& error_path) {
  const std::size_t count = blocks.size();
  std::vector<std::vector<unsigned char>> members(count);
  std::vector<char> ready(count, 0);
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t written = 0;
  std::exception_ptr error;
  std::atomic<std::size_t> next{0};
  const std::size_t window = 2 * static_cast<std::size_t>(threads);

  auto work = [&] {
    for (;;) {
      const std::size_t i = next++;
      if (i >= count) return;
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return error || i < written + window; });
        if (error) return;
      }
      try {
        auto member = compress_member(static_cast<const unsigned char*>(blocks[i].data),
                                      blocks[i].size, level, error_path);
        std::lock_guard<std::mutex> lock(mutex);
        members[i] = std::move(member);
        ready[i] = 1;
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
      }
      changed.notify_all();
    }
  };
  std::vector<std::thread> workers;
  const int worker_count = static_cast<int>(std::min<std::size_t>(threads, count));
  {
    const AllCpus all;  // the workers may run on any CPU (pinned threads)
    for (int t = 0; t < worker_count; ++t) workers.emplace_back(work);
  }
  try {
    for (std::size_t i = 0; i < count; ++i) {
      std::vector<unsigned char> member;
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return error || ready[i]; });
        if (error) break;
        member = std::move(members[i]);
      }
      file.write(member.data(), member.size());
      {
        std::lock_guard<std::mutex> lock(mutex);
        written = i + 1;
      }
      changed.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!error) error = std::current_exception();
  }
  changed.notify_all();
  for (auto& worker : workers) worker.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

std::string gzip_level_description(int level) {
#if MEDIMG_HAS_ISAL
  return "ISA-L igzip level " + std::to_string(isal_level(level));
#else
  return "zlib level " + std::to_string(level);
#endif
}

void write_file(const std::string& path, const std::vector<ByteSpan>& pieces, bool compress,
                const GzipWriteOptions& options, const std::string& error_path) {
  OutputFile file(path, error_path);
  if (!compress) {
    for (const ByteSpan& piece : pieces) file.write(piece.data, piece.size);
    file.close();
    return;
  }
  if (options.level < 1 || options.level > 9) {
    throw Error("cannot write '" + error_path + "': compression level " +
                std::to_string(options.level) + " is outside 1..9");
  }
  const std::size_t block = std::max<std::size_t>(options.block_bytes, 64 * 1024);
  std::vector<ByteSpan> blocks;
  for (const ByteSpan& piece : pieces) {
    const auto* bytes = static_cast<const unsigned char*>(piece.data);
    for (std::size_t at = 0; at < piece.size; at += block) {
      blocks.push_back({bytes + at, std::min(block, piece.size - at)});
    }
  }
  if (blocks.empty()) blocks.push_back({nullptr, 0});
  write_members(file, blocks, options.level, host_threads(options.threads), error_path);
  file.close();
}

}  // namespace medimg::detail
