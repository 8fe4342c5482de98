// One gzip member inflated by two threads (include/medimg/io/detail/gzip_split.hpp).
#include "medimg/io/detail/gzip_split.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "medimg/config.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif
#if MEDIMG_HAS_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>
#endif

namespace medimg::detail {

#if !MEDIMG_HAS_ISAL

SplitResult inflate_split(const std::string&, SplitSink&, SplitOptions) {
  return {};
}

#else

namespace {

constexpr std::size_t kWindow = 32768;
constexpr std::size_t kChunk = std::size_t(256) << 10;

// The file, mapped read-only.
class Mapping {
 public:
  explicit Mapping(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      void* at =
          ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (at != MAP_FAILED) {
        m_data = static_cast<const unsigned char*>(at);
        m_size = static_cast<std::size_t>(st.st_size);
      }
    }
    ::close(fd);
  }
  ~Mapping() {
    if (m_data) ::munmap(const_cast<unsigned char*>(m_data), m_size);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  const unsigned char* data() const { return m_data; }
  std::size_t size() const { return m_size; }

 private:
  const unsigned char* m_data = nullptr;
  std::size_t m_size = 0;
};

// Gives back the mapped pages a thread has read past, every 4 MiB: the
// file's pages stay in the page cache, but not in the process's resident
// memory (the CT of 86 MB: peak 92 -> 17 MiB).
class ReadBehind {
 public:
  ReadBehind(const unsigned char* start, const unsigned char* end) : m_done(start), m_end(end) {}
  void at(const unsigned char* now) {
    constexpr std::uintptr_t page = 4096, step = std::uintptr_t(4) << 20;
    if (now < m_done || now > m_end) return;  // reading from elsewhere (the stop bytes)
    const auto from = (reinterpret_cast<std::uintptr_t>(m_done) + page - 1) & ~(page - 1);
    const auto to = reinterpret_cast<std::uintptr_t>(now) & ~(page - 1);
    if (to < from + step) return;
    ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
    m_done = reinterpret_cast<const unsigned char*>(to);
  }

 private:
  const unsigned char* m_done;
  const unsigned char* m_end;
};

// Deflate's bits, least significant first, read from a bit position.
class Bits {
 public:
  Bits(const unsigned char* data, std::size_t bytes, std::uint64_t at)
      : m_data(data), m_bytes(bytes), m_at(at) {}
  bool ok() const { return m_at <= std::uint64_t(m_bytes) * 8; }
  // The next 57 bits or more (zeros past the end), not consumed.
  std::uint64_t peek() const {
    const std::size_t byte = static_cast<std::size_t>(m_at >> 3);
    std::uint64_t word = 0;
    if (byte + 8 <= m_bytes) {
      std::memcpy(&word, m_data + byte, 8);
    } else if (byte < m_bytes) {
      std::memcpy(&word, m_data + byte, m_bytes - byte);
    }
    return word >> (m_at & 7);
  }
  unsigned take(int count) {
    const auto value = static_cast<unsigned>(peek() & ((std::uint64_t(1) << count) - 1));
    m_at += static_cast<std::uint64_t>(count);
    return value;
  }

 private:
  const unsigned char* m_data;
  std::size_t m_bytes;
  std::uint64_t m_at;
};

// The Kraft sum of a code's lengths: 0 complete, >0 incomplete, <0 over-subscribed
// (or no code at all: -1).
int kraft_left(const unsigned char* lengths, int count) {
  std::array<int, 16> per_length{};
  int used = 0;
  for (int i = 0; i < count; ++i) {
    ++per_length[lengths[i]];
    used += lengths[i] ? 1 : 0;
  }
  if (used == 0) return -1;
  int left = 1;
  for (std::size_t l = 1; l < 16; ++l) {
    left = 2 * left - per_length[l];
    if (left < 0) return -1;
  }
  return left;
}

// The code-length code (at most 7 bits a code), decoded canonically.
class CodeLengthCode {
 public:
  explicit CodeLengthCode(const std::array<unsigned char, 19>& lengths) {
    for (unsigned char l : lengths) ++m_per_length[l];
    std::array<int, 9> offset{};
    for (std::size_t l = 1; l < 8; ++l) offset[l + 1] = offset[l] + m_per_length[l];
    for (int s = 0; s < 19; ++s) {
      if (lengths[static_cast<std::size_t>(s)]) {
        m_sorted[static_cast<std::size_t>(offset[lengths[static_cast<std::size_t>(s)]]++)] = s;
      }
    }
  }
  int decode(Bits& bits) const {
    int code = 0, first = 0, index = 0;
    for (std::size_t l = 1; l < 8; ++l) {
      code |= static_cast<int>(bits.take(1));
      const int n = m_per_length[l];
      if (code - n < first) return m_sorted[static_cast<std::size_t>(index + code - first)];
      index += n;
      first = (first + n) << 1;
      code <<= 1;
    }
    return -1;
  }

 private:
  std::array<int, 9> m_per_length{};
  std::array<int, 19> m_sorted{};
};

// True when a non-final dynamic-Huffman block header starts at bit `at`:
// its code-length, literal/length and distance codes complete, the
// end-of-block symbol coded, the repeats within the lengths it declares.
bool dynamic_block_at(const unsigned char* data, std::size_t bytes, std::uint64_t at) {
  Bits bits(data, bytes, at);
  const std::uint64_t head = bits.peek();
  // BFINAL 0, BTYPE 2 (bits 0, 0, 1), HLIT <= 29, HDIST <= 29.
  if ((head & 7) != 4 || ((head >> 3) & 31) > 29 || ((head >> 8) & 31) > 29) return false;
  const int literals = static_cast<int>((head >> 3) & 31) + 257;
  const int distances = static_cast<int>((head >> 8) & 31) + 1;
  const int code_lengths = static_cast<int>((head >> 13) & 15) + 4;
  bits.take(17);
  static constexpr std::array<std::size_t, 19> order = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                        11, 4,  12, 3, 13, 2, 14, 1, 15};
  std::array<unsigned char, 19> cl{};
  const std::uint64_t triples = bits.peek();
  int kraft = 0;  // in 1/128ths: 128 is a complete code
  for (int i = 0; i < code_lengths; ++i) {
    const auto length = static_cast<unsigned>((triples >> (3 * i)) & 7);
    cl[order[static_cast<std::size_t>(i)]] = static_cast<unsigned char>(length);
    kraft += length ? 128 >> length : 0;
  }
  if (kraft != 128) return false;
  bits.take(3 * code_lengths);
  const CodeLengthCode code(cl);
  std::array<unsigned char, 320> lengths{};
  const int total = literals + distances;
  for (int i = 0; i < total;) {
    const int symbol = code.decode(bits);
    if (!bits.ok() || symbol < 0) return false;
    if (symbol < 16) {
      lengths[static_cast<std::size_t>(i++)] = static_cast<unsigned char>(symbol);
      continue;
    }
    unsigned char value = 0;
    int repeat = 0;
    if (symbol == 16) {
      if (i == 0) return false;
      value = lengths[static_cast<std::size_t>(i - 1)];
      repeat = 3 + static_cast<int>(bits.take(2));
    } else if (symbol == 17) {
      repeat = 3 + static_cast<int>(bits.take(3));
    } else {
      repeat = 11 + static_cast<int>(bits.take(7));
    }
    if (i + repeat > total) return false;
    while (repeat-- > 0) lengths[static_cast<std::size_t>(i++)] = value;
  }
  return bits.ok() && lengths[256] != 0 && kraft_left(lengths.data(), literals) == 0 &&
         kraft_left(lengths.data() + literals, distances) == 0;
}

// An ISA-L raw inflate starting at bit `at` of `data`.
void start_at(inflate_state& state, const unsigned char* data, std::size_t bytes,
              std::uint64_t at) {
  isal_inflate_init(&state);
  std::size_t byte = at >> 3;
  const int bit = static_cast<int>(at & 7);
  if (bit != 0) {
    state.read_in = data[byte] >> bit;
    state.read_in_length = 8 - bit;
    ++byte;
  }
  state.next_in = const_cast<unsigned char*>(data + byte);
  state.avail_in = static_cast<std::uint32_t>(bytes - byte);
}

// The two dictionaries: zeros and 0xff. A byte that copies, however
// indirectly, from the unknown window differs between the two outputs; a
// byte that does not is the same in both, and real.
struct Dictionaries {
  std::array<unsigned char, kWindow> first{}, second{};
  Dictionaries() { second.fill(0xff); }
};

// The bytes that stop ISA-L at bit `at`: the bits before it in its byte,
// then an empty final stored block (BFINAL 1, BTYPE 0, LEN 0, NLEN 0xffff).
std::vector<unsigned char> stop_bytes(const unsigned char* data, std::uint64_t at) {
  const int bit = static_cast<int>(at & 7);
  std::vector<unsigned char> out;
  out.push_back(static_cast<unsigned char>((data[at >> 3] & ((1u << bit) - 1)) | (1u << bit)));
  if (bit >= 6) out.push_back(0);  // BTYPE's bits spill into the next byte
  for (unsigned char b : {0x00, 0x00, 0xff, 0xff}) out.push_back(b);
  return out;
}

// The last 32 KiB of what a thread inflated: the dictionary of the part
// after it.
class Window {
 public:
  void add(const unsigned char* bytes, std::size_t count) {
    if (count >= kWindow) {
      std::memcpy(m_bytes.data(), bytes + count - kWindow, kWindow);
    } else if (count > 0) {
      std::memmove(m_bytes.data(), m_bytes.data() + count, kWindow - count);
      std::memcpy(m_bytes.data() + kWindow - count, bytes, count);
    }
    m_filled = std::min<std::uint64_t>(kWindow, m_filled + count);
  }
  bool whole() const { return m_filled == kWindow; }
  unsigned char* data() { return m_bytes.data(); }

 private:
  std::vector<unsigned char> m_bytes = std::vector<unsigned char>(kWindow);
  std::uint64_t m_filled = 0;
};

// Inflates `count` bytes from the block at bit `at` with `window` as the
// dictionary (the bytes a probe could not know), giving each piece to
// `give`; false when they do not inflate.
template <class Give>
bool inflate_known(const unsigned char* data, std::size_t bytes, std::uint64_t at,
                   std::uint64_t count, Window& window, inflate_state& state, unsigned char* chunk,
                   Give&& give) {
  start_at(state, data, bytes, at);
  if (isal_inflate_set_dict(&state, window.data(), kWindow) != COMP_OK) return false;
  for (std::uint64_t left = count; left > 0;) {
    state.next_out = chunk;
    state.avail_out = static_cast<std::uint32_t>(std::min<std::uint64_t>(kChunk, left));
    const std::uint32_t asked = state.avail_out;
    if (isal_inflate(&state) != ISAL_DECOMP_OK) return false;
    const std::size_t got = asked - state.avail_out;
    if (got == 0) return false;
    give(chunk, got);
    left -= got;
  }
  return true;
}

// What the worker found and did.
struct Worker {
  // Set once: 0 undecided, 1 split at `block`, 2 no split, 3 split in three
  // (the worker from `block` to `resume`, the calling thread on from there).
  std::mutex mutex;
  std::condition_variable decided_cv;
  std::atomic<int> decided{0};
  std::uint64_t block = 0;
  // The compressed byte before which the worker will not start: the
  // calling thread may inflate up to it while the worker probes, and waits
  // there while the worker is `early` (its first, short probes).
  std::size_t floor = 0;
  bool early = false;
  std::uint64_t probes = 0;
  std::atomic<bool> stop{false};
  // The output before the window was known, inflated again by the calling
  // thread once it has the window.
  std::uint64_t unknown_bytes = 0;
  std::uint64_t tail_bytes = 0;
  std::uint32_t tail_crc = 0;
  bool ok = false;
  // Split in three: the probe's state at `resume`, `resume_unknown` bytes
  // on (the worker inflates those again with its own last 32 KiB).
  std::uint64_t resume = 0;
  std::uint64_t resume_unknown = 0;
  std::unique_ptr<inflate_state> resume_state;

  void set_floor(std::size_t byte, bool still_early) {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      floor = std::max(floor, byte);
      early = still_early;
    }
    decided_cv.notify_all();
  }
  // The first decision stands (the worker's, or the calling thread's when
  // it has caught up with the worker's probes): true when it was this one.
  bool decide(int how, std::uint64_t at) {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      if (decided != 0) return false;
      decided = how;
      block = at;
    }
    decided_cv.notify_all();
    return true;
  }
  bool decide_three(std::uint64_t at, std::uint64_t p, std::uint64_t p_unknown,
                    std::unique_ptr<inflate_state>& p_state) {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      if (decided != 0) return false;
      decided = 3;
      block = at;
      resume = p;
      resume_unknown = p_unknown;
      resume_state = std::move(p_state);
    }
    decided_cv.notify_all();
    return true;
  }
};

// What every probe uses, made once: the second dictionary's state and the
// two outputs of a step. Memory freed between probes went back to the
// system and came again as fresh pages: made once, `medimg info` of the
// float ch2 .nii.gz (six probes) takes 1,024 page faults instead of 1,100;
// on a VM whose balloon has handed such pages to the host each costs far
// more than its clearing.
struct ProbeScratch {
  static constexpr std::size_t step = std::size_t(64) << 10;
  std::unique_ptr<inflate_state> two = std::make_unique<inflate_state>();
  std::unique_ptr<unsigned char[]> a{new unsigned char[step]}, b{new unsigned char[step]};
};

// Probes the block at bit `at`: true (and `unknown` set to the bytes before
// the window was known, `one` left going with the first dictionary) when
// the window became known within `limit` bytes of output.
bool probe(const unsigned char* data, std::size_t bytes, std::uint64_t at, std::size_t limit,
           const Dictionaries& dicts, inflate_state& one, ProbeScratch& scratch,
           std::uint64_t& unknown) {
  inflate_state* const two = scratch.two.get();
  start_at(one, data, bytes, at);
  start_at(*two, data, bytes, at);
  if (isal_inflate_set_dict(&one, const_cast<unsigned char*>(dicts.first.data()), kWindow) !=
          COMP_OK ||
      isal_inflate_set_dict(two, const_cast<unsigned char*>(dicts.second.data()), kWindow) !=
          COMP_OK) {
    return false;
  }
  constexpr std::size_t step = ProbeScratch::step;
  unsigned char* const a = scratch.a.get();
  unsigned char* const b = scratch.b.get();
  std::uint64_t done = 0;
  std::uint64_t last_marked = 0;  // one past the last byte the two disagree on
  while (done < limit) {
    one.next_out = a;
    one.avail_out = step;
    two->next_out = b;
    two->avail_out = step;
    const int ra = isal_inflate(&one);
    const int rb = isal_inflate(two);
    const std::size_t got = step - one.avail_out;
    if (ra != ISAL_DECOMP_OK || rb != ISAL_DECOMP_OK || got != step - two->avail_out) return false;
    for (std::size_t i = got; i > 0; --i) {
      if (a[i - 1] != b[i - 1]) {
        last_marked = done + i;
        break;
      }
    }
    done += got;
    // Known from here on: 32 KiB that copy nothing from the unknown window
    // (or a member that ended).
    if (done - last_marked >= kWindow || one.block_state == ISAL_BLOCK_FINISH) {
      unknown = done;
      return true;
    }
    if (got == 0) return false;
  }
  return false;
}

// The first dynamic-Huffman block in [at, to) (fractions of the compressed
// bytes): its bit, or 0 when there is none.
std::uint64_t block_in(const unsigned char* data, std::size_t bytes, double at, double to) {
  const auto bit_at = [&](double x) {
    return std::min<std::uint64_t>(std::uint64_t(bytes) * 8,
                                   static_cast<std::uint64_t>(x * static_cast<double>(bytes)) * 8);
  };
  for (std::uint64_t bit = bit_at(at), end = bit_at(to); bit < end; ++bit) {
    if (bit > 0 && dynamic_block_at(data, bytes, bit)) return bit;
  }
  return 0;
}

// Inflates with `state` to bit `end` (0: to the member's end), giving each
// piece to `give`; true when the bits before `end` (or the whole member,
// up to the trailer 8 bytes before the file's end) were consumed exactly.
template <class Give>
bool inflate_to(inflate_state& state, const unsigned char* data, std::size_t bytes,
                std::uint64_t end, unsigned char* chunk, const std::atomic<bool>& stop,
                Give&& give) {
  const std::size_t fed = static_cast<std::size_t>(state.next_in - data);
  const std::size_t end_byte = end != 0 ? static_cast<std::size_t>(end >> 3) : bytes;
  if (fed > end_byte) return false;
  state.avail_in = static_cast<std::uint32_t>(end_byte - fed);
  std::vector<unsigned char> stop_at =
      end != 0 ? stop_bytes(data, end) : std::vector<unsigned char>{};
  ReadBehind behind(state.next_in, data + end_byte);
  for (;;) {
    if (stop.load()) return false;
    behind.at(state.next_in);
    state.next_out = chunk;
    state.avail_out = kChunk;
    const int result = isal_inflate(&state);
    const std::size_t got = kChunk - state.avail_out;
    if (result != ISAL_DECOMP_OK) return false;
    give(chunk, got);
    if (state.block_state == ISAL_BLOCK_FINISH) break;
    if (state.avail_in > 0 || got == kChunk) continue;
    if (!stop_at.empty()) {
      state.next_in = stop_at.data();
      state.avail_in = static_cast<std::uint32_t>(stop_at.size());
      stop_at.clear();
      continue;
    }
    if (got == 0) return false;  // the data ran out inside a block
  }
  if (end != 0) return state.avail_in == 0 && stop_at.empty();
  // The member must end where the trailer starts, 8 bytes before the file's end.
  return state.avail_in + static_cast<std::size_t>(state.read_in_length / 8) == 0;
}

void run_worker(const unsigned char* data, std::size_t bytes, std::uint64_t content,
                const SplitOptions& options, SplitSink& sink, Worker& worker) {
  static const Dictionaries dicts;
  auto state = std::make_unique<inflate_state>();
  ProbeScratch scratch;
  const auto byte_at = [&](double at) {
    return static_cast<std::size_t>(at * static_cast<double>(bytes));
  };
  // The first block in [at, at + step), probed: its bit, or 0.
  const auto try_at = [&](double at, std::size_t limit, inflate_state& one,
                          std::uint64_t& unknown) -> std::uint64_t {
    const std::uint64_t bit = block_in(data, bytes, at, at + options.step);
    if (bit == 0 || worker.stop.load()) return 0;
    ++worker.probes;
    return probe(data, bytes, bit, limit, dicts, one, scratch, unknown) ? bit : 0;
  };
  const auto usable_earlier = [&](double at) {
    return at > options.step && at < options.first - options.step;
  };
  int how = 0;
  // First `first`, then the earlier places; the calling thread waits at
  // the earliest of them until these short probes are done.
  double earliest = options.first;
  for (const double at : options.earlier) {
    if (usable_earlier(at)) earliest = std::min(earliest, at);
  }
  worker.set_floor(byte_at(earliest), earliest < options.first);
  std::uint64_t unknown = 0;
  if (const std::uint64_t bit = try_at(options.first, options.probe_bytes, *state, unknown)) {
    worker.unknown_bytes = unknown;
    if (!worker.decide(1, bit)) return;
    how = 1;
  }
  for (const double at : options.earlier) {
    if (how != 0 || !usable_earlier(at)) continue;
    const std::uint64_t q = try_at(at, options.probe_bytes, *state, unknown);
    if (q == 0) continue;
    // The calling thread's second part: `middle` further on, or a step or
    // two past that.
    auto later = std::make_unique<inflate_state>();
    std::uint64_t later_unknown = 0;
    const double from =
        static_cast<double>(q) / (8.0 * static_cast<double>(bytes)) + options.middle;
    for (int k = 0; k < 3 && how == 0; ++k) {
      const double p_at = from + k * options.step;
      if (p_at >= options.last) break;
      const std::uint64_t p = try_at(p_at, options.probe_bytes, *later, later_unknown);
      if (p == 0) continue;
      worker.unknown_bytes = unknown;
      if (!worker.decide_three(q, p, later_unknown, later)) return;
      how = 3;
    }
    break;  // the first earlier block that worked, whether or not a second part was found
  }
  // Then on from `first`, as far as `last`, with longer probes as they fail.
  int forward = 1;
  for (double at = options.first + options.step; how == 0 && at <= options.last;
       at += options.step) {
    if (worker.stop.load() || worker.decided.load() != 0) break;
    worker.set_floor(byte_at(at), false);
    // Longer probes as they fail: a window referenced for long (background
    // copied on, CT air) becomes known after some MiB (measured: a CT
    // gzipped as one member within 2 MiB, ch2better within 8), but not
    // past a 16th of the content (the calling thread waits for a probe
    // once it reaches its start, and inflates the probed bytes again).
    const int longer = forward < 4 ? 0 : forward == 4 ? 2 : 4;
    const std::size_t limit = std::max<std::size_t>(
        options.probe_bytes, static_cast<std::size_t>(std::min<std::uint64_t>(
                                 options.probe_bytes << longer, content / 16)));
    const std::uint64_t bit = block_in(data, bytes, at, at + options.step);
    if (bit == 0) continue;
    ++forward;
    ++worker.probes;
    if (probe(data, bytes, bit, limit, dicts, *state, scratch, unknown)) {
      worker.unknown_bytes = unknown;
      if (!worker.decide(1, bit)) return;  // the calling thread went on alone
      how = 1;
    }
  }
  if (how == 0) {
    worker.decide(2, 0);
    return;
  }
  std::unique_ptr<unsigned char[]> out(new unsigned char[kChunk]);
  std::uint32_t crc = 0;
  Window window;
  const auto give = [&](const unsigned char* piece, std::size_t count) {
    crc = crc32_gzip_refl(crc, piece, count);
    worker.tail_bytes += count;
    if (how == 3) window.add(piece, count);
    sink.tail(piece, count);
  };
  if (!inflate_to(*state, data, bytes, how == 3 ? worker.resume : 0, out.get(), worker.stop, give))
    return;
  // Split in three: what the calling thread's probe at `resume` could not
  // know, inflated again with this part's last 32 KiB.
  if (how == 3 &&
      (!window.whole() || !inflate_known(data, bytes, worker.resume, worker.resume_unknown, window,
                                         *state, out.get(), give))) {
    return;
  }
  worker.tail_crc = crc;
  worker.ok = true;
}

// MEDIMG_GZIP_SPLIT: 0 off (false), x in (0, 1) the first place, patient.
bool options_from_environment(SplitOptions& options) {
  const char* value = std::getenv("MEDIMG_GZIP_SPLIT");
  if (!value || !*value) return true;
  char* end = nullptr;
  const double x = std::strtod(value, &end);
  if (end == value || *end != '\0') return true;
  if (x <= 0.0) return false;
  if (x < 1.0) {
    options.first = x;
    options.patient = true;
  }
  return true;
}

// Runs `head` on the calling thread and `worker` on another at the same
// time, and returns when both have: with OpenMP, on the pool's second
// thread (libgomp's idle threads spin for some milliseconds after each
// region; a third thread would share the two cores with that spinning:
// `perf` of `medimg info`, 12% of the samples), else a std::thread. With no
// second thread `alone` runs first, then `head`. Neither may throw.
template <class Head, class Work, class Alone>
void side_by_side(Head&& head, Work&& worker, Alone&& alone) {
#ifdef _OPENMP
  if (omp_in_parallel() == 0) {
#pragma omp parallel num_threads(2)
    {
      if (omp_get_num_threads() < 2) {
        alone();
        head();
      } else if (omp_get_thread_num() == 1) {
        worker();
      } else {
        head();
      }
    }
    return;
  }
#endif
  static_cast<void>(alone);  // a std::thread is always a second thread
  std::thread thread(worker);
  head();
  thread.join();
}

// Inflates the gzip members in data[0, bytes) one after the other, each
// checked by ISA-L (its CRC and length), giving their content to `give`;
// zero bytes after the last are padding where `padding` (as InputFile).
// False on anything else, or when `stop` is set.
template <class Give>
bool inflate_members(const unsigned char* data, std::size_t bytes, bool padding,
                     const std::atomic<bool>& stop, Give&& give) {
  auto state = std::make_unique<inflate_state>();
  std::unique_ptr<unsigned char[]> out(new unsigned char[kChunk]);
  std::size_t at = 0;
  ReadBehind behind(data, data + bytes);
  while (at < bytes) {
    if (data[at] != 0x1f) {
      if (!padding) return false;
      return std::all_of(data + at, data + bytes, [](unsigned char b) { return b == 0; });
    }
    isal_inflate_init(state.get());
    state->crc_flag = ISAL_GZIP;
    state->next_in = const_cast<unsigned char*>(data + at);
    state->avail_in = static_cast<std::uint32_t>(std::min<std::size_t>(bytes - at, 1u << 30));
    while (state->block_state != ISAL_BLOCK_FINISH) {
      if (stop.load()) return false;
      state->next_out = out.get();
      state->avail_out = kChunk;
      const std::uint32_t avail_in = state->avail_in;
      if (isal_inflate(state.get()) != ISAL_DECOMP_OK) return false;
      const std::size_t got = kChunk - state->avail_out;
      if (got == 0 && state->avail_in == avail_in && state->block_state != ISAL_BLOCK_FINISH) {
        return false;  // the data ran out inside a member
      }
      give(out.get(), got);
      behind.at(state->next_in);
    }
    at = static_cast<std::size_t>(state->next_in - data);
  }
  return true;
}

// Where a gzip member may start at or after `from`: the magic, deflate, no
// reserved flag bits, a header ISA-L reads, and the first 4 KiB of its
// deflate data inflating without error.
std::size_t member_start(const unsigned char* data, std::size_t bytes, std::size_t from,
                         std::size_t to) {
  auto state = std::make_unique<inflate_state>();
  std::unique_ptr<unsigned char[]> out(new unsigned char[4096]);
  for (std::size_t at = from; at + 18 < std::min(bytes, to); ++at) {
    const void* found = std::memchr(data + at, 0x1f, std::min(bytes, to) - at);
    if (!found) break;
    at = static_cast<std::size_t>(static_cast<const unsigned char*>(found) - data);
    if (at + 18 >= bytes || data[at + 1] != 0x8b || data[at + 2] != 8 || (data[at + 3] & 0xe0)) {
      continue;
    }
    isal_inflate_init(state.get());
    state->crc_flag = ISAL_GZIP;
    state->next_in = const_cast<unsigned char*>(data + at);
    state->avail_in = static_cast<std::uint32_t>(std::min<std::size_t>(bytes - at, 1u << 20));
    state->next_out = out.get();
    state->avail_out = 4096;
    if (isal_inflate(state.get()) == ISAL_DECOMP_OK &&
        (state->avail_out == 0 || state->block_state == ISAL_BLOCK_FINISH)) {
      return at;
    }
  }
  return 0;
}

// Several members (pigz -i's, medimg's own): each is independent, so the
// worker inflates those from a member past `first` of the file to its end.
SplitResult split_members(const Mapping& file, SplitSink& sink, const SplitOptions& options) {
  SplitResult result;
  const std::size_t bytes = file.size();
  // Members of medimg, pigz -i and bgzip are a few MiB at most: a member
  // start is looked for in 64 MiB (a large single-member file whose
  // trailer's length is below the limit is not searched through).
  const auto from = static_cast<std::size_t>(options.first * double(bytes));
  const std::size_t cut =
      member_start(file.data(), bytes, from,
                   std::min(static_cast<std::size_t>(options.last * double(bytes)),
                            from + (std::size_t(64) << 20)));
  if (cut == 0) return result;
  std::atomic<bool> stop{false};
  bool head_ok = false, tail_ok = false;
  std::uint64_t head_bytes = 0, tail_bytes = 0;
  std::exception_ptr failure;
  auto head = [&] {
    try {
      head_ok = inflate_members(file.data(), cut, false, stop,
                                [&](const unsigned char* b, std::size_t n) {
                                  head_bytes += n;
                                  sink.head(b, n);
                                });
    } catch (...) {
      failure = std::current_exception();
    }
    if (!head_ok) stop.store(true);
  };
  auto work = [&] {
    try {
      tail_ok = inflate_members(file.data() + cut, bytes - cut, true, stop,
                                [&](const unsigned char* b, std::size_t n) {
                                  tail_bytes += n;
                                  sink.tail(b, n);
                                });
    } catch (...) {
      tail_ok = false;
    }
  };
  // No second thread: nothing is split (the caller reads the file the
  // ordinary way).
  auto alone = [&] { stop.store(true); };
  side_by_side(head, work, alone);
  if (failure) std::rethrow_exception(failure);
  if (!head_ok || !tail_ok) return result;
  result.done = true;
  result.tail_offset = head_bytes;
  result.content = result.last_offset = head_bytes + tail_bytes;
  return result;
}

}  // namespace

SplitResult inflate_split(const std::string& path, SplitSink& sink, SplitOptions options) {
  SplitResult result;
  if (!options_from_environment(options)) return result;
  const Mapping file(path);
  if (!file.data() || file.size() < 18) return result;
  std::uint32_t want_crc = 0, want_length = 0;
  std::memcpy(&want_crc, file.data() + file.size() - 8, 4);
  std::memcpy(&want_length, file.data() + file.size() - 4, 4);
  if (want_length < options.min_content) {
    // Not one large member; perhaps several (only a file worth two threads).
    if (file.size() < options.min_content / 16) return result;
    return split_members(file, sink, options);
  }

  auto state = std::make_unique<inflate_state>();
  isal_inflate_init(state.get());
  state->next_in = const_cast<unsigned char*>(file.data());
  state->avail_in = static_cast<std::uint32_t>(std::min<std::size_t>(file.size(), 1u << 30));
  isal_gzip_header header;
  isal_gzip_header_init(&header);
  if (isal_read_gzip_header(state.get(), &header) != ISAL_DECOMP_OK) return result;
  const unsigned char* deflate = state->next_in;
  const std::size_t deflate_bytes =
      file.size() - 8 - static_cast<std::size_t>(deflate - file.data());
  if (deflate_bytes > (std::size_t(1) << 31)) return result;  // ISA-L's avail_in is 32 bits

  Worker worker;
  // The calling thread's part: the head, up to where the worker may still
  // start, then to the block it chose; `window` keeps its last 32 KiB.
  // Split in three, it then inflates the worker's unknown bytes and its
  // second part, from the worker's `resume` to the end (`last`).
  std::unique_ptr<unsigned char[]> out(new unsigned char[kChunk]);
  Window window;
  std::uint64_t head_bytes = 0, last_bytes = 0;
  std::uint32_t crc = 0, last_crc = 0;
  int how = 0;
  bool head_ok = false;
  std::exception_ptr failure;
  const auto give_head = [&](const unsigned char* piece, std::size_t count) {
    crc = crc32_gzip_refl(crc, piece, count);
    head_bytes += count;
    sink.head(piece, count);
  };
  auto head = [&] {
    try {
      isal_inflate_init(state.get());
      state->next_in = const_cast<unsigned char*>(deflate);
      state->avail_in = 0;
      std::vector<unsigned char> stop;
      unsigned char* const chunk = out.get();
      ReadBehind behind(deflate, deflate + deflate_bytes);
      for (;;) {
        behind.at(state->next_in);
        state->next_out = chunk;
        state->avail_out = kChunk;
        const int code = isal_inflate(state.get());
        const std::size_t got = kChunk - state->avail_out;
        if (code != ISAL_DECOMP_OK) break;
        window.add(chunk, got);
        give_head(chunk, got);
        if (state->block_state == ISAL_BLOCK_FINISH) {
          head_ok = state->avail_in == 0 && stop.empty();
          break;
        }
        if (state->avail_in > 0 || got == kChunk) continue;
        if (how == 0) {
          const std::size_t fed = static_cast<std::size_t>(state->next_in - deflate);
          std::unique_lock<std::mutex> lock(worker.mutex);
          // Until the worker has begun and while its first probes last;
          // then never waiting for a probe: up to where it looks now, or,
          // caught up with it, on alone (patient: until it decides or looks
          // further on).
          worker.decided_cv.wait(lock, [&] {
            return worker.decided != 0 || worker.floor > fed ||
                   (!options.patient && !worker.early && worker.floor != 0);
          });
          if (worker.decided == 0 && worker.floor <= fed) worker.decided = 2;
          how = worker.decided;
          if (how == 0) {
            state->avail_in = static_cast<std::uint32_t>(worker.floor - fed);
            continue;
          }
          if (how != 2) {
            const std::size_t end = static_cast<std::size_t>(worker.block >> 3);
            if (end < fed) break;  // the head went past it
            stop = stop_bytes(deflate, worker.block);
            state->avail_in = static_cast<std::uint32_t>(end - fed);
          } else {
            state->avail_in = static_cast<std::uint32_t>(deflate_bytes - fed);
          }
          if (state->avail_in > 0) continue;
        }
        if (how != 2 && !stop.empty()) {
          state->next_in = stop.data();
          state->avail_in = static_cast<std::uint32_t>(stop.size());
          stop.clear();
          continue;
        }
        if (got == 0) break;  // the data ran out inside a block
      }
      if (how != 1 && how != 3 && state->read_in_length / 8 != 0)
        head_ok = false;  // a second member
      if (head_ok && (how == 1 || how == 3)) {
        // The bytes the worker could not know, inflated again from its block
        // with the window it lacked, this part's last 32 KiB; then, split in
        // three, the second part.
        head_ok = window.whole() &&
                  inflate_known(deflate, deflate_bytes, worker.block, worker.unknown_bytes, window,
                                *state, out.get(), give_head);
        if (head_ok) sink.placed(head_bytes);
        head_ok =
            head_ok && (how == 1 ||
                        inflate_to(*worker.resume_state, deflate, deflate_bytes, 0, out.get(),
                                   worker.stop, [&](const unsigned char* piece, std::size_t count) {
                                     last_crc = crc32_gzip_refl(last_crc, piece, count);
                                     last_bytes += count;
                                     sink.last(piece, count);
                                   }));
      }
    } catch (...) {
      failure = std::current_exception();
    }
    if (!head_ok) worker.stop.store(true);  // what the worker gives would be thrown away
  };
  auto work = [&] {
    try {
      run_worker(deflate, deflate_bytes, want_length, options, sink, worker);
    } catch (...) {
      worker.ok = false;
    }
    worker.decide(2, 0);  // no effect when decided
    // Split in three, the calling thread's second part would be thrown away.
    if (!worker.ok && worker.decided.load() == 3) worker.stop.store(true);
  };
  auto alone = [&] { worker.decide(2, 0); };
  side_by_side(head, work, alone);
  if (failure) std::rethrow_exception(failure);
  if (!head_ok) return result;
  result.probes = worker.probes;
  if (how != 1 && how != 3) {
    // Nothing split: the calling thread inflated the whole member.
    if (crc != want_crc || std::uint32_t(head_bytes) != want_length) return result;
    result.done = true;
    result.tail_offset = result.last_offset = result.content = head_bytes;
    return result;
  }
  if (!worker.ok) return result;
  crc = static_cast<std::uint32_t>(
      crc32_combine(crc, worker.tail_crc, static_cast<z_off_t>(worker.tail_bytes)));
  crc = static_cast<std::uint32_t>(crc32_combine(crc, last_crc, static_cast<z_off_t>(last_bytes)));
  const std::uint64_t content = head_bytes + worker.tail_bytes + last_bytes;
  if (crc != want_crc || std::uint32_t(content) != want_length) return result;
  result.done = true;
  result.tail_offset = head_bytes;
  result.last_offset = head_bytes + worker.tail_bytes;
  result.content = content;
  return result;
}

#endif

}  // namespace medimg::detail
