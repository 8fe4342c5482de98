// Reads that a library can abort, run in a child process. Debian 12's GDCM
// 3.0 keeps its assert()s live (a DICOMDIR, an RTDOSE without
// NumberOfFrames, ... end the process with SIGABRT), and no runtime switch
// turns them off; so every DICOM read (folder scan, header, voxels) runs in
// a forked child, and an abort there becomes one medimg::Error for that
// item, naming the file, the signal and the library's last message. The
// child's stderr (GDCM, OpenJPEG chatter) is captured, never shown.
//
// Protocol: 'O' then the caller's payload on one pipe, an error message on
// a second. The child runs only the read: it neither returns to the
// caller nor runs exit handlers (_exit), and a crash ends it with the
// signal's default action (no inherited handler runs there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace medimg::detail {

// The child's end: what it writes reaches the parent's PipeReader.
class PipeWriter {
 public:
  explicit PipeWriter(int fd) : m_fd(fd) {}
  void write(const void* data, std::size_t bytes);
  void write_u64(std::uint64_t value) { write(&value, sizeof(value)); }
  void write_string(const std::string& text);

 private:
  int m_fd;
};

class PipeReader {
 public:
  explicit PipeReader(int fd, std::function<void()> disarm = {},
                      std::function<void(double)> rearm = {})
      : m_fd(fd), m_disarm(std::move(disarm)), m_rearm(std::move(rearm)) {}
  // False when the pipe ended before `bytes` arrived (the child died).
  bool read(void* data, std::size_t bytes);
  // Whether a read found the pipe ended before its bytes arrived.
  bool came_short() const { return m_short; }
  std::uint64_t read_u64();
  std::string read_string();
  // Ends run_isolated's time limit: nothing is left for the child to do
  // that could take long (the last file of the DICOM folder screen).
  void disarm() {
    if (m_disarm) m_disarm();
  }
  // Starts run_isolated's time limit again: for a child that reads one
  // item after another (the DICOM folder screen), the limit is per item.
  void rearm() {
    if (m_rearm) m_rearm(0.0);
  }
  // The time limit is now `seconds` from here: the child is past the
  // header and reads the voxels (load_timeout).
  void extend(double seconds) {
    if (m_rearm) m_rearm(seconds);
  }

 private:
  int m_fd;
  bool m_short = false;
  std::function<void()> m_disarm;
  std::function<void(double)> m_rearm;
};

// Runs `child` in a forked child process (it writes its result with the
// PipeWriter) and `parent` here (it reads that result). Throws medimg::Error
// "cannot read 'PATH': ..." with the child's error message, or, when the
// child died, with the signal and the last line it printed on stderr.
// `what` names the library in that message ("the DICOM library"). With
// `timeout_seconds` > 0 a child still running then is killed and the read
// fails ("did not finish in N s"): a library that loops on a damaged file
// (HDF5 1.10's global heap, found by fuzz/) cannot hang the process. A
// child still there 2 s after both its pipes closed is stopped too (what
// it sent decides whether the read stands).
void run_isolated(const std::string& path, const std::function<void(PipeWriter&)>& child,
                  const std::function<void(PipeReader&)>& parent,
                  const char* what = "the DICOM library", double timeout_seconds = 0.0);

// The time limit of an isolated read until its header is parsed (and of
// each file of the DICOM folder screen): libraries loop without end on some
// damaged headers (HDF5 1.10 on a corrupt global heap, ITK's MetaIO in
// MET_Read; fuzz/ found both). 60 s, or MEDIMG_HEADER_TIMEOUT seconds.
double header_timeout();

// The time limit of the voxels that follow, `bytes` of them: header_timeout()
// plus one second per MiB (a floor of 1 MiB/s: a slow network file system,
// JPEG 2000 slices, a gzip NRRD; a 1 GiB image gets 17 minutes). Bounded, so
// that a child that hangs there (a crash handler waiting on a lock the crash
// held, say) cannot hang the batch.
double load_timeout(std::uint64_t bytes);

// Held while a thread calls into ITK or GDCM outside an isolated child:
// run_isolated forks only when no thread holds one, so the child never
// inherits a lock those libraries hold (an ITK factory mutex taken by a batch
// writer thread saving a PNG preview, say), which would hang it. Free in
// the child itself.
class LibraryCall {
 public:
  LibraryCall();
  ~LibraryCall();
  LibraryCall(const LibraryCall&) = delete;
  LibraryCall& operator=(const LibraryCall&) = delete;

 private:
  bool m_held = false;
};

// True in a child started by run_isolated (no other thread exists there:
// process-wide locks that another thread of the parent held are not taken).
bool in_isolated_child();

}  // namespace medimg::detail
