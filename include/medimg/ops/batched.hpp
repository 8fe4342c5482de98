// The index ops of a BatchedImage (crop, pad, flip, reorient; any per-item
// IndexMapping), in one launch over every item: item n of the result is the
// single-image op on item n, bit for bit (the same CopyByIndexMapping code,
// per row on host backends, per voxel on GPUs). Each item may take its own
// mapping (a random flip flips some items, a random crop starts anywhere);
// the outputs share one size.
#pragma once

#include <Kokkos_Core.hpp>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "medimg/core/batched_image.hpp"
#include "medimg/core/pixel_cast.hpp"
#include "medimg/ops/geometry_rules.hpp"

namespace medimg {

namespace impl {

template <class InView4, class OutView4>
struct CopyBatchByIndexMappings {
  using T = typename OutView4::non_const_value_type;
  using Item = CopyByIndexMapping<
      Kokkos::View<const T***, Kokkos::LayoutLeft, typename OutView4::memory_space>,
      Kokkos::View<T***, Kokkos::LayoutLeft, typename OutView4::memory_space>>;
  using Rows = typename Item::Rows;
  InView4 in;
  OutView4 out;
  Kokkos::View<const IndexMapping*, typename OutView4::memory_space> mappings;
  T fill;
  Size3 in_size;

  KOKKOS_INLINE_FUNCTION Item item(const std::int64_t n) const {
    using InItem = decltype(Item::in);
    using OutItem = decltype(Item::out);
    return Item{InItem(&in(0, 0, 0, n), static_cast<std::size_t>(in_size[0]),
                       static_cast<std::size_t>(in_size[1]), static_cast<std::size_t>(in_size[2])),
                OutItem(&out(0, 0, 0, n), out.extent(0), out.extent(1), out.extent(2)), mappings(n),
                fill, in_size};
  }

  // Row `row` of all items' rows (host backends).
  KOKKOS_INLINE_FUNCTION void operator()(Rows, const std::int64_t row) const {
    const auto rows_per_item = static_cast<std::int64_t>(out.extent(1) * out.extent(2));
    item(row / rows_per_item)(Rows{}, row % rows_per_item);
  }

  // One voxel (GPUs).
  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i, const std::int64_t j,
                                         const std::int64_t k, const std::int64_t n) const {
    item(n)(i, j, k);
  }
};

}  // namespace impl

// Item n: copy_by_index_mapping(item n, outputs[n], mappings[n], fill).
template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> copy_batch_by_index_mappings(const ExecutionSpace& exec,
                                                          const BatchedImage<T, MemorySpace>& input,
                                                          const std::vector<Geometry>& outputs,
                                                          const std::vector<IndexMapping>& mappings,
                                                          T fill, const char* label) {
  const std::size_t items = input.count();
  if (outputs.size() != items || mappings.size() != items) {
    throw Error(std::string(label) + ": " + std::to_string(items) + " images, " +
                std::to_string(outputs.size()) + " output grids and " +
                std::to_string(mappings.size()) + " index mappings");
  }
  auto result = BatchedImage<T, MemorySpace>::uninitialized(outputs, label);
  for (std::size_t n = 0; n < items; ++n) result.metadata(n) = input.metadata(n);
  Kokkos::View<IndexMapping*, MemorySpace> device_mappings(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::batch_index_mappings"), items);
  auto host_mappings = Kokkos::create_mirror_view(device_mappings);
  bool rows = true;
  for (std::size_t n = 0; n < items; ++n) {
    host_mappings(n) = mappings[n];
    rows = rows && (mappings[n].step[0] == 1 || mappings[n].step[0] == -1);
  }
  Kokkos::deep_copy(exec, device_mappings, host_mappings);
  using View4 = typename BatchedImage<T, MemorySpace>::view_type;
  const impl::CopyBatchByIndexMappings<typename View4::const_type, View4> copy{
      input.voxels(), result.voxels(), device_mappings, fill, input.size()};
  const Size3& size = result.size();
  const auto n = static_cast<std::int64_t>(items);
  if constexpr (Kokkos::SpaceAccessibility<ExecutionSpace, Kokkos::HostSpace>::accessible) {
    if (rows) {
      using Rows = Kokkos::RangePolicy<ExecutionSpace, typename decltype(copy)::Rows,
                                       Kokkos::IndexType<std::int64_t>>;
      Kokkos::parallel_for(label, Rows(exec, 0, size[1] * size[2] * n), copy);
      exec.fence();  // the mappings are freed at the end of this scope
      return result;
    }
  }
  using Policy = Kokkos::MDRangePolicy<ExecutionSpace, Kokkos::Rank<4, Kokkos::Iterate::Left>,
                                       Kokkos::IndexType<std::int64_t>>;
  Kokkos::parallel_for(label, Policy(exec, {0, 0, 0, 0}, {size[0], size[1], size[2], n}), copy);
  exec.fence();
  return result;
}

// The adjoint of copy_batch_by_index_mappings (items on `inputs`): the
// inverse mappings, 0 where no output voxel read an input voxel (as
// copy_by_index_mapping_transpose per item).
template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> copy_batch_by_index_mappings_transpose(
    const ExecutionSpace& exec, const BatchedImage<T, MemorySpace>& dLdy,
    const std::vector<Geometry>& inputs, const std::vector<IndexMapping>& mappings) {
  std::vector<IndexMapping> inverses;
  for (const IndexMapping& m : mappings) inverses.push_back(inverse(m));
  return copy_batch_by_index_mappings(exec, dLdy, inputs, inverses, T(0),
                                      "medimg::index_copy_batch_transpose");
}

// Flips item n along every axis a with flips[n][a] (none: a copy).
template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> flip_batch(const ExecutionSpace& exec,
                                        const BatchedImage<T, MemorySpace>& batch,
                                        const std::vector<std::array<bool, 3>>& flips) {
  std::vector<IndexMapping> mappings(batch.count());
  if (flips.size() != batch.count()) {
    throw Error("flip_batch: " + std::to_string(batch.count()) + " images and " +
                std::to_string(flips.size()) + " flip choices");
  }
  for (std::size_t n = 0; n < batch.count(); ++n) {
    for (int a = 0; a < 3; ++a) {
      if (!flips[n][static_cast<std::size_t>(a)]) continue;
      mappings[n].first[a] = batch.size()[a] - 1;
      mappings[n].step[a] = -1;
    }
  }
  return copy_batch_by_index_mappings(exec, batch, batch.geometries(), mappings, T(0),
                                      "medimg::flip_batch");
}

// Item n cropped to [starts[n], starts[n] + size) (one size, any starts).
template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> crop_batch(const ExecutionSpace& exec,
                                        const BatchedImage<T, MemorySpace>& batch,
                                        const std::vector<Size3>& starts, const Size3& size) {
  if (starts.size() != batch.count()) {
    throw Error("crop_batch: " + std::to_string(batch.count()) + " images and " +
                std::to_string(starts.size()) + " starts");
  }
  std::vector<Geometry> outputs;
  std::vector<IndexMapping> mappings;
  for (std::size_t n = 0; n < batch.count(); ++n) {
    outputs.push_back(cropped_grid(batch.geometry(n), starts[n], size));
    mappings.push_back(crop_mapping(starts[n]));
  }
  return copy_batch_by_index_mappings(exec, batch, outputs, mappings, T(0), "medimg::crop_batch");
}

// Every item reoriented to `code` (change_orientation per item, one launch);
// the items must come out of one size (their axes permuted alike).
template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> change_orientation_batch(const ExecutionSpace& exec,
                                                      const BatchedImage<T, MemorySpace>& batch,
                                                      std::string_view code) {
  std::vector<Geometry> outputs;
  std::vector<IndexMapping> mappings;
  for (std::size_t n = 0; n < batch.count(); ++n) {
    const Reorientation r = reorientation(batch.geometry(n), code);
    const Size3& a = r.grid.size();
    const Size3& b = outputs.empty() ? a : outputs.front().size();
    if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2]) {
      throw Error("change_orientation_batch: item " + std::to_string(n) + " becomes " +
                  to_string(a) + " in " + std::string(code) + ", item 0 " + to_string(b) +
                  " (a batch holds one size)");
    }
    outputs.push_back(r.grid);
    mappings.push_back(r.mapping);
  }
  return copy_batch_by_index_mappings(exec, batch, outputs, mappings, T(0),
                                      "medimg::change_orientation_batch");
}

// Every item padded by `before` and `after` voxels of `value`.
template <class ExecutionSpace, class T, class MemorySpace>
BatchedImage<T, MemorySpace> pad_batch(const ExecutionSpace& exec,
                                       const BatchedImage<T, MemorySpace>& batch,
                                       const Size3& before, const Size3& after, double value) {
  std::vector<Geometry> outputs;
  std::vector<IndexMapping> mappings;
  for (std::size_t n = 0; n < batch.count(); ++n) {
    outputs.push_back(padded_grid(batch.geometry(n), before, after));
    mappings.push_back(pad_mapping(before));
  }
  return copy_batch_by_index_mappings(exec, batch, outputs, mappings, pixel_cast<T>(value),
                                      "medimg::pad_batch");
}

}  // namespace medimg
