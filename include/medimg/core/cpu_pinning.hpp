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
// Threads and processes inherit the CPU of the thread that starts them. Code
// that starts one that works (a batch reader, a gzip worker, the helpers
// that fault pages in, a forked reader) holds an AllCpus while it does, and
// a forked child calls unpin_this_thread(): they may then run on every CPU
// of the process, as without pinning.
#pragma once

#include <vector>

namespace medimg {

// Call before Kokkos starts (ScopeGuard does, when RuntimeOptions asks):
// the OpenMP team of `threads` (<= 0: omp_get_max_threads()) is started and
// each of its threads pinned to one CPU of the process's mask, in order.
// True when pinned; false (and nothing changed) otherwise, and always
// without OpenMP or off Linux.
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

}  // namespace medimg
