// Host threads pinned one to a CPU when the OpenMP team fills the CPUs the
// process may use (the command-line tool only; docs/PERFORMANCE.md, "Start-up").
//
// Why: at the end of a parallel region libgomp's threads spin before they
// sleep (300,000 pauses by default: 5-10 ms on this project's VM), and the
// kernel may wake a region's second thread on the CPU where the first one
// spins. That thread then waits for the spin to end or for a scheduler tick:
// a parallel region of nothing took 5-12 ms in most fresh processes on the
// 2-core VM (0.13-0.28 ms with OMP_PROC_BIND=true), and Kokkos' start in
// `medimg info` of a 15 MB .nii.gz took 0.6-29 ms (0.7-5 ms pinned, under
// 1.3 ms in 21 of 24 runs). With each thread on its own CPU the second
// thread never waits behind the first.
//
// When: pin_host_threads pins only a team of two or more threads that has
// exactly as many threads as the process's affinity mask has CPUs (its
// cpuset under a batch system, taskset's, or the machine's), and only when
// MEDIMG_PIN_THREADS is not 0. A smaller team (several processes sharing a
// node, each with some threads) stays unpinned: pinning would put them all
// on the same first CPUs. The CLI also leaves the threads alone when the user
// set OMP_PROC_BIND or OMP_PLACES (their binding rules then).
//
// Starting the team: libgomp's first region starts its threads and then
// makes the calling thread wait, spinning, until each has run. The kernel
// put a new thread on the calling thread's CPU in about half the fresh
// processes here, where it waited for that spin to be preempted (a 4 ms
// tick): the pinning region took 0.1-9 ms (medians 2.0-3.2 ms in five
// batches of 20-40 runs).
// pin_host_threads therefore pins the calling thread first, so that the
// threads libgomp starts begin on its CPU, and has a ThreadPlacer move each
// to its own CPU as soon as it exists: 0.31-0.54 ms in 60 of 60 runs
// (docs/PERFORMANCE.md, "Threads pinned to CPUs").
//
// Threads and processes inherit the CPU of the thread that starts them. Code
// that starts one that works (a batch reader, a gzip worker, the helpers
// that fault pages in, a forked reader) holds an AllCpus while it does, and
// a forked child calls unpin_this_thread(): they may then run on every CPU
// of the process, as without pinning.
#pragma once

#include <sys/types.h>

#include <memory>
#include <vector>

namespace medimg {

// Call before Kokkos starts (ScopeGuard does, when RuntimeOptions asks):
// the OpenMP team of `threads` (<= 0: omp_get_max_threads()) is started and
// each of its threads pinned to its own CPU of the process's mask (thread t
// to the t-th as libgomp starts them in order; host_thread_cpus says which).
// True when pinned; false (every thread back on the process's CPUs)
// otherwise, and always without OpenMP or off Linux.
bool pin_host_threads(int threads);

// The CPU of each thread of the team, in order, once pin_host_threads has
// pinned it; empty otherwise (`medimg --backend` prints them).
std::vector<int> host_thread_cpus();

// Every thread of the team back on the process's CPUs (tests).
void unpin_host_threads();

// The calling thread may run on every CPU the process could use before
// pinning (no effect when nothing is pinned): for a forked child.
void unpin_this_thread();

// While alive, the calling thread may run on every CPU of the process, so
// that threads it starts may too; its own pin comes back at the end.
class AllCpus {
 public:
  AllCpus();
  ~AllCpus();
  AllCpus(const AllCpus&) = delete;
  AllCpus& operator=(const AllCpus&) = delete;

 private:
  int m_cpu = -1;  // the calling thread's one CPU, when it had one
};

// While it runs, the threads the process starts (up to `expected`, and as
// many as `targets` holds) are pinned as soon as they exist, the k-th found
// (by thread id: the order a pool starts them) to targets[k], by a helper
// thread that polls /proc/self/task from the last of those CPUs. Threads
// that existed before are left alone. The helper stops when it has placed
// them, when the placer ends, or after 100 ms. Inactive (nothing moved) off
// Linux, without /proc, or when the helper cannot start.
class ThreadPlacer {
 public:
  ThreadPlacer(const std::vector<int>& targets, int expected);
  ~ThreadPlacer();
  ThreadPlacer(const ThreadPlacer&) = delete;
  ThreadPlacer& operator=(const ThreadPlacer&) = delete;
  bool active() const { return m_state != nullptr; }
  // True when the thread `id` existed before the placer (or it is inactive).
  bool existed(pid_t id) const;
  // Waits (yielding) until the helper has pinned thread `id`: its CPU; -1
  // once the helper has stopped without it.
  int wait_placed(pid_t id) const;
  // The threads pinned so far, in order.
  std::vector<pid_t> placed() const;

  struct State;

 private:
  std::shared_ptr<State> m_state;
};

// The calling thread's id (gettid); 0 off Linux.
pid_t this_thread_id();

}  // namespace medimg
