// Child-process isolation of reads a library can abort
// (include/medimg/io/detail/isolated.hpp).
#include "medimg/io/detail/isolated.hpp"
#include "medimg/core/cpu_pinning.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "medimg/core/error.hpp"

namespace medimg::detail {

namespace {

bool child_flag = false;

std::shared_mutex& library_activity() {
  static std::shared_mutex m;
  return m;
}

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw Error("cannot read '" + path + "': " + why);
}

// The last non-empty line of the file at `fd` (the child's stderr), at most
// 300 characters, newlines removed.
std::string last_line(int fd) {
  std::string text;
  char buffer[4096];
  lseek(fd, 0, SEEK_SET);
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got <= 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.size() > (1 << 20)) text.erase(0, text.size() - 4096);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const auto start = text.find_last_of('\n');
  std::string line = start == std::string::npos ? text : text.substr(start + 1);
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return line;
}

}  // namespace

void PipeWriter::write(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t put = ::write(m_fd, p, bytes);
    if (put < 0) {
      if (errno == EINTR) continue;
      _exit(3);  // the parent went away: nothing to tell
    }
    p += put;
    bytes -= static_cast<std::size_t>(put);
  }
}

void PipeWriter::write_string(const std::string& text) {
  write_u64(text.size());
  write(text.data(), text.size());
}

bool PipeReader::read(void* data, std::size_t bytes) {
  auto* p = static_cast<char*>(data);
  while (bytes > 0) {
    const ssize_t got = ::read(m_fd, p, bytes);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      m_short = true;
      return false;
    }
    p += got;
    bytes -= static_cast<std::size_t>(got);
  }
  return true;
}

struct ChildDied {};

std::uint64_t PipeReader::read_u64() {
  std::uint64_t value = 0;
  if (!read(&value, sizeof(value))) throw ChildDied{};
  return value;
}

std::string PipeReader::read_string() {
  const std::uint64_t length = read_u64();
  if (length > (std::uint64_t(1) << 30)) throw ChildDied{};
  std::string text(static_cast<std::size_t>(length), '\0');
  if (!read(text.data(), text.size())) throw ChildDied{};
  return text;
}

bool in_isolated_child() {
  return child_flag;
}

LibraryCall::LibraryCall() {
  if (child_flag) return;
  library_activity().lock_shared();
  m_held = true;
}

LibraryCall::~LibraryCall() {
  if (m_held) library_activity().unlock_shared();
}

double header_timeout() {
  const char* text = std::getenv("MEDIMG_HEADER_TIMEOUT");
  char* end = nullptr;
  const double seconds = text ? std::strtod(text, &end) : 0.0;
  return text && end != text && seconds > 0.0 ? seconds : 60.0;
}

double load_timeout(std::uint64_t bytes) {
  return header_timeout() + static_cast<double>(bytes) / double(1 << 20);
}

void run_isolated(const std::string& path, const std::function<void(PipeWriter&)>& child,
                  const std::function<void(PipeReader&)>& parent, const char* what,
                  double timeout_seconds) {
  int pipe_fds[2], error_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) fail(path, std::string("pipe: ") + std::strerror(errno));
  if (pipe2(error_fds, O_CLOEXEC) != 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    fail(path, std::string("pipe: ") + std::strerror(errno));
  }
  std::FILE* errors = std::tmpfile();
  const int errors_fd = errors ? fileno(errors) : -1;
  std::fflush(nullptr);
  // No thread is inside ITK or GDCM while this one forks (LibraryCall).
  std::unique_lock<std::shared_mutex> quiet(library_activity());
  const pid_t pid = fork();
  if (pid != 0) quiet.unlock();
  if (pid < 0) {
    for (int fd : {pipe_fds[0], pipe_fds[1], error_fds[0], error_fds[1]}) close(fd);
    if (errors) std::fclose(errors);
    fail(path, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    child_flag = true;
    unpin_this_thread();  // the child may run on any CPU (pinned threads)
    close(pipe_fds[0]);
    close(error_fds[0]);
    if (errors_fd >= 0) {
      dup2(errors_fd, STDERR_FILENO);
      dup2(errors_fd, STDOUT_FILENO);
    }
    signal(SIGPIPE, SIG_DFL);
    // A crash in the library ends the child at once (the parent names the
    // signal): no handler of this process runs there. One inherited from
    // libFuzzer (or a Python fault handler) that allocates can wait for
    // ever on the malloc lock the crash left held: a fuzz run's child hung
    // that way after MetaIO corrupted the heap, and its parent with it.
    for (const int s : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) {
      signal(s, SIG_DFL);
    }
    PipeWriter out(pipe_fds[1]);
    try {
      const char ok = 'O';
      // The status byte comes first so that a payload and an error are
      // never mixed: the child buffers nothing, the parent reads as it goes.
      out.write(&ok, 1);
      child(out);
      std::fflush(nullptr);
      _exit(0);
    } catch (const std::exception& e) {
      // The message goes on its own pipe (at most 4000 bytes: it fits the
      // pipe's buffer, so the child never waits for the parent here).
      close(pipe_fds[1]);
      PipeWriter error(error_fds[1]);
      error.write(e.what(), std::min<std::size_t>(std::strlen(e.what()), 4000));
      _exit(1);
    } catch (...) {
      _exit(2);
    }
  }
  close(pipe_fds[1]);
  close(error_fds[1]);
  // The watchdog kills a child that runs past the timeout; it is joined
  // before the child is reaped, so it never signals a reused pid.
  // PipeReader::rearm and extend move the deadline (the watchdog sees it
  // when it wakes at the old one).
  std::mutex watch_mutex;
  std::condition_variable watch_done;
  bool finished = false, timed_out = false;
  using Clock = std::chrono::steady_clock;
  const auto limit =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_seconds));
  Clock::time_point deadline = Clock::now() + limit;
  double limit_seconds = timeout_seconds;  // the limit now (for the message)
  std::thread watchdog;
  if (timeout_seconds > 0.0) {
    watchdog = std::thread([&] {
      std::unique_lock<std::mutex> lock(watch_mutex);
      while (!finished) {
        watch_done.wait_until(lock, deadline);
        if (!finished && Clock::now() >= deadline) {
          timed_out = true;
          kill(pid, SIGKILL);
          break;
        }
      }
    });
  }
  const auto rearm = [&](double seconds) {
    if (!watchdog.joinable()) return;
    const std::lock_guard<std::mutex> lock(watch_mutex);
    // At most about three years (a duration in nanoseconds stays finite).
    limit_seconds = seconds > 0.0 ? std::min(seconds, 1e8) : timeout_seconds;
    deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(limit_seconds));
  };
  const auto stop_watchdog = [&] {
    if (!watchdog.joinable()) return;
    {
      const std::lock_guard<std::mutex> lock(watch_mutex);
      finished = true;
    }
    watch_done.notify_all();
    watchdog.join();
  };
  PipeReader in(pipe_fds[0], stop_watchdog, rearm);
  std::string failure;
  bool died = false;
  try {
    char status = 0;
    if (!in.read(&status, 1) || status != 'O') throw ChildDied{};
    parent(in);
  } catch (const ChildDied&) {
    died = true;
  } catch (const std::exception& e) {
    failure = e.what();
  }
  // After a failed read the child may still be writing: drain the pipe so
  // it can finish, then take its error message, if any.
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(pipe_fds[0], buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
  }
  close(pipe_fds[0]);
  std::string child_error;
  for (;;) {
    const ssize_t got = ::read(error_fds[0], buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    child_error.append(buffer, static_cast<std::size_t>(got));
  }
  close(error_fds[0]);
  stop_watchdog();
  // Both pipes are closed: the child has nothing more to send and is
  // ending. One still there after 2 s is stopped, so that the parent never
  // waits on it without end (the long fuzz runs: twice a fuzzing process
  // waited here 69-123 s for a child whose pipes had closed, neither
  // reproduced by its input). A pidfd tells when it ends (Linux 5.3;
  // without one, the wait is as before); one that does not end even after
  // SIGKILL is reaped by a thread of its own.
  int wait_status = 0;
  bool lingered = false, reap_later = false;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    const auto ends_within = [pidfd](int milliseconds) {
      pollfd ended{pidfd, POLLIN, 0};
      int ready = 0;
      while ((ready = ::poll(&ended, 1, milliseconds)) < 0 && errno == EINTR) {
      }
      return ready != 0;
    };
    if (!ends_within(2000)) {
      lingered = true;
      kill(pid, SIGKILL);
      // A child already in the kernel's exit does not end sooner for it.
      reap_later = !ends_within(500);
    }
    close(pidfd);
  }
  if (reap_later) {
    std::thread([pid] {
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }).detach();
  } else {
    while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
    }
  }
  const std::string said = errors_fd >= 0 ? last_line(errors_fd) : std::string();
  if (errors) std::fclose(errors);
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 1 && !child_error.empty()) {
    throw Error(child_error);
  }
  // A child stopped after it sent all the parent read (its last record
  // arrived as the limit passed) has done its part.
  const bool complete = !died && failure.empty() && !in.came_short();
  if (lingered) {
    // Stopped here, not by the library: what it sent decides.
    if (!complete) fail(path, "the reading process did not end after its last message");
    if (!failure.empty()) throw Error(failure);
    return;
  }
  if (timed_out && !complete) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%g", limit_seconds);
    fail(path, std::string(what) + " did not finish reading it in " + seconds +
                   " s (a damaged file?) and was stopped");
  }
  if (WIFSIGNALED(wait_status) && !(timed_out && complete)) {
    const int sig = WTERMSIG(wait_status);
    fail(path, std::string(what) + " aborted while reading it (signal " + std::to_string(sig) +
                   ", " + strsignal(sig) + ")" + (said.empty() ? std::string() : ": " + said));
  }
  if (!(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0)) {
    fail(path, "the reading process failed" + (said.empty() ? std::string() : ": " + said));
  }
  if (died) fail(path, "the reading process ended early");
  if (!failure.empty()) throw Error(failure);
}

}  // namespace medimg::detail
