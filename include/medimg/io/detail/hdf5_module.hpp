// The boundary between the medimg library and its HDF5 module
// (lib/medimg/libmedimg_hdf5.so; io/detail/modules.hpp says why and where).
// Debian's parallel HDF5 brings libcurl, OpenSSL, GnuTLS and Kerberos with
// it: about 6 MiB of resident pages and 25 shared libraries at every start of
// a process that never touches an .h5 file. The module holds every HDF5
// call (src/hdf5_module/hdf5_file.cpp); the library's io/hdf5_io.cpp and
// dist/hdf5.hpp call it through this table. Voxels cross as plain buffers;
// MPI communicators are Open MPI's handles of the one libmpi both sides load.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "medimg/dist/hdf5.hpp"
#include "medimg/io/hdf5_io.hpp"

namespace medimg::detail {

inline constexpr int hdf5_module_abi = 2;  // 2: Hdf5Header::warnings

struct Hdf5Module {
  int abi = hdf5_module_abi;
  // The functions of dist/hdf5.hpp's impl namespace, and hdf5_datasets.
  impl::Hdf5Header (*read_header)(MPI_Comm comm, const std::string& file,
                                  const std::string& dataset);
  void (*read_planes)(MPI_Comm comm, const std::string& file, const impl::Hdf5Header& header,
                      std::int64_t k0, std::int64_t count, void* planes);
  void (*write)(MPI_Comm comm, const std::string& file, const std::string& dataset,
                const Geometry& geometry, const Metadata& metadata, PixelType type, std::int64_t k0,
                std::int64_t count, const void* planes, const Hdf5Options& options);
  std::vector<std::string> (*datasets)(const std::string& file);
};

// The module, loaded on first use (thread-safe); throws medimg::Error
// naming `file` when it cannot be loaded (on every rank that asks).
const Hdf5Module& hdf5_module(const std::string& file);

}  // namespace medimg::detail

extern "C" const medimg::detail::Hdf5Module* medimg_hdf5_module(int abi);
