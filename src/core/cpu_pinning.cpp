// Host threads pinned one to a CPU (include/medimg/core/cpu_pinning.hpp).
#include "medimg/core/cpu_pinning.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__linux__) && defined(_OPENMP)
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#define MEDIMG_CAN_PIN 1
#else
#define MEDIMG_CAN_PIN 0
#endif

namespace medimg {

#if MEDIMG_CAN_PIN

namespace {

std::atomic<bool> g_pinned{false};
// Set while nothing is pinned, read while pinned.
cpu_set_t g_process_cpus;  // the process's mask before pinning
std::vector<int> g_team_cpus;

bool set_this_thread(const cpu_set_t& cpus) {
  return pthread_setaffinity_np(pthread_self(), sizeof(cpu_set_t), &cpus) == 0;
}

cpu_set_t only(int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return one;
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
  std::atomic<int> arrived{0}, pinned{0}, size{0};
#pragma omp parallel num_threads(team)
  {
    const int t = omp_get_thread_num();
    if (t == 0) size = omp_get_num_threads();
    if (set_this_thread(only(cpus[static_cast<std::size_t>(t)]))) ++pinned;
    ++arrived;
    // The first thread leaves only once every thread has run: yielding hands
    // its CPU to a thread still waiting there, which the region's end
    // barrier (a spin) would not.
    if (t == 0) {
      while (arrived.load() < omp_get_num_threads()) sched_yield();
    }
  }
  if (pinned.load() != team || size.load() != team) {
    // A team smaller than asked for, or a pin refused: every thread back.
#pragma omp parallel num_threads(team)
    static_cast<void>(set_this_thread(process));
    return false;
  }
  g_process_cpus = process;
  g_team_cpus = cpus;
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
