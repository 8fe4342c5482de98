// Image<T, MemorySpace>: a Geometry, the voxels as a
// Kokkos::View<T***, LayoutLeft, MemorySpace> with extents (nx, ny, nz)
// (i fastest in memory), and the image's Metadata. Algorithms are templated
// on the image and take their execution space from its memory space.
//
// AnyImage<MemorySpace> is a variant over the six pixel types, for code that
// learns the type only when a file is read.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "medimg/core/error.hpp"
#include "medimg/core/geometry.hpp"
#include "medimg/core/host_memory.hpp"
#include "medimg/core/metadata.hpp"
#include "medimg/core/output_buffer.hpp"
#include "medimg/core/pixel_type.hpp"
#include "medimg/core/voxel_pool.hpp"

namespace medimg {

using DeviceMemory = Kokkos::DefaultExecutionSpace::memory_space;
using HostMemory = Kokkos::HostSpace;

// Throws medimg::Error unless `replacement` has `current`'s size (a grid may
// move, not resize, under existing voxels).
inline void check_same_size(const Geometry& current, const Geometry& replacement) {
  for (int a = 0; a < 3; ++a) {
    if (replacement.size()[a] != current.size()[a]) {
      throw Error("set_geometry: size " + to_string(replacement.size()) +
                  " differs from the image's " + to_string(current.size()));
    }
  }
}

template <class T, class MemorySpace = DeviceMemory>
class Image {
  static_assert(is_pixel_type<T>::value,
                "medimg images hold uint8, int16, uint16, int32, float or double");

 public:
  using value_type = T;
  using memory_space = MemorySpace;
  using execution_space = typename MemorySpace::execution_space;
  using view_type = Kokkos::View<T***, Kokkos::LayoutLeft, MemorySpace>;

  // An image with no voxels (is_allocated() == false).
  Image() = default;

  // A zero-filled image on `geometry`.
  explicit Image(const Geometry& geometry, const std::string& label = "medimg::Image")
      : m_geometry(geometry), m_voxels(allocate(geometry, label)) {
    Kokkos::deep_copy(m_voxels, T{});  // in parallel: the first touch is spread over the threads
  }

  // Wraps existing voxels; their extents must equal the geometry's size.
  Image(const Geometry& geometry, view_type voxels, Metadata metadata = {})
      : m_geometry(geometry), m_voxels(std::move(voxels)), m_metadata(std::move(metadata)) {
    for (int a = 0; a < 3; ++a) {
      if (static_cast<std::int64_t>(m_voxels.extent(static_cast<unsigned>(a))) !=
          geometry.size()[a]) {
        throw Error("voxel array extents do not match the geometry's size " +
                    to_string(geometry.size()));
      }
    }
  }

  // An image whose voxels are left uninitialised, for outputs that a kernel
  // overwrites entirely.
  static Image uninitialized(const Geometry& geometry, const std::string& label = "medimg::Image") {
    return Image(geometry, allocate(geometry, label));
  }

  const Geometry& geometry() const { return m_geometry; }
  // Replaces the grid's placement; the size must stay the same.
  void set_geometry(const Geometry& geometry) {
    check_same_size(m_geometry, geometry);
    m_geometry = geometry;
  }

  const view_type& voxels() const { return m_voxels; }
  Metadata& metadata() { return m_metadata; }
  const Metadata& metadata() const { return m_metadata; }

  bool is_allocated() const { return m_voxels.data() != nullptr; }
  static constexpr PixelType pixel_type() { return pixel_type_of<T>(); }

 private:
  // Every image's voxels come from here: uninitialised, and in host memory
  // advised onto transparent huge pages and faulted in, in parallel, before
  // a kernel writes them (a first touch of 4 KiB pages costs a VM like ours
  // about 4 ms per MiB, huge pages about 45x less, and faults taken inside a
  // kernel evict its caches; core/host_memory.hpp), or, inside a
  // VoxelPool::Scope, a free buffer of the same shape (core/voxel_pool.hpp),
  // or, the first inside an OutputBuffer::Scope, the memory its provider
  // gives (core/output_buffer.hpp: a mapped output file; not owned).
  static view_type allocate(const Geometry& geometry, const std::string& label) {
    if constexpr (std::is_same_v<MemorySpace, Kokkos::HostSpace>) {
      const auto n0 = static_cast<std::size_t>(geometry.size()[0]);
      const auto n1 = static_cast<std::size_t>(geometry.size()[1]);
      const auto n2 = static_cast<std::size_t>(geometry.size()[2]);
      if (void* given = OutputBuffer::claim(pixel_type_of<T>(), n0, n1, n2)) {
        return view_type(static_cast<T*>(given), n0, n1, n2);
      }
      if (auto pooled = VoxelPool::reuse<view_type>(n0, n1, n2)) return *pooled;
    }
    view_type voxels(Kokkos::view_alloc(Kokkos::WithoutInitializing, label),
                     static_cast<std::size_t>(geometry.size()[0]),
                     static_cast<std::size_t>(geometry.size()[1]),
                     static_cast<std::size_t>(geometry.size()[2]));
    if constexpr (std::is_same_v<MemorySpace, Kokkos::HostSpace>) {
      advise_huge_pages(voxels.data(), static_cast<std::uint64_t>(voxels.span()) * sizeof(T),
                        Kokkos::DefaultHostExecutionSpace().concurrency());
      VoxelPool::keep(voxels);
    }
    return voxels;
  }

  Geometry m_geometry;
  view_type m_voxels;
  Metadata m_metadata;
};

// The image in another memory space. When the spaces are the same this is
// the same image (shared voxels, no copy), as Kokkos::create_mirror_view.
template <class TargetSpace, class T, class MemorySpace>
Image<T, TargetSpace> to_memory_space(const Image<T, MemorySpace>& image) {
  auto voxels = Kokkos::create_mirror_view_and_copy(TargetSpace(), image.voxels());
  return Image<T, TargetSpace>(image.geometry(), voxels, image.metadata());
}

template <class T, class MemorySpace>
Image<T, HostMemory> to_host(const Image<T, MemorySpace>& image) {
  return to_memory_space<HostMemory>(image);
}

template <class T, class MemorySpace>
Image<T, DeviceMemory> to_device(const Image<T, MemorySpace>& image) {
  return to_memory_space<DeviceMemory>(image);
}

// A deep copy: new voxels, same geometry and metadata.
template <class T, class MemorySpace>
Image<T, MemorySpace> clone(const Image<T, MemorySpace>& image) {
  Image<T, MemorySpace> copy = Image<T, MemorySpace>::uninitialized(image.geometry());
  Kokkos::deep_copy(copy.voxels(), image.voxels());
  copy.metadata() = image.metadata();
  return copy;
}

// X(T) for each pixel type of AnyImage, in its order: for explicit
// instantiations (resample/resample.hpp, ops/detail/index_copy.hpp).
#define MEDIMG_FOR_EACH_PIXEL_TYPE(X) \
  X(std::uint8_t) X(std::int16_t) X(std::uint16_t) X(std::int32_t) X(float) X(double)

template <class MemorySpace = DeviceMemory>
using AnyImage = std::variant<Image<std::uint8_t, MemorySpace>, Image<std::int16_t, MemorySpace>,
                              Image<std::uint16_t, MemorySpace>, Image<std::int32_t, MemorySpace>,
                              Image<float, MemorySpace>, Image<double, MemorySpace>>;

template <class MemorySpace>
PixelType pixel_type(const AnyImage<MemorySpace>& image) {
  return std::visit([](const auto& typed) { return typed.pixel_type(); }, image);
}

template <class MemorySpace>
const Geometry& geometry(const AnyImage<MemorySpace>& image) {
  return std::visit([](const auto& typed) -> const Geometry& { return typed.geometry(); }, image);
}

template <class MemorySpace>
const Metadata& metadata(const AnyImage<MemorySpace>& image) {
  return std::visit([](const auto& typed) -> const Metadata& { return typed.metadata(); }, image);
}

// Hands `image` over and leaves it empty (an Image or AnyImage). Use it
// where std::move would be written to free the source early: Kokkos 3.4's
// View has no move constructor (its tracker is copied), so a moved-from
// image still holds its voxels until it is destroyed.
template <class ImageLike>
ImageLike take(ImageLike& image) {
  ImageLike out = image;
  image = ImageLike{};
  return out;
}

template <class TargetSpace, class MemorySpace>
AnyImage<TargetSpace> to_memory_space(const AnyImage<MemorySpace>& image) {
  return std::visit(
      [](const auto& typed) -> AnyImage<TargetSpace> {
        return to_memory_space<TargetSpace>(typed);
      },
      image);
}

}  // namespace medimg
