#include "medimg/dist/image_io.hpp"

#include "medimg/config.hpp"
#include "medimg/io/hdf5_io.hpp"
#if MEDIMG_HAS_HDF5
#include "medimg/dist/hdf5.hpp"
#endif

namespace medimg {

AnyDistributedImage<DeviceMemory> load_distributed(MPI_Comm comm, const std::string& path,
                                                   const LoadOptions& options, int ghosts) {
  if (is_hdf5_path(path)) {
#if MEDIMG_HAS_HDF5
    const Hdf5Location location = parse_hdf5_location(path);
    return load_hdf5<DeviceMemory>(comm, location.file, location.dataset, ghosts);
#else
    throw Error("cannot read '" + path + "': medimg was built without HDF5");
#endif
  }
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  AnyImage<HostMemory> image;
  impl::collectively(comm, [&] {
    if (rank == 0) image = load_image(path, options);
  });
  long long header[2] = {static_cast<long long>(pixel_type(image)),
                         static_cast<long long>(geometry(image).size()[2])};
  MPI_Bcast(header, 2, MPI_LONG_LONG, 0, comm);
  const int type = static_cast<int>(header[0]);
  if (ghosts < 0) {
    int ranks = 1;
    MPI_Comm_size(comm, &ranks);
    ghosts = default_ghosts(header[1], ranks);
  }
  return visit_pixel_type(
      static_cast<PixelType>(type), [&](auto zero) -> AnyDistributedImage<DeviceMemory> {
        using T = decltype(zero);
        const Image<T, HostMemory> none;
        return distribute<T, DeviceMemory>(
            comm, rank == 0 ? std::get<Image<T, HostMemory>>(image) : none, 0, ghosts);
      });
}

void save_distributed(const AnyDistributedImage<DeviceMemory>& image, const std::string& path,
                      const SaveOptions& options) {
  std::visit(
      [&](const auto& typed) {
        if (is_hdf5_path(path)) {
#if MEDIMG_HAS_HDF5
          const Hdf5Location location = parse_hdf5_location(path);
          save_hdf5(typed, location.file, location.dataset);
          return;
#else
          throw Error("cannot write '" + path + "': medimg was built without HDF5");
#endif
        }
        const auto whole = gather(typed, 0);
        impl::collectively(typed.comm(), [&] {
          if (typed.rank() == 0) save_image(whole, path, options);
        });
      },
      image);
}

}  // namespace medimg
