// The ranks of a batch (src/pipeline/batch.cpp): who they are, the work
// counter they share, and what they agree on. One process without MPI (or
// not under a launcher) is a team of one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "medimg/config.hpp"
#if MEDIMG_HAS_MPI
#include <mpi.h>

#include "medimg/dist/distributed_image.hpp"
#endif

namespace medimg::batch_detail {

// The items are handed out by a counter on rank 0 (MPI one-sided: a rank
// that finishes early takes the next item).
// Slots of the shared counter: next item, items finished, items failed.
class WorkCounter {
 public:
#if MEDIMG_HAS_MPI
  explicit WorkCounter(MPI_Comm comm) {
    if (comm == MPI_COMM_NULL) return;  // one process without MPI
    MPI_Comm_rank(comm, &m_rank);
    MPI_Comm_size(comm, &m_ranks);
    if (m_ranks > 1) {
      const MPI_Aint bytes = m_rank == 0 ? 3 * static_cast<MPI_Aint>(sizeof(std::int64_t)) : 0;
      MPI_Win_allocate(bytes, sizeof(std::int64_t), MPI_INFO_NULL, comm, &m_base, &m_window);
      if (m_rank == 0) std::fill(m_base, m_base + 3, std::int64_t{0});
      MPI_Barrier(comm);
    }
  }
  ~WorkCounter() {
    if (m_ranks > 1) MPI_Win_free(&m_window);
  }
#else
  WorkCounter() = default;
#endif
  WorkCounter(const WorkCounter&) = delete;
  WorkCounter& operator=(const WorkCounter&) = delete;

  std::int64_t claim() {
    return add(0, 1);
  }
  void finished(bool failed) {
    add(1, 1);
    if (failed) add(2, 1);
  }
  // (finished, failed) over every rank.
  std::pair<std::int64_t, std::int64_t> totals() {
    return {add(1, 0), add(2, 0)};
  }

 private:
  std::int64_t add(int slot, std::int64_t value) {
#if MEDIMG_HAS_MPI
    if (m_ranks > 1) {
      std::int64_t before = 0;
      MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, m_window);
      MPI_Fetch_and_op(&value, &before, MPI_INT64_T, 0, slot, value == 0 ? MPI_NO_OP : MPI_SUM,
                       m_window);
      MPI_Win_unlock(0, m_window);
      return before;
    }
#endif
    const std::int64_t before = m_local[slot];
    m_local[slot] += value;
    return before;
  }

#if MEDIMG_HAS_MPI
  int m_rank = 0, m_ranks = 1;
  std::int64_t* m_base = nullptr;
  MPI_Win m_window = MPI_WIN_NULL;
#endif
  std::int64_t m_local[3] = {0, 0, 0};
};

// The ranks, and the collective steps of a batch.
struct Team {
  int rank = 0, ranks = 1, node_ranks = 1;
#if MEDIMG_HAS_MPI
  MPI_Comm comm = impl::world_comm();  // MPI_COMM_NULL: one process without MPI
#endif
  Team() {
#if MEDIMG_HAS_MPI
    if (comm == MPI_COMM_NULL) return;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &ranks);
    MPI_Comm node;
    MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &node_ranks);
    MPI_Comm_free(&node);
#endif
  }
  // Runs f on every rank; if it throws on any, every rank throws that error.
  template <class F>
  void together(F&& f) const {
#if MEDIMG_HAS_MPI
    impl::collectively(comm, std::forward<F>(f));
#else
    f();
#endif
  }
  std::uint64_t sum(std::uint64_t v) const {
    return reduce(v, true);
  }
  std::uint64_t max(std::uint64_t v) const {
    return reduce(v, false);
  }
  // Every rank's `v` summed (or their largest), on every rank.
  std::uint64_t reduce(std::uint64_t v, bool add) const {
#if MEDIMG_HAS_MPI
    if (comm == MPI_COMM_NULL) return v;
    std::uint64_t out = 0;
    MPI_Allreduce(&v, &out, 1, MPI_UINT64_T, add ? MPI_SUM : MPI_MAX, comm);
    return out;
#else
    (void)add;
    return v;
#endif
  }
  // Rank 0's counts on every rank.
  void broadcast(std::int64_t* values, int count) const {
#if MEDIMG_HAS_MPI
    if (comm != MPI_COMM_NULL) MPI_Bcast(values, count, MPI_INT64_T, 0, comm);
#else
    (void)values;
    (void)count;
#endif
  }
  void barrier() const {
#if MEDIMG_HAS_MPI
    if (comm != MPI_COMM_NULL) MPI_Barrier(comm);
#endif
  }
  // Every rank's rows, on rank 0.
  nlohmann::json gather(const nlohmann::json& rows) const {
#if MEDIMG_HAS_MPI
    if (comm == MPI_COMM_NULL) return rows;
    const std::string text = rows.dump();
    int length = static_cast<int>(text.size());
    std::vector<int> lengths(static_cast<std::size_t>(ranks)), offsets(lengths.size());
    MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm);
    std::string all;
    if (rank == 0) {
      int at = 0;
      for (std::size_t r = 0; r < lengths.size(); ++r) {
        offsets[r] = at;
        at += lengths[r];
      }
      all.resize(static_cast<std::size_t>(at));
    }
    MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                0, comm);
    nlohmann::json merged = nlohmann::json::array();
    if (rank == 0) {
      for (std::size_t r = 0; r < lengths.size(); ++r) {
        for (nlohmann::json& row : nlohmann::json::parse(all.substr(
                 static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])))) {
          merged.push_back(std::move(row));
        }
      }
    }
    return merged;
#else
    return rows;
#endif
  }
};

}  // namespace medimg::batch_detail
