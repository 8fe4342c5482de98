// One gzip member inflated by two threads (ISA-L builds only).
//
// A deflate stream cannot be cut anywhere: a block's back-references reach
// 32 KiB into output not yet known to a thread starting there. The worker
// thread looks, past a point of the compressed data, for the start of a
// dynamic-Huffman block (a header whose three codes are complete, the
// end-of-block symbol coded), and inflates from there twice in step with
// ISA-L, with two made-up dictionaries for the unknown 32 KiB window, all
// zeros and all 0xff: where the two outputs agree the byte is real; where
// they differ it copies, however indirectly, from the window. Once 32 KiB
// of output pass with no such byte, every later byte is real:
// the worker goes on alone and hands its bytes (the tail) to the sink as it
// goes. Where the window is not known within `probe_bytes` of output (long
// runs of background copy it onward), the worker tries a block further on,
// with longer probes after four. The calling thread inflates meanwhile up to where the worker
// may still start, then up to the block it chose (ISA-L is stopped there by
// an empty final stored block appended to the bits before it), then fills
// in what the worker could not know by inflating it again from that block
// with its own last 32 KiB as the dictionary.
// Three parts where the middle of the data copies from far back: when the
// first probe fails, the worker probes earlier blocks (`earlier` before
// `first`); from the first whose window becomes known, q, it looks for a
// block p about `middle` of the compressed bytes further on whose window
// does too. It then inflates [q, p) and the calling thread [0, q) and
// [p, end): ch2's float .nii.gz copies from an unknown window from 23% to
// 59% of its compressed bytes, so a split in two left the calling thread
// 59% of the work. The worker, at p, inflates p's unknown bytes again with
// its own last 32 KiB; the calling thread gives what it inflates from p to
// the sink's last().
// A file of several members (medimg's own, members of 4 MiB; pigz -i;
// `cat a.gz b.gz`) is split at a member instead: the first header past
// `first` of the file whose first 4 KiB inflate, each member checked by
// ISA-L (CRC and length); one whose last member holds `min_content` or more
// goes the single-member way and is read by one thread.
// Nothing is trusted until the whole member checks: the worker ended where
// the 8-byte trailer starts and the file ends, the calling thread consumed
// exactly the bits before the block, and the CRC-32 (combined over the
// three parts) and length match the trailer.
//
// The compressed file is mapped (MAP_PRIVATE): as for load_image_mapped, it
// must not be truncated while it is read (SIGBUS); a file replaced by rename
// is not affected.
//
// What the sink gets: head() on the calling thread, the content in order
// from offset 0 up to `tail_offset`; tail() on the worker, in order, the
// content from `tail_offset` (known only at the end) up to `last_offset`;
// last() on the calling thread, in order, the content from `last_offset`
// (known only at the end) to the end: nothing unless split in three. When
// `done` is false (too small, more than one member, no usable block, a
// corrupt stream, no ISA-L) the sink's bytes must be thrown away and the
// file read the ordinary way (InputFile), which also names what is wrong
// with it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace medimg::detail {

class SplitSink {
 public:
  virtual ~SplitSink() = default;
  virtual void head(const unsigned char* bytes, std::size_t count) = 0;
  virtual void tail(const unsigned char* bytes, std::size_t count) = 0;
  virtual void last(const unsigned char* bytes, std::size_t count) = 0;
  // Called on the calling thread, while the worker may still be giving its
  // part, once `tail_offset` is known (a sink may then stop reducing the
  // tail for every voxel alignment).
  virtual void placed(std::uint64_t tail_offset) { static_cast<void>(tail_offset); }
};

struct SplitOptions {
  // One member: content (the trailer's length) below which nothing is
  // split; several members: a file below a 16th of it is not.
  std::uint64_t min_content = std::uint64_t(16) << 20;
  // Where, as a fraction of the compressed bytes, the worker first looks
  // for a block, how far it moves on after a probe that failed, and the
  // last place it looks.
  double first = 0.45;
  double step = 0.03;
  double last = 0.85;
  // When the first probe fails: earlier places probed before the forward
  // search goes on (the calling thread waits at the earliest if it gets
  // there first), and where, `middle` of the compressed bytes past the
  // earlier block that worked, the calling thread's second part begins.
  std::array<double, 2> earlier = {0.30, 0.20};
  double middle = 0.49;
  // Output of one probe within which the window must become known: the
  // first four probes; the fifth 4 times as long, the others 16 times.
  std::size_t probe_bytes = std::size_t(512) << 10;
  // The calling thread, having caught up with the worker's probes, goes on
  // alone (never waiting); `patient`, it waits for the worker's decision,
  // so that where the file is split does not depend on the threads' speeds
  // (tests; set by MEDIMG_GZIP_SPLIT=x).
  bool patient = false;
};

struct SplitResult {
  bool done = false;
  std::uint64_t tail_offset = 0;  // where the tail starts in the content
  std::uint64_t last_offset = 0;  // where last()'s part starts: `content` when none
  std::uint64_t content = 0;      // the content's length
  std::uint64_t probes = 0;       // blocks the worker tried
};

// MEDIMG_GZIP_SPLIT=0 turns it off (the result is then not done); a value
// between 0 and 1 replaces `first` and makes the calling thread `patient`.
SplitResult inflate_split(const std::string& path, SplitSink& sink, SplitOptions options = {});

}  // namespace medimg::detail
