// One gzip member inflated by two threads (io/detail/gzip_split.hpp) and
// reduce_nifti's statistics through it: every byte given once, in the right
// place, against zlib's own compressed files (one member, as nibabel and
// gzip write them); whatever does not check is "not done", never wrong.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "medimg/config.hpp"
#include "medimg/io/detail/gzip.hpp"
#include "medimg/io/detail/gzip_split.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/io/nifti_io.hpp"
#include "test_support.hpp"

namespace medimg::test {
namespace {

namespace fs = std::filesystem;

// `bytes` as one gzip member, by zlib at `level`.
std::string gzip_one_member(const std::string& bytes, int level) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Slices with a background of zeros around a noisy disc (what a head scan
// looks like to deflate): float32 voxels, little-endian, `slices` of 256 x 256.
std::string phantom_bytes(int slices) {
  std::string bytes(std::size_t(slices) * 256 * 256 * 4, '\0');
  std::uint32_t seed = 12345;
  std::size_t at = 0;
  for (int k = 0; k < slices; ++k) {
    for (int j = 0; j < 256; ++j) {
      for (int i = 0; i < 256; ++i, at += 4) {
        const double r = std::hypot(i - 128.0, j - 128.0);
        float v = 0.0f;
        if (r < 60.0 + 30.0 * std::sin(k * 0.05)) {
          seed = seed * 1664525u + 1013904223u;
          v = static_cast<float>(100 + (seed >> 28) + (r < 20.0 ? 50 : 0));
        }
        std::memcpy(&bytes[at], &v, 4);
      }
    }
  }
  return bytes;
}

// `count` voxels of whole numbers: a noisy disc on slices of 256 x 256,
// but from voxel `a * count` to `b * count` each voxel repeats the one
// 28,000 bytes before it, one in 16 replaced by a new value. Deflate copies
// that stretch from as far back as it sees, so a block starting in it copies
// from its unknown window for megabytes, as ch2's float .nii.gz does from
// 23% to 59% of its compressed bytes; before and after, a block's window
// becomes known within a few hundred KiB.
template <class T>
std::vector<T> far_copies(std::int64_t count, double a, double b) {
  std::vector<T> v(static_cast<std::size_t>(count));
  std::uint32_t seed = 7;
  const auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return seed;
  };
  const auto from = static_cast<std::int64_t>(a * static_cast<double>(count));
  const auto to = static_cast<std::int64_t>(b * static_cast<double>(count));
  const std::int64_t period = 28000 / static_cast<std::int64_t>(sizeof(T));
  for (std::int64_t n = 0; n < count; ++n) {
    const std::uint32_t r = next();
    const auto value = static_cast<T>(1 + (r >> 26));
    if (n >= from + period && n < to) {
      v[static_cast<std::size_t>(n)] =
          (r & 15) == 0 ? value : v[static_cast<std::size_t>(n - period)];
    } else if (n >= from && n < to) {
      v[static_cast<std::size_t>(n)] = value;
    } else {
      const bool inside = std::hypot(double(n % 256) - 128.0, double(n / 256 % 256) - 128.0) < 85.0;
      v[static_cast<std::size_t>(n)] = inside ? value : T(0);
    }
  }
  return v;
}

// Collects what the two threads give.
struct Collect final : detail::SplitSink {
  std::string head_bytes, tail_bytes, last_bytes;
  std::thread::id head_thread, tail_thread, last_thread;
  void head(const unsigned char* b, std::size_t n) override {
    head_thread = std::this_thread::get_id();
    head_bytes.append(reinterpret_cast<const char*>(b), n);
  }
  void tail(const unsigned char* b, std::size_t n) override {
    tail_thread = std::this_thread::get_id();
    tail_bytes.append(reinterpret_cast<const char*>(b), n);
  }
  void last(const unsigned char* b, std::size_t n) override {
    last_thread = std::this_thread::get_id();
    last_bytes.append(reinterpret_cast<const char*>(b), n);
  }
  std::string all() const { return head_bytes + tail_bytes + last_bytes; }
};

detail::SplitOptions small_options(double first) {
  detail::SplitOptions options;
  options.min_content = 1 << 20;
  options.first = first;
  options.patient = true;  // where it splits does not depend on the threads' speeds
  return options;
}

TEST(GzipSplit, TwoThreadsGiveEveryByteOnceInItsPlace) {
  const fs::path dir = scratch_dir() / "gzip_split";
  fs::create_directories(dir);
  const std::string content = phantom_bytes(96);  // 24 MiB
  int splits = 0;
  for (const int level : {1, 6, 9}) {
    const std::string path = (dir / ("phantom" + std::to_string(level) + ".gz")).string();
    write_file_bytes(path, gzip_one_member(content, level));
    for (const double first : {0.2, 0.45, 0.7}) {
      Collect sink;
      const detail::SplitResult r = detail::inflate_split(path, sink, small_options(first));
#if MEDIMG_HAS_ISAL
      ASSERT_TRUE(r.done) << path << " from " << first;
      EXPECT_EQ(r.content, content.size());
      EXPECT_GE(r.probes, 1u);
      ASSERT_EQ(sink.head_bytes.size(), r.tail_offset);
      EXPECT_TRUE(sink.head_bytes == content.substr(0, r.tail_offset)) << path << " " << first;
      ASSERT_EQ(sink.tail_bytes.size(), r.last_offset - r.tail_offset);
      EXPECT_TRUE(sink.tail_bytes == content.substr(r.tail_offset, sink.tail_bytes.size()))
          << path << " " << first;
      EXPECT_TRUE(sink.last_bytes == content.substr(r.last_offset)) << path << " " << first;
      if (r.tail_offset < r.content) {
        ++splits;
        EXPECT_GT(r.tail_offset, content.size() / 8);
        EXPECT_NE(sink.head_thread, sink.tail_thread);
      }
#else
      EXPECT_FALSE(r.done);
#endif
    }
  }
#if MEDIMG_HAS_ISAL
  // Most of these nine find a block whose window becomes known.
  EXPECT_GE(splits, 6);
#endif
#if defined(_OPENMP) && MEDIMG_HAS_ISAL
  // Called inside an OpenMP region, the worker is a std::thread of its own.
  const std::string path = (dir / "phantom6.gz").string();
  Collect sink;
  detail::SplitResult r;
#pragma omp parallel num_threads(2)
  {
#pragma omp master
    r = detail::inflate_split(path, sink, small_options(0.45));
  }
  ASSERT_TRUE(r.done);
  EXPECT_LT(r.tail_offset, r.content);
  EXPECT_TRUE(sink.all() == content);
  EXPECT_NE(sink.head_thread, sink.tail_thread);
#endif
}

TEST(GzipSplit, FarCopiesInTheMiddleAreSplitInThree) {
  const fs::path dir = scratch_dir() / "gzip_split";
  fs::create_directories(dir);
  const std::vector<float> voxels = far_copies<float>(std::int64_t(18) << 18, 0.40, 0.52);
  const std::string content(reinterpret_cast<const char*>(voxels.data()), voxels.size() * 4);
  for (const int level : {1, 6}) {
    const std::string path = (dir / ("far" + std::to_string(level) + ".gz")).string();
    const std::string gz = gzip_one_member(content, level);
    write_file_bytes(path, gz);
    Collect sink;
    const detail::SplitResult r = detail::inflate_split(path, sink, small_options(0.45));
#if MEDIMG_HAS_ISAL
    // The first probe (45%) copies from its window too long; the worker
    // takes a block before the far copies and stops at one past them, where
    // the calling thread goes on.
    ASSERT_TRUE(r.done) << level;
    EXPECT_EQ(r.content, content.size());
    EXPECT_GE(r.probes, 3u);
    EXPECT_GT(r.tail_offset, content.size() / 8) << level;
    EXPECT_LT(r.tail_offset, content.size() * 2 / 5) << level;
    EXPECT_GT(r.last_offset, content.size() * 13 / 25) << level;
    EXPECT_LT(r.last_offset, content.size()) << level;
    ASSERT_EQ(sink.head_bytes.size(), r.tail_offset);
    ASSERT_EQ(sink.tail_bytes.size(), r.last_offset - r.tail_offset);
    EXPECT_TRUE(sink.all() == content) << level;
    EXPECT_NE(sink.head_thread, sink.tail_thread);
    EXPECT_EQ(sink.head_thread, sink.last_thread);
    // A damaged byte in each of the three parts: not done (read again the
    // ordinary way, which names the damage).
    for (const double at : {0.1, 0.45, 0.9}) {
      std::string damaged = gz;
      const auto byte = static_cast<std::size_t>(at * static_cast<double>(gz.size()));
      damaged[byte] = static_cast<char>(damaged[byte] ^ 0x10);
      const std::string bad = (dir / "far_damaged.gz").string();
      write_file_bytes(bad, damaged);
      Collect ignored;
      EXPECT_FALSE(detail::inflate_split(bad, ignored, small_options(0.45)).done) << at;
    }
#else
    EXPECT_FALSE(r.done);
#endif
  }
}

TEST(GzipSplit, WhatDoesNotCheckIsNotDoneAndNothingIsSplitWithoutReason) {
  const fs::path dir = scratch_dir() / "gzip_split";
  fs::create_directories(dir);
  const std::string content = phantom_bytes(40);  // 10 MiB
  const std::string gz = gzip_one_member(content, 6);
  auto run = [&](const std::string& name, const std::string& bytes, double first = 0.3) {
    const std::string path = (dir / name).string();
    write_file_bytes(path, bytes);
    Collect sink;
    return detail::inflate_split(path, sink, small_options(first));
  };
#if MEDIMG_HAS_ISAL
  ASSERT_TRUE(run("whole.gz", gz).done);
  // A damaged byte in the worker's part, a cut file, trailing bytes.
  std::string damaged = gz;
  damaged[gz.size() * 3 / 4] = static_cast<char>(damaged[gz.size() * 3 / 4] ^ 0x10);
  EXPECT_FALSE(run("damaged.gz", damaged).done);
  std::string early = gz;
  early[gz.size() / 10] = static_cast<char>(early[gz.size() / 10] ^ 0x10);
  EXPECT_FALSE(run("damaged_head.gz", early).done);
  EXPECT_FALSE(run("cut.gz", gz.substr(0, gz.size() - 20)).done);
  EXPECT_FALSE(run("trailing.gz", gz + "more").done);
  // A wrong CRC in the trailer.
  std::string crc = gz;
  crc[gz.size() - 8] = static_cast<char>(crc[gz.size() - 8] ^ 1);
  EXPECT_FALSE(run("crc.gz", crc).done);
  // Two members (cat a.gz b.gz): the worker's part ends before the file.
  EXPECT_FALSE(run("two.gz", gz + gz).done);
  // Stored blocks only (level 0): no block to start at; one thread reads it all.
  const detail::SplitResult stored = run("stored.gz", gzip_one_member(content, 0));
  EXPECT_TRUE(stored.done);
  EXPECT_EQ(stored.tail_offset, stored.content);
  // Below the size limit, or turned off.
  Collect small;
  EXPECT_FALSE(detail::inflate_split((dir / "whole.gz").string(), small).done);
  setenv("MEDIMG_GZIP_SPLIT", "0", 1);
  EXPECT_FALSE(run("off.gz", gz).done);
  unsetenv("MEDIMG_GZIP_SPLIT");
  // Not gzip at all.
  EXPECT_FALSE(run("plain.bin", content).done);
#else
  EXPECT_FALSE(run("whole.gz", gz).done);
#endif
}

TEST(GzipSplit, SeveralMembersAreSplitAtAMemberBoundary) {
  const fs::path dir = scratch_dir() / "gzip_split";
  fs::create_directories(dir);
  const std::string content = phantom_bytes(96);  // 24 MiB
  // medimg's own files: members of 4 MiB (the last one's length, the
  // trailer's, is below 16 MiB: the member split, not the block split).
  const std::string multi = (dir / "multi.gz").string();
  detail::write_file(multi, {{content.data(), content.size()}}, true, {}, multi);
  const std::string packed = read_file_bytes(multi);
  auto run = [&](const std::string& name, const std::string& bytes) {
    const std::string path = (dir / name).string();
    write_file_bytes(path, bytes);
    Collect sink;
    const detail::SplitResult r = detail::inflate_split(path, sink);
    return std::make_pair(r, sink);
  };
  {
    const auto [r, sink] = run("multi.gz", packed);
#if MEDIMG_HAS_ISAL
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.content, content.size());
    EXPECT_GT(r.tail_offset, 0u);
    EXPECT_LT(r.tail_offset, content.size());
    EXPECT_EQ(r.tail_offset % (std::size_t(4) << 20), 0u);
    EXPECT_TRUE(sink.head_bytes == content.substr(0, r.tail_offset));
    EXPECT_TRUE(sink.tail_bytes == content.substr(r.tail_offset));
    EXPECT_TRUE(sink.last_bytes.empty());
    EXPECT_NE(sink.head_thread, sink.tail_thread);
#else
    EXPECT_FALSE(r.done);
#endif
  }
#if MEDIMG_HAS_ISAL
  // `cat a.gz b.gz` of members of any size, zero padding after the last.
  const std::string a = gzip_one_member(content.substr(0, 6'000'000), 6);
  const std::string b = gzip_one_member(content.substr(6'000'000, 9'000'000), 6);
  const std::string c = gzip_one_member(content.substr(15'000'000), 6);
  {
    const auto [r, sink] = run("cat.gz", a + b + c + std::string(64, '\0'));
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.tail_offset, 15'000'000u);
    EXPECT_TRUE(sink.all() == content);
  }
  // A damaged member in either part, bytes after the last, a cut file.
  std::string damaged = packed;
  damaged[packed.size() * 7 / 8] = static_cast<char>(damaged[packed.size() * 7 / 8] ^ 0x10);
  EXPECT_FALSE(run("multi_damaged.gz", damaged).first.done);
  std::string early = packed;
  early[packed.size() / 8] = static_cast<char>(early[packed.size() / 8] ^ 0x10);
  EXPECT_FALSE(run("multi_damaged_head.gz", early).first.done);
  EXPECT_FALSE(run("multi_trailing.gz", packed + "more").first.done);
  EXPECT_FALSE(run("multi_cut.gz", packed.substr(0, packed.size() - 100)).first.done);
  // Content below the limit: the file is too small to be worth it.
  Collect small;
  const std::string little = (dir / "little.gz").string();
  detail::write_file(little, {{content.data(), 3u << 20}}, true, {}, little);
  EXPECT_FALSE(detail::inflate_split(little, small).done);
#endif
}

// Exact statistics: integer-valued voxels, so the sum is the same in any order.
class Exact final : public VoxelReduction {
 public:
  void add(PixelType type, const void* voxels, std::size_t count) override {
    visit_pixel_type(type, [&](auto zero) {
      using T = decltype(zero);
      for (std::size_t i = 0; i < count; ++i) {
        const double x = static_cast<double>(static_cast<const T*>(voxels)[i]);
        min = std::min(min, x);
        max = std::max(max, x);
        sum += x;
        ++n;
      }
    });
    last_type = type;
  }
  std::unique_ptr<VoxelReduction> empty_like() const override { return std::make_unique<Exact>(); }
  void merge(const VoxelReduction& other) override {
    const auto& o = static_cast<const Exact&>(other);
    min = std::min(min, o.min);
    max = std::max(max, o.max);
    sum += o.sum;
    n += o.n;
  }
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0.0;
  std::uint64_t n = 0;
  PixelType last_type = PixelType::float32;
};

// A .nii.gz of one member holding `image`, as nibabel writes them.
template <class T>
std::string one_member_nifti(const Image<T, HostMemory>& image, const fs::path& dir,
                             const std::string& name) {
  const fs::path plain = dir / (name + ".nii");
  save_image(image, plain.string());
  const fs::path gz = dir / (name + ".nii.gz");
  write_file_bytes(gz, gzip_one_member(read_file_bytes(plain), 1));
  return gz.string();
}

TEST(GzipSplit, ReduceNiftiGivesTheStatisticsOfOneThreadForEveryVoxelSize) {
  const fs::path dir = scratch_dir() / "gzip_split";
  fs::create_directories(dir);
  // 17-18 MiB of voxels whatever their size; the voxel cut by the split is
  // at any of its byte offsets, depending on where the worker starts.
  auto check = [&](const auto& image, const std::string& name) {
    const std::string path = one_member_nifti(image, dir, name);
    // medimg's own .nii.gz (members of 4 MiB): split at a member.
    const std::string own = (dir / (name + "_medimg.nii.gz")).string();
    save_image(image, own);
    setenv("MEDIMG_GZIP_SPLIT", "0", 1);
    Exact own_one;
    reduce_nifti(own, LoadOptions{}, own_one);
    unsetenv("MEDIMG_GZIP_SPLIT");
    Exact own_two;
    const NiftiStream own_split = reduce_nifti(own, LoadOptions{}, own_two);
#if MEDIMG_HAS_ISAL
    EXPECT_GT(own_split.split_at, 0u) << name;
#endif
    EXPECT_EQ(own_two.n, own_one.n);
    EXPECT_EQ(own_two.min, own_one.min);
    EXPECT_EQ(own_two.max, own_one.max);
    EXPECT_EQ(own_two.sum, own_one.sum);
    setenv("MEDIMG_GZIP_SPLIT", "0", 1);
    Exact serial;
    const NiftiStream one = reduce_nifti(path, LoadOptions{}, serial);
    EXPECT_EQ(one.split_at, 0u);
    int split = 0;
    for (const char* first : {"0.3", "0.4", "0.5", "0.6", "0.7"}) {
      setenv("MEDIMG_GZIP_SPLIT", first, 1);
      Exact two;
      const NiftiStream s = reduce_nifti(path, LoadOptions{}, two);
      split += s.split_at > 0 ? 1 : 0;
      EXPECT_EQ(two.n, serial.n) << name << " " << first;
      EXPECT_EQ(two.min, serial.min) << name << " " << first;
      EXPECT_EQ(two.max, serial.max) << name << " " << first;
      EXPECT_EQ(two.sum, serial.sum) << name << " " << first;
      EXPECT_EQ(s.type, one.type);
    }
    unsetenv("MEDIMG_GZIP_SPLIT");
#if MEDIMG_HAS_ISAL
    EXPECT_GE(split, 3) << name;
#endif
    EXPECT_EQ(serial.n, static_cast<std::uint64_t>(image.geometry().voxel_count()));
  };
  auto fill = [](auto& image) {
    using T = typename std::decay_t<decltype(image)>::value_type;
    const auto size = image.geometry().size();
    std::uint32_t seed = 7;
    std::int64_t n = 0;
    for (std::int64_t k = 0; k < size[2]; ++k) {
      for (std::int64_t j = 0; j < size[1]; ++j) {
        for (std::int64_t i = 0; i < size[0]; ++i, ++n) {
          const bool inside =
              std::hypot(double(i) - size[0] / 2.0, double(j) - size[1] / 2.0) < size[0] / 3.0;
          seed = seed * 1664525u + 1013904223u;
          image.voxels().data()[n] = inside ? static_cast<T>(1 + (seed >> 26)) : T(0);
        }
      }
    }
    image.voxels().data()[n / 2] = static_cast<T>(-3 * std::is_signed<T>::value);
    image.voxels().data()[n - 1] = static_cast<T>(99);
  };
  const auto grid = [](std::int64_t bytes_per_voxel) {
    const std::int64_t slices = (std::int64_t(18) << 20) / (256 * 256 * bytes_per_voxel);
    return Geometry(Size3{256, 256, slices}, Vec3{0, 0, 0}, Vec3{1.0, 1.0, 1.5}, identity_matrix());
  };
  Image<float, HostMemory> f(grid(4));
  fill(f);
  check(f, "float32");
  Image<std::int16_t, HostMemory> s(grid(2));
  fill(s);
  check(s, "int16");
  Image<std::uint8_t, HostMemory> u(grid(1));
  fill(u);
  check(u, "uint8");
  Image<double, HostMemory> d(grid(8));
  fill(d);
  check(d, "float64");
}

TEST(GzipSplit, ReduceNiftiInThreePartsGivesTheStatisticsOfOneThread) {
  const fs::path dir = scratch_dir() / "gzip_split";
  fs::create_directories(dir);
  // The far copies of FarCopiesInTheMiddleAreSplitInThree for three voxel
  // sizes: the tail's voxel alignment is learnt while it is being reduced,
  // the last part's only at the end.
  auto check = [&](auto zero, const std::string& name) {
    using T = decltype(zero);
    const std::int64_t slices = (std::int64_t(18) << 20) / (256 * 256 * std::int64_t(sizeof(T)));
    Image<T, HostMemory> image(
        Geometry(Size3{256, 256, slices}, Vec3{0, 0, 0}, Vec3{1.0, 1.0, 1.5}, identity_matrix()));
    const std::vector<T> values = far_copies<T>(image.geometry().voxel_count(), 0.40, 0.52);
    std::copy(values.begin(), values.end(), image.voxels().data());
    image.voxels().data()[values.size() / 3] = static_cast<T>(-3 * std::is_signed<T>::value);
    const std::string path = one_member_nifti(image, dir, "far_" + name);
    setenv("MEDIMG_GZIP_SPLIT", "0", 1);
    Exact serial;
    reduce_nifti(path, LoadOptions{}, serial);
    setenv("MEDIMG_GZIP_SPLIT", "0.45", 1);
    Exact three;
    const NiftiStream s = reduce_nifti(path, LoadOptions{}, three);
    unsetenv("MEDIMG_GZIP_SPLIT");
#if MEDIMG_HAS_ISAL
    EXPECT_GT(s.split_at, 0u) << name;
#endif
    EXPECT_EQ(three.n, serial.n) << name;
    EXPECT_EQ(three.min, serial.min) << name;
    EXPECT_EQ(three.max, serial.max) << name;
    EXPECT_EQ(three.sum, serial.sum) << name;
    EXPECT_EQ(serial.n, static_cast<std::uint64_t>(image.geometry().voxel_count()));
  };
  check(float{}, "float32");
  check(std::int16_t{}, "int16");
  check(double{}, "float64");
}

}  // namespace
}  // namespace medimg::test
