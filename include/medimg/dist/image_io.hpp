// Reading and writing any supported file as a DistributedImage (the CLI
// under mpiexec). HDF5 ("file.h5:/dataset") is read and written in parallel,
// each rank its own slab (medimg/dist/hdf5.hpp). Other formats (NIfTI, NRRD,
// MetaImage, DICOM) are read by rank 0 and scattered, and gathered to rank 0
// and written by it. Collective; errors are agreed: every rank throws the
// same medimg::Error.
#pragma once

#include <mpi.h>

#include <string>

#include "medimg/dist/distributed_image.hpp"
#include "medimg/io/image_io.hpp"

namespace medimg {

AnyDistributedImage<DeviceMemory> load_distributed(MPI_Comm comm, const std::string& path,
                                                   const LoadOptions& options = {}, int ghosts = 0);

void save_distributed(const AnyDistributedImage<DeviceMemory>& image, const std::string& path,
                      const SaveOptions& options = {});

}  // namespace medimg
