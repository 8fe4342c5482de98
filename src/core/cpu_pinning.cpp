// Host threads pinned one to a CPU (include/medimg/core/cpu_pinning.hpp).
#include "medimg/core/cpu_pinning.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#ifdef __linux__
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if defined(__linux__) && defined(_OPENMP)
#include <omp.h>
#define MEDIMG_CAN_PIN 1
#else
#define MEDIMG_CAN_PIN 0
#endif

namespace medimg {

#ifdef __linux__

pid_t this_thread_id() {
  return static_cast<pid_t>(::syscall(SYS_gettid));
}

namespace {

// The ids of the process's threads, sorted; empty without /proc.
std::vector<pid_t> thread_ids() {
  std::vector<pid_t> ids;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ids.push_back(static_cast<pid_t>(std::atoi(entry->d_name)));
    }
    ::closedir(dir);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

cpu_set_t only(int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return one;
}

}  // namespace

// Shared by the placer and its helper, which may outlive it: the helper is
// detached (nothing waits for it; it may be left behind a thread spinning on
// its CPU after its last step).
struct ThreadPlacer::State {
  std::vector<pid_t> before;  // sorted
  std::vector<int> targets;
  int expected = 0;
  // The threads placed, in order: each id is stored after its pin is made.
  std::array<std::atomic<pid_t>, CPU_SETSIZE> placed{};
  std::atomic<bool> stop{false};
  std::atomic<bool> over{false};  // the helper moves nothing more

  static void* start(void* arg) {
    const std::unique_ptr<std::shared_ptr<State>> state(static_cast<std::shared_ptr<State>*>(arg));
    (*state)->run();
    (*state)->over = true;
    return nullptr;
  }
  void run() {
    const pid_t self = this_thread_id();
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    int done = 0;
    while (done < expected && !stop.load() && std::chrono::steady_clock::now() < until) {
      for (pid_t id : thread_ids()) {
        if (done == expected || stop.load()) return;
        if (id == self || std::binary_search(before.begin(), before.end(), id)) continue;
        bool seen = false;
        for (int i = 0; i < done && !seen; ++i) seen = placed[static_cast<std::size_t>(i)] == id;
        if (seen) continue;
        const cpu_set_t to = only(targets[static_cast<std::size_t>(done)]);
        if (::sched_setaffinity(id, sizeof to, &to) != 0) return;  // gone, or not ours to move
        placed[static_cast<std::size_t>(done++)] = id;
      }
    }
  }
};

ThreadPlacer::ThreadPlacer(const std::vector<int>& targets, int expected) {
  auto state = std::make_shared<State>();
  state->before = thread_ids();
  state->expected = std::min({expected, static_cast<int>(targets.size()), CPU_SETSIZE});
  state->targets = targets;
  if (state->before.empty() || state->expected < 1) return;
  // The helper starts on the last CPU, which it gives away last.
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return;
  const cpu_set_t last = only(targets[static_cast<std::size_t>(state->expected - 1)]);
  auto* handed = new std::shared_ptr<State>(state);
  pthread_t helper;
  const bool started = pthread_attr_setaffinity_np(&attr, sizeof last, &last) == 0 &&
                       pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
                       pthread_create(&helper, &attr, &State::start, handed) == 0;
  pthread_attr_destroy(&attr);
  if (!started) {
    delete handed;
    return;
  }
  m_state = std::move(state);
}

ThreadPlacer::~ThreadPlacer() {
  if (m_state) m_state->stop = true;
}

bool ThreadPlacer::existed(pid_t id) const {
  return !m_state || std::binary_search(m_state->before.begin(), m_state->before.end(), id);
}

std::vector<pid_t> ThreadPlacer::placed() const {
  std::vector<pid_t> ids;
  if (!m_state) return ids;
  for (const auto& placed : m_state->placed) {
    const pid_t id = placed.load();
    if (id == 0) break;
    ids.push_back(id);
  }
  return ids;
}

int ThreadPlacer::wait_placed(pid_t id) const {
  if (!m_state) return -1;
  for (;;) {
    const bool over = m_state->over.load();  // read first: a pin made before it is seen below
    for (std::size_t i = 0; i < m_state->placed.size(); ++i) {
      const pid_t placed = m_state->placed[i].load();
      if (placed == 0) break;
      if (placed == id) return m_state->targets[i];
    }
    if (over) return -1;
    sched_yield();
  }
}

#else

pid_t this_thread_id() {
  return 0;
}
struct ThreadPlacer::State {};
ThreadPlacer::ThreadPlacer(const std::vector<int>&, int) {}
ThreadPlacer::~ThreadPlacer() = default;
bool ThreadPlacer::existed(pid_t) const {
  return true;
}
std::vector<pid_t> ThreadPlacer::placed() const {
  return {};
}
int ThreadPlacer::wait_placed(pid_t) const {
  return -1;
}

#endif

#if MEDIMG_CAN_PIN

namespace {

std::atomic<bool> g_pinned{false};
// Set while nothing is pinned, read while pinned.
cpu_set_t g_process_cpus;  // the process's mask before pinning
std::vector<int> g_team_cpus;

bool set_this_thread(const cpu_set_t& cpus) {
  return pthread_setaffinity_np(pthread_self(), sizeof(cpu_set_t), &cpus) == 0;
}

}  // namespace

bool pin_host_threads(int threads) {
  if (g_pinned.load()) return true;
  const char* flag = std::getenv("MEDIMG_PIN_THREADS");
  if (flag && std::strcmp(flag, "0") == 0) return false;
  if (omp_in_parallel()) return false;
  cpu_set_t process;
  CPU_ZERO(&process);
  if (sched_getaffinity(0, sizeof process, &process) != 0) return false;
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &process)) cpus.push_back(c);
  }
  const int team = threads > 0 ? threads : omp_get_max_threads();
  if (team < 2 || team != static_cast<int>(cpus.size())) return false;
  // Thread t on cpus[t]. The calling thread first; a fresh pool's threads
  // start in the region below, each moved to its CPU as soon as it exists
  // by a ThreadPlacer (the header says why), in the order libgomp starts
  // them; one that was there before pins itself.
  if (!set_this_thread(only(cpus[0]))) return false;
  std::vector<int> on(static_cast<std::size_t>(team), -1);  // each thread's one CPU
  std::vector<pid_t> ids(static_cast<std::size_t>(team), 0);
  std::atomic<int> arrived{0}, size{0};
  std::vector<pid_t> placed;
  {
    const ThreadPlacer placer(std::vector<int>(cpus.begin() + 1, cpus.end()), team - 1);
#pragma omp parallel num_threads(team)
    {
      const int t = omp_get_thread_num();
      const auto slot = static_cast<std::size_t>(t);
      const pid_t id = this_thread_id();
      if (t < team) ids[slot] = id;
      if (t == 0) {
        size = omp_get_num_threads();
        on[0] = cpus[0];
      } else if (t < team) {
        const int cpu = placer.existed(id) ? -1 : placer.wait_placed(id);
        if (cpu >= 0) {
          on[slot] = cpu;
        } else if (set_this_thread(only(cpus[slot]))) {
          on[slot] = cpus[slot];
        }
      }
      ++arrived;
      // The first thread leaves only once every thread has run: yielding
      // hands its CPU to a thread still waiting there, which the region's
      // end barrier (a spin) would not.
      if (t == 0) {
        while (arrived.load() < omp_get_num_threads()) sched_yield();
      }
    }
    placed = placer.placed();
  }
  // A thread the helper found that is not libgomp's (another library's,
  // started meanwhile) goes back on every CPU.
  for (pid_t id : placed) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
      ::sched_setaffinity(id, sizeof process, &process);
    }
  }
  std::vector<int> distinct = on;
  std::sort(distinct.begin(), distinct.end());
  if (size.load() != team || distinct.front() < 0 ||
      std::adjacent_find(distinct.begin(), distinct.end()) != distinct.end()) {
    // A team smaller than asked for, a pin refused, or two threads on one
    // CPU: every thread back.
#pragma omp parallel num_threads(team)
    static_cast<void>(set_this_thread(process));
    return false;
  }
  g_process_cpus = process;
  g_team_cpus = on;
  g_pinned = true;
  return true;
}

std::vector<int> host_thread_cpus() {
  return g_pinned.load() ? g_team_cpus : std::vector<int>{};
}

void unpin_host_threads() {
  if (!g_pinned.load() || omp_in_parallel()) return;
  const int team = static_cast<int>(g_team_cpus.size());
#pragma omp parallel num_threads(team)
  static_cast<void>(set_this_thread(g_process_cpus));
  g_pinned = false;
}

void unpin_this_thread() {
  if (g_pinned.load()) set_this_thread(g_process_cpus);
}

AllCpus::AllCpus() {
  if (!g_pinned.load()) return;
  cpu_set_t mine;
  CPU_ZERO(&mine);
  if (pthread_getaffinity_np(pthread_self(), sizeof mine, &mine) != 0 || CPU_COUNT(&mine) != 1) {
    return;
  }
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &mine)) m_cpu = c;
  }
  if (!set_this_thread(g_process_cpus)) m_cpu = -1;
}

AllCpus::~AllCpus() {
  if (m_cpu >= 0) set_this_thread(only(m_cpu));
}

#else

bool pin_host_threads(int) {
  return false;
}
std::vector<int> host_thread_cpus() {
  return {};
}
void unpin_host_threads() {}
void unpin_this_thread() {}
AllCpus::AllCpus() = default;
// m_cpu is never set here (nothing is pinned); read, for clang's
// -Wunused-private-field.
AllCpus::~AllCpus() {
  static_cast<void>(m_cpu);
}

#endif

}  // namespace medimg
