// include/medimg/io/hdf5_io.hpp and dist/hdf5.hpp's impl functions: the
// HDF5 calls are the HDF5 module's (io/detail/hdf5_module.hpp), loaded the
// first time a process touches an .h5 file; this side allocates the images
// and keeps the lock the (not thread-safe) HDF5 library needs.
#include "medimg/io/hdf5_io.hpp"

#include <mutex>

#include "medimg/core/error.hpp"
#include "medimg/core/host_memory.hpp"
#include "medimg/core/warning.hpp"
#include "medimg/dist/hdf5.hpp"
#include "medimg/io/detail/hdf5_module.hpp"
#include "medimg/io/detail/modules.hpp"

namespace medimg {

namespace detail {

const Hdf5Module& hdf5_module(const std::string& file) {
  static std::once_flag once;
  static const Hdf5Module* module = nullptr;
  static std::string error;
  std::call_once(once, [] {
    const OpenedModule opened = open_module("libmedimg_hdf5.so", "medimg_hdf5_module");
    if (!opened.entry) {
      error = opened.error;
      return;
    }
    using Entry = const Hdf5Module* (*)(int);
    module = reinterpret_cast<Entry>(opened.entry)(hdf5_module_abi);
    if (!module) {
      error = "libmedimg_hdf5.so is not this medimg's HDF5 module (ABI " +
              std::to_string(hdf5_module_abi) + ")";
    }
  });
  if (!module) {
    throw Error("cannot read or write '" + file +
                "': medimg's HDF5 module is not available: " + error);
  }
  return *module;
}

}  // namespace detail

namespace impl {

Hdf5Header read_hdf5_header(MPI_Comm comm, const std::string& file, const std::string& dataset) {
  const detail::Hdf5Module* module = nullptr;
  collectively(comm, [&] { module = &detail::hdf5_module(file); });
  return module->read_header(comm, file, dataset);
}

void read_hdf5_planes(MPI_Comm comm, const std::string& file, const Hdf5Header& header,
                      std::int64_t k0, std::int64_t count, void* planes) {
  const detail::Hdf5Module* module = nullptr;
  collectively(comm, [&] { module = &detail::hdf5_module(file); });
  module->read_planes(comm, file, header, k0, count, planes);
}

void write_hdf5(MPI_Comm comm, const std::string& file, const std::string& dataset,
                const Geometry& geometry, const Metadata& metadata, PixelType type, std::int64_t k0,
                std::int64_t count, const void* planes, const Hdf5Options& options) {
  const detail::Hdf5Module* module = nullptr;
  collectively(comm, [&] { module = &detail::hdf5_module(file); });
  module->write(comm, file, dataset, geometry, metadata, type, k0, count, planes, options);
}

}  // namespace impl

std::recursive_mutex& hdf5_lock() {
  static std::recursive_mutex lock;
  return lock;
}

void read_hdf5_shape(const std::string& file, const std::string& dataset, Geometry& geometry,
                     PixelType& type) {
  const std::lock_guard<std::recursive_mutex> guard(hdf5_lock());
  const impl::Hdf5Header header = impl::read_hdf5_header(MPI_COMM_NULL, file, dataset);
  geometry = header.geometry;
  type = header.type;
}

void save_hdf5(const AnyImage<HostMemory>& image, const std::string& file,
               const std::string& dataset, const Hdf5Options& options) {
  const std::lock_guard<std::recursive_mutex> guard(hdf5_lock());
  std::visit(
      [&](const auto& typed) {
        impl::write_hdf5(MPI_COMM_NULL, file, dataset, typed.geometry(), typed.metadata(),
                         typed.pixel_type(), 0, typed.geometry().size()[2], typed.voxels().data(),
                         options);
      },
      image);
}

AnyImage<HostMemory> load_hdf5(const std::string& file, const std::string& dataset) {
  const std::lock_guard<std::recursive_mutex> guard(hdf5_lock());
  const impl::Hdf5Header header = impl::read_hdf5_header(MPI_COMM_NULL, file, dataset);
  return visit_pixel_type(header.type, [&](auto zero) -> AnyImage<HostMemory> {
    using T = decltype(zero);
    const auto bytes = static_cast<std::uint64_t>(header.geometry.voxel_count()) * sizeof(T);
    check_host_allocation(bytes, file + ":" + dataset);
    auto image = Image<T, HostMemory>::uninitialized(header.geometry, "medimg::load_hdf5");
    image.metadata() = header.metadata;
    impl::read_hdf5_planes(MPI_COMM_NULL, file, header, 0, header.geometry.size()[2],
                           image.voxels().data());
    for (const std::string& line : header.warnings) warn("'" + file + "': " + line);
    return image;
  });
}

std::vector<std::string> hdf5_datasets(const std::string& file) {
  const std::lock_guard<std::recursive_mutex> guard(hdf5_lock());
  return detail::hdf5_module(file).datasets(file);
}

}  // namespace medimg
