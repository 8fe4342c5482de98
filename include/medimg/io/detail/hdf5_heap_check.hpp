// A check made before HDF5 opens a file (the HDF5 module's header read):
// HDF5 1.10's global heap reader (H5HG__cache_heap_deserialize) walks the
// objects of a collection by their sizes and never ends on one whose
// free-space object (index 0) has size 0, or whose size sends the walk back
// (a size near 2^64). Variable-length strings live in those collections
// (medimg's "metadata" attribute, h5py's string attributes), so a damaged
// one made every header read loop until the time limit (60 s; the hdf5
// fuzz harness spent most of its time there).
//
// The check finds the collections ("GCOL", version 1, a size of 4 KiB to
// 16 MiB that fits the file) in the first and last 4 MiB of the file, where
// HDF5 keeps its metadata (medimg's writer: the last 4 KiB), and walks each
// as HDF5 does. A collection elsewhere in a larger file is not checked (the
// time limit still stops a loop there). Lengths of 8 bytes only (HDF5's
// default; a superblock with other sizes is not checked).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace medimg::detail {

// "" when nothing is found, else why the collection at which byte would
// make HDF5 loop ("the global heap collection at byte N ...").
std::string hdf5_global_heap_problem(const std::string& path);

// The walk of one collection: `bytes` from its signature on, `offset` its
// place in the file (for the message).
std::string hdf5_collection_problem(const std::uint8_t* bytes, std::size_t size,
                                    std::uint64_t offset);

}  // namespace medimg::detail
