// Host threads pinned one to a CPU when they fill the process's CPUs
// (medimg/core/cpu_pinning.hpp), and what they start left free.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Kokkos_Core.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "medimg/core/cpu_pinning.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__linux__) && defined(KOKKOS_ENABLE_OPENMP)

namespace {

std::vector<int> cpus_of(const cpu_set_t& set) {
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

// The CPUs the calling thread may run on.
std::vector<int> my_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  pthread_getaffinity_np(pthread_self(), sizeof set, &set);
  return cpus_of(set);
}

cpu_set_t set_of(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  return set;
}

// The calling thread's CPUs for the test's length, then back.
class Restricted {
 public:
  explicit Restricted(const std::vector<int>& cpus) : m_before(set_of(my_cpus())) {
    const cpu_set_t set = set_of(cpus);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  ~Restricted() {
    medimg::unpin_host_threads();
    pthread_setaffinity_np(pthread_self(), sizeof m_before, &m_before);
  }

 private:
  cpu_set_t m_before;
};

int host_team() {
  return Kokkos::DefaultHostExecutionSpace().concurrency();
}

}  // namespace

TEST(CpuPinning, ATeamThatFillsTheCpusIsPinnedAndWhatItStartsIsNot) {
  const int team = host_team();
  const std::vector<int> all = my_cpus();
  if (team < 2 || static_cast<int>(all.size()) < team) {
    // One CPU or one thread: nothing to pin.
    EXPECT_FALSE(medimg::pin_host_threads(team));
    EXPECT_TRUE(medimg::host_thread_cpus().empty());
    return;
  }
  // A process whose mask holds exactly `team` CPUs (taskset, a cpuset).
  const std::vector<int> cpus(all.begin(), all.begin() + team);
  const Restricted restricted(cpus);
  ASSERT_TRUE(medimg::pin_host_threads(team));
  EXPECT_EQ(medimg::host_thread_cpus(), cpus);
  EXPECT_TRUE(medimg::pin_host_threads(team));  // once is enough

  // Every thread of the team on its own CPU, in order.
  std::vector<std::vector<int>> seen(static_cast<std::size_t>(team));
#pragma omp parallel num_threads(team)
  seen[static_cast<std::size_t>(omp_get_thread_num())] = my_cpus();
  for (int t = 0; t < team; ++t) {
    EXPECT_EQ(seen[static_cast<std::size_t>(t)],
              std::vector<int>{cpus[static_cast<std::size_t>(t)]})
        << "thread " << t;
  }
  // Kokkos' own regions run on the same pinned threads.
  Kokkos::View<int*, Kokkos::HostSpace> where("where", 4 * team);
  Kokkos::parallel_for(Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>(0, 4 * team),
                       [=](int i) { where(i) = my_cpus().size() == 1 ? 1 : 0; });
  Kokkos::fence();
  for (int i = 0; i < 4 * team; ++i) EXPECT_EQ(where(i), 1) << i;

  // A thread started plainly inherits the starting thread's one CPU; one
  // started under AllCpus may run on all of the process's, and the
  // starting thread's pin comes back afterwards.
  std::vector<int> plain, wide;
  std::thread([&] { plain = my_cpus(); }).join();
  EXPECT_EQ(plain, std::vector<int>{cpus[0]});
  {
    const medimg::AllCpus all_cpus;
    EXPECT_EQ(my_cpus(), cpus);
    std::thread([&] { wide = my_cpus(); }).join();
  }
  EXPECT_EQ(wide, cpus);
  EXPECT_EQ(my_cpus(), std::vector<int>{cpus[0]});

  // A forked child that unpins itself may run on all of them too.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    medimg::unpin_this_thread();
    _exit(my_cpus() == cpus ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  // Unpinned: every thread back on the process's CPUs.
  medimg::unpin_host_threads();
  EXPECT_TRUE(medimg::host_thread_cpus().empty());
  EXPECT_EQ(my_cpus(), cpus);
#pragma omp parallel num_threads(team)
  seen[static_cast<std::size_t>(omp_get_thread_num())] = my_cpus();
  for (int t = 0; t < team; ++t) EXPECT_EQ(seen[static_cast<std::size_t>(t)], cpus) << t;
}

TEST(CpuPinning, ATeamSmallerThanTheCpusOrTheSwitchLeavesThreadsAlone) {
  const int team = host_team();
  const std::vector<int> all = my_cpus();
  // More CPUs than threads (several processes share a node): not pinned.
  std::vector<int> more = all;
  if (static_cast<int>(more.size()) <= team) more.clear();
  if (!more.empty()) {
    const Restricted restricted(more);
    EXPECT_FALSE(medimg::pin_host_threads(team));
    EXPECT_EQ(my_cpus(), more);
  }
  // Fewer CPUs than threads: not pinned either.
  {
    const Restricted restricted({all[0]});
    EXPECT_FALSE(medimg::pin_host_threads(team));
    EXPECT_EQ(my_cpus(), std::vector<int>{all[0]});
  }
  // MEDIMG_PIN_THREADS=0, with a mask the team fills.
  if (team >= 2 && static_cast<int>(all.size()) >= team) {
    const Restricted restricted(std::vector<int>(all.begin(), all.begin() + team));
    setenv("MEDIMG_PIN_THREADS", "0", 1);
    EXPECT_FALSE(medimg::pin_host_threads(team));
    unsetenv("MEDIMG_PIN_THREADS");
    EXPECT_TRUE(medimg::host_thread_cpus().empty());
    EXPECT_EQ(my_cpus().size(), static_cast<std::size_t>(team));
  }
  // Nothing pinned: AllCpus changes nothing.
  const std::vector<int> before = my_cpus();
  {
    const medimg::AllCpus all_cpus;
    EXPECT_EQ(my_cpus(), before);
  }
  EXPECT_EQ(my_cpus(), before);
}

#endif

#ifdef __linux__

namespace {

std::vector<int> cpus_now() {
  cpu_set_t set;
  CPU_ZERO(&set);
  pthread_getaffinity_np(pthread_self(), sizeof set, &set);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

void pin_to(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

}  // namespace

// What pin_host_threads relies on when libgomp starts its team: a thread
// started on the starting thread's one CPU is moved at once to the placer's
// CPU, and one that was there before is not touched.
TEST(CpuPinning, AThreadStartedWhileAPlacerRunsIsMovedToItsCpu) {
  const std::vector<int> all = cpus_now();
  if (all.size() < 2) GTEST_SKIP() << "one CPU: no other CPU to place a thread on";
  pin_to({all[0]});
  {
    const medimg::ThreadPlacer placer({all[1]}, 1);
    ASSERT_TRUE(placer.active());
    EXPECT_TRUE(placer.existed(medimg::this_thread_id()));
    int placed = -2;
    std::vector<int> seen;
    std::thread started([&] {
      EXPECT_FALSE(placer.existed(medimg::this_thread_id()));
      placed = placer.wait_placed(medimg::this_thread_id());
      seen = cpus_now();
    });
    const pid_t started_id = [&] {
      started.join();
      return placer.placed().empty() ? 0 : placer.placed().front();
    }();
    EXPECT_NE(started_id, 0);
    EXPECT_EQ(placer.placed().size(), 1u);
    EXPECT_EQ(placed, all[1]);
    EXPECT_EQ(seen, std::vector<int>{all[1]});
    EXPECT_EQ(cpus_now(), std::vector<int>{all[0]});  // the starting thread stays
  }
  // A helper that finds nothing to place gives up (after 100 ms): a thread
  // it never saw is reported as not placed.
  {
    const medimg::ThreadPlacer placer({all[1]}, 1);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(placer.wait_placed(-1), -1);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  }
  // Nothing to place: inactive, and no thread is touched.
  const medimg::ThreadPlacer idle({all[1]}, 0);
  EXPECT_FALSE(idle.active());
  std::vector<int> plain;
  std::thread([&] { plain = cpus_now(); }).join();
  EXPECT_EQ(plain, std::vector<int>{all[0]});
  pin_to(all);
}

#endif
