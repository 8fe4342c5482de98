// Shared main for medimg's benchmarks: runs Google Benchmark with the same
// thread count for ITK and Kokkos, then prints, for every benchmark pair
// "itk/<case>" and "medimg/<case>", the ratio of ITK's time to medimg's
// (> 1: medimg is faster), measured in this one run on the same input.
#pragma once

#include <benchmark/benchmark.h>
#include <itkMultiThreaderBase.h>
#include <Kokkos_Core.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "medimg/core/scope_guard.hpp"

namespace medimg::bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal, so logs stay readable.
  RatioReporter() : ConsoleReporter(isatty(fileno(stdout)) ? OO_Defaults : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration && run.iterations > 0) {
        std::string name = run.benchmark_name();
        const std::string suffix = "/real_time";
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
          name.resize(name.size() - suffix.size());
        }
        seconds[name] = run.GetAdjustedRealTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> seconds;
};

// `register_all` is called once Kokkos is up: it makes the inputs, registers
// the benchmarks (benchmark::RegisterBenchmark) and returns what owns the
// inputs, which is released before Kokkos finalises.
inline int run_benchmarks(int argc, char** argv,
                          const std::function<std::shared_ptr<void>()>& register_all) {
  setenv("OMP_PROC_BIND", "false", 0);
  ScopeGuard guard(argc, argv);
  const int threads = Kokkos::DefaultHostExecutionSpace().concurrency();
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(threads);
  benchmark::Initialize(&argc, argv);
  std::shared_ptr<void> inputs = register_all();
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf(
      "\nITK time / medimg time (same input, %d threads each; > 1 means medimg is faster)\n",
      threads);
  for (const auto& [name, itk_time] : reporter.seconds) {
    if (name.rfind("itk/", 0) != 0) continue;
    const std::string case_name = name.substr(4);
    const auto ours = reporter.seconds.find("medimg/" + case_name);
    if (ours == reporter.seconds.end() || ours->second <= 0.0) continue;
    std::printf("  %-48s %8.2fx\n", case_name.c_str(), itk_time / ours->second);
  }
  std::fflush(stdout);
  benchmark::Shutdown();
  return 0;
}

}  // namespace medimg::bench
