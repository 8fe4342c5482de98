// BatchedImage<T, MemorySpace>: N images on grids of one size, voxels in one
// Kokkos::View<T****, LayoutLeft, MemorySpace> with extents (nx, ny, nz, n)
// (item n is one contiguous block, laid out as an Image's voxels). Each item
// keeps its own Geometry (origin, spacing, direction may differ) and
// Metadata. `item(n)` is an Image sharing the item's voxels, so every
// single-image op applies to one item without a copy; the batched ops
// (resample/batched.hpp, ops/batched.hpp) take one transform or mapping per
// item and run as one kernel launch over all items (MedImages.jl's batched
// image, TorchIO's and MONAI's (n, ...) tensors with n last here: the
// layout is Fortran order, i fastest).
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/host_memory.hpp"
#include "medimg/core/image.hpp"

namespace medimg {

template <class T, class MemorySpace = DeviceMemory>
class BatchedImage {
 public:
  using value_type = T;
  using memory_space = MemorySpace;
  using execution_space = typename MemorySpace::execution_space;
  using view_type = Kokkos::View<T****, Kokkos::LayoutLeft, MemorySpace>;
  using item_type = Image<T, MemorySpace>;

  BatchedImage() = default;

  // Items on `geometries` (one per item, all of one size), voxels left
  // uninitialised: for outputs a kernel writes entirely.
  static BatchedImage uninitialized(std::vector<Geometry> geometries,
                                    const std::string& label = "medimg::BatchedImage") {
    check_sizes(geometries);
    view_type voxels = allocate(geometries, label);
    return BatchedImage(std::move(geometries), voxels);
  }

  // Wraps existing voxels: extents (nx, ny, nz, n) must match.
  BatchedImage(std::vector<Geometry> geometries, view_type voxels,
               std::vector<Metadata> metadata = {})
      : m_geometries(std::move(geometries)),
        m_voxels(std::move(voxels)),
        m_metadata(std::move(metadata)) {
    check_sizes(m_geometries);
    const Size3& size = m_geometries.front().size();
    for (int a = 0; a < 3; ++a) {
      if (static_cast<std::int64_t>(m_voxels.extent(static_cast<unsigned>(a))) != size[a]) {
        throw Error("batched voxel array extents do not match the items' size " + to_string(size));
      }
    }
    if (m_voxels.extent(3) != m_geometries.size()) {
      throw Error("batched voxel array holds " + std::to_string(m_voxels.extent(3)) +
                  " items for " + std::to_string(m_geometries.size()) + " geometries");
    }
    m_metadata.resize(m_geometries.size());
  }

  // A copy of `images` (one size, one pixel type) as a batch.
  static BatchedImage stack(const std::vector<item_type>& images) {
    if (images.empty()) throw Error("a batch needs at least one image");
    std::vector<Geometry> geometries;
    for (const auto& image : images) geometries.push_back(image.geometry());
    BatchedImage batch = uninitialized(geometries);
    for (std::size_t n = 0; n < images.size(); ++n) {
      Kokkos::deep_copy(batch.item(n).voxels(), images[n].voxels());
      batch.m_metadata[n] = images[n].metadata();
    }
    return batch;
  }

  // A batch of one sharing `image`'s voxels (an op written for batches run
  // on one image).
  static BatchedImage of_one(const item_type& image) {
    const Size3& size = image.geometry().size();
    view_type voxels(image.voxels().data(), static_cast<std::size_t>(size[0]),
                     static_cast<std::size_t>(size[1]), static_cast<std::size_t>(size[2]), 1);
    return BatchedImage({image.geometry()}, voxels, {image.metadata()});
  }

  std::size_t count() const { return m_geometries.size(); }
  const Size3& size() const { return m_geometries.front().size(); }
  const Geometry& geometry(std::size_t n) const { return m_geometries.at(n); }
  const std::vector<Geometry>& geometries() const { return m_geometries; }
  const view_type& voxels() const { return m_voxels; }
  Metadata& metadata(std::size_t n) { return m_metadata.at(n); }
  const Metadata& metadata(std::size_t n) const { return m_metadata.at(n); }
  const std::vector<Metadata>& metadata() const { return m_metadata; }

  // Item n as an Image that shares the batch's voxels (no copy).
  item_type item(std::size_t n) const {
    typename item_type::view_type voxels =
        Kokkos::subview(m_voxels, Kokkos::ALL, Kokkos::ALL, Kokkos::ALL, n);
    return item_type(m_geometries.at(n), voxels, m_metadata.at(n));
  }

  static constexpr PixelType pixel_type() { return pixel_type_of<T>(); }

 private:
  static void check_sizes(const std::vector<Geometry>& geometries) {
    if (geometries.empty()) throw Error("a batch needs at least one image");
    for (const auto& g : geometries) {
      const Size3& a = g.size();
      const Size3& b = geometries.front().size();
      if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2]) {
        throw Error("batched images must share one grid size: " + to_string(g.size()) + " and " +
                    to_string(geometries.front().size()));
      }
    }
  }

  // As Image's voxels: uninitialised, host memory on huge pages, faulted in
  // on the host threads before a kernel writes it.
  static view_type allocate(const std::vector<Geometry>& geometries, const std::string& label) {
    const Size3& size = geometries.front().size();
    view_type voxels(Kokkos::view_alloc(Kokkos::WithoutInitializing, label),
                     static_cast<std::size_t>(size[0]), static_cast<std::size_t>(size[1]),
                     static_cast<std::size_t>(size[2]), geometries.size());
    if constexpr (std::is_same_v<MemorySpace, Kokkos::HostSpace>) {
      advise_huge_pages(voxels.data(), static_cast<std::uint64_t>(voxels.span()) * sizeof(T),
                        Kokkos::DefaultHostExecutionSpace().concurrency());
    }
    return voxels;
  }

  std::vector<Geometry> m_geometries;
  view_type m_voxels;
  std::vector<Metadata> m_metadata;
};

}  // namespace medimg
