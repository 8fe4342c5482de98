// Parallel HDF5 under mpiexec (1, 2, 3 and 4 ranks): a distributed save
// writes the same file, byte for byte, as a single-process save; a
// distributed load reads back exactly the voxels, grid and metadata, each
// rank only its own slab; the same file loads serially. Bad input (missing
// file or dataset, unwritable folder, images on different communicators)
// gives the same clear error on every rank, no hang (CTest runs this suite
// under a timeout) and no file left behind.
#include <gtest/gtest.h>
#include <mpi.h>

#include "mpi_support.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "../test_support.hpp"
#include "medimg/dist/hdf5.hpp"
#include "medimg/dist/ops.hpp"
#include "medimg/ops/rotate.hpp"

namespace medimg::test {
namespace {

namespace fs = std::filesystem;

// One folder per test and rank count, made by rank 0 and seen by all.
fs::path shared_dir(const std::string& name) {
  const fs::path dir =
      fs::current_path() / "scratch" / ("mpi_hdf5_np" + std::to_string(world_size())) / name;
  if (world_rank() == 0) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return dir;
}

std::string bytes_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <class T>
Image<T, HostMemory> numbered(const Geometry& g) {
  Image<T, HostMemory> image(g);
  for (std::int64_t v = 0; v < g.voxel_count(); ++v) {
    image.voxels().data()[v] = static_cast<T>((v * 37) % 251) - static_cast<T>(17);
  }
  image.metadata().modality = Modality::PET;
  image.metadata().subtype = Subtype::FDG;
  image.metadata().patient_id = "patient-7";
  image.metadata().study_uid = "1.2.3.4";
  image.metadata().series_uid = "1.2.3.4.5";
  image.metadata().tags["0008|0060"] = "PT";
  return image;
}

// No temporary files: only the named files are in `dir`.
void expect_only(const fs::path& dir, std::vector<std::string> names) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(dir)) found.push_back(entry.path().filename());
  std::sort(found.begin(), found.end());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(found, names);
}

template <class T>
void round_trip(const Geometry& g, const std::string& tag) {
  const fs::path dir = shared_dir("round_trip_" + tag);
  const auto image = numbered<T>(g);
  const std::string serial = (dir / "serial.h5").string();
  const std::string parallel = (dir / "parallel.h5").string();
  if (world_rank() == 0) save_hdf5(AnyImage<HostMemory>(image), serial, "/scans/a");
  const auto d = distribute<T>(MPI_COMM_WORLD, image, 0, 0);
  save_hdf5(d, parallel, "/scans/a");
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) {
    EXPECT_EQ(bytes_of(serial), bytes_of(parallel))
        << tag << ": the parallel file differs from the serial one";
    expect_only(dir, {"parallel.h5", "serial.h5"});
  }
  // Distributed load: each rank's slab, then gathered.
  const auto loaded = load_hdf5(MPI_COMM_WORLD, parallel, "/scans/a", 1);
  const auto& typed = std::get<DistributedImage<T>>(loaded);
  EXPECT_EQ(typed.local().extent(2),
            static_cast<std::size_t>(typed.held_end() - typed.held_begin()));
  const auto back = gather(typed, 0);
  if (world_rank() == 0) {
    ASSERT_TRUE(back.geometry().same_grid(g, 0.0));
    EXPECT_EQ(0, std::memcmp(back.voxels().data(), image.voxels().data(),
                             sizeof(T) * static_cast<std::size_t>(g.voxel_count())))
        << tag;
    EXPECT_EQ(back.metadata().patient_id, "patient-7");
    EXPECT_EQ(back.metadata().modality, Modality::PET);
    EXPECT_EQ(back.metadata().subtype, Subtype::FDG);
    EXPECT_EQ(back.metadata().tags.at("0008|0060"), "PT");
    // The parallel file, read serially.
    const auto serial_read = std::get<Image<T, HostMemory>>(load_hdf5(parallel, "/scans/a"));
    EXPECT_EQ(0, std::memcmp(serial_read.voxels().data(), image.voxels().data(),
                             sizeof(T) * static_cast<std::size_t>(g.voxel_count())));
  }
  // Ghost planes hold their neighbours' planes, read from the file.
  const std::int64_t n = typed.plane_size();
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), typed.local());
  for (std::int64_t k = typed.held_begin(); k < typed.held_end(); ++k) {
    EXPECT_EQ(0,
              std::memcmp(host.data() + (k - typed.held_begin()) * n, image.voxels().data() + k * n,
                          sizeof(T) * static_cast<std::size_t>(n)))
        << "plane " << k;
  }
}

TEST(ParallelHdf5, RoundTripEqualsSerialByteForByte) {
  round_trip<float>(oblique_geometry(Size3{23, 17, 11}), "float_11");
  round_trip<std::int16_t>(oblique_geometry(Size3{40, 30, 2}), "int16_2");  // empty ranks
  round_trip<std::uint8_t>(oblique_geometry(Size3{301, 37, 9}), "uint8_9");
  round_trip<double>(oblique_geometry(Size3{5, 4, 3}), "double_3");
}

TEST(ParallelHdf5, ADistributedResultSavesLikeTheSerialOne) {
  const fs::path dir = shared_dir("op");
  const Geometry g = oblique_geometry(Size3{23, 17, 11});
  const auto image = numbered<float>(g);
  const auto d = distribute<float>(MPI_COMM_WORLD, image, 0, 0);
  save_hdf5(rotate(Kokkos::DefaultExecutionSpace(), d, Axis::k, 17.0, Interp::bspline),
            (dir / "p.h5").string(), "/r");
  if (world_rank() == 0) {
    const auto serial =
        rotate(Kokkos::DefaultExecutionSpace(), to_device(image), Axis::k, 17.0, Interp::bspline);
    save_hdf5(AnyImage<HostMemory>(to_host(serial)), (dir / "s.h5").string(), "/r");
    EXPECT_EQ(bytes_of(dir / "s.h5"), bytes_of(dir / "p.h5"));
  }
}

// Every rank throws, with the same message containing `needle`.
template <class F>
void expect_error_everywhere(F&& f, const std::string& needle) {
  std::string message;
  try {
    f();
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find(needle), std::string::npos)
      << "rank " << world_rank() << ": '" << message << "' lacks '" << needle << "'";
  int length = static_cast<int>(message.size()), longest = 0;
  MPI_Allreduce(&length, &longest, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_EQ(length, longest) << "ranks disagree on the error";
}

TEST(ParallelHdf5, BadInputFailsOnEveryRankWithoutHangingOrLeavingFiles) {
  const fs::path dir = shared_dir("bad");
  const Geometry g = oblique_geometry(Size3{9, 7, 5});
  const auto d = distribute<float>(MPI_COMM_WORLD, numbered<float>(g), 0, 0);
  const std::string file = (dir / "a.h5").string();
  save_hdf5(d, file, "/x");
  expect_error_everywhere([&] { load_hdf5(MPI_COMM_WORLD, file, "/y"); }, "no such dataset");
  expect_error_everywhere([&] { load_hdf5(MPI_COMM_WORLD, (dir / "none.h5").string(), "/x"); },
                          "no such file");
  expect_error_everywhere([&] { save_hdf5(d, (dir / "missing" / "b.h5").string(), "/x"); },
                          "does not exist");
  // A file that is not HDF5 is not overwritten by adding a dataset to it.
  if (world_rank() == 0) std::ofstream(dir / "text.h5") << "not hdf5";
  MPI_Barrier(MPI_COMM_WORLD);
  expect_error_everywhere([&] { save_hdf5(d, (dir / "text.h5").string(), "/x"); },
                          "is not an HDF5 file");
  if (world_rank() == 0) {
    EXPECT_EQ(bytes_of(dir / "text.h5"), "not hdf5");
    expect_only(dir, {"a.h5", "text.h5"});
  }
  // Images on communicators of different sizes do not mix.
  MPI_Comm half_world;
  MPI_Comm_split(MPI_COMM_WORLD, world_rank() % 2, world_rank(), &half_world);
  {
    const auto other = distribute<float>(half_world, numbered<float>(g), 0, 0);
    if (world_size() > 1) {
      expect_error_everywhere(
          [&] { resample_to_image(Kokkos::DefaultExecutionSpace(), other, d, Interp::linear); },
          "different communicators");
    }
  }
  MPI_Comm_free(&half_world);
}

TEST(ParallelHdf5, AddingADatasetKeepsTheOthers) {
  const fs::path dir = shared_dir("keep");
  const Geometry g = oblique_geometry(Size3{6, 5, 4});
  const auto image = numbered<std::int32_t>(g);
  const auto d = distribute<std::int32_t>(MPI_COMM_WORLD, image, 0, 0);
  const std::string file = (dir / "cohort.h5").string();
  save_hdf5(d, file, "/patients/a");
  save_hdf5(d, file, "/patients/b");
  save_hdf5(d, file, "/patients/a");  // replaced
  if (world_rank() == 0) {
    EXPECT_EQ(hdf5_datasets(file), (std::vector<std::string>{"/patients/a", "/patients/b"}));
    expect_only(dir, {"cohort.h5"});
  }
}

}  // namespace
}  // namespace medimg::test
