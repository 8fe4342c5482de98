// medimg's own NIfTI reader and writer (io/nifti_io.hpp) and its gzip layer
// (io/detail/gzip.hpp): round trips of every pixel type in NIfTI-1 and -2,
// plain and gzip; the header rules (which transform, units, scaling, NaN,
// refusals) on headers patched byte by byte. tests/python/test_nibabel_geometry.py
// compares real files with nibabel.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "io_test_support.hpp"
#include "medimg/core/error.hpp"
#include "medimg/core/warning.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/detail/gzip.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/io/nifti_io.hpp"
#include "test_support.hpp"

namespace medimg::test {
namespace {

namespace fs = std::filesystem;
using HostInt16 = Image<std::int16_t, HostMemory>;
using HostFloat = Image<float, HostMemory>;

template <class V>
void put(std::string& bytes, std::size_t offset, V value) {
  std::memcpy(&bytes[offset], &value, sizeof(V));
}

template <class T>
Image<T, HostMemory> ramp(const Geometry& g) {
  Image<T, HostMemory> image(g);
  for (std::int64_t n = 0; n < g.voxel_count(); ++n) {
    image.voxels().data()[n] =
        static_cast<T>((n * 37) % 201 - (std::is_signed<T>::value ? 100 : 0));
  }
  return image;
}

// f(image) for a ramp image of every pixel type medimg holds.
template <class F>
void for_each_pixel_type_ramp(const Geometry& g, F&& f) {
  for (const PixelType type : {PixelType::uint8, PixelType::int16, PixelType::uint16,
                               PixelType::int32, PixelType::float32, PixelType::float64}) {
    visit_pixel_type(type, [&](auto zero) { f(ramp<decltype(zero)>(g)); });
  }
}

std::map<std::string, std::string> image_tags(const AnyImage<HostMemory>& image) {
  return metadata(image).tags;
}

void expect_error(const std::string& path, const std::string& reason,
                  const LoadOptions& options = {}) {
  try {
    load_image(path, options);
    ADD_FAILURE() << path << ": no error, expected '" << reason << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
}

TEST(Nifti, EveryPixelTypeRoundTripsInNifti1And2PlainAndGzip) {
  const fs::path dir = scratch_dir();
  const Geometry g = oblique_geometry();
  for_each_pixel_type_ramp(g, [&](const auto& image) {
    using T = typename std::decay_t<decltype(image)>::value_type;
    const PixelType type = image.pixel_type();
    for (const bool nifti2 : {false, true}) {
      for (const char* ext : {".nii", ".nii.gz"}) {
        const fs::path path = dir / (std::string(to_string(type)) + (nifti2 ? "_2" : "_1") + ext);
        SaveOptions options;
        options.nifti2 = nifti2;
        save_image(image, path.string(), options);
        const std::string bytes = read_file_bytes(path);
        const auto back = std::get<Image<T, HostMemory>>(load_image(path.string()));
        EXPECT_EQ(std::memcmp(back.voxels().data(), image.voxels().data(),
                              sizeof(T) * static_cast<std::size_t>(g.voxel_count())),
                  0)
            << path;
        // NIfTI-2 stores the affine in double, NIfTI-1 in float.
        const double tolerance = nifti2 ? 1e-12 : 1e-5;
        for (int a = 0; a < 3; ++a) {
          EXPECT_NEAR(back.geometry().origin()[a], g.origin()[a], tolerance * 100) << path;
          EXPECT_NEAR(back.geometry().spacing()[a], g.spacing()[a], tolerance) << path;
          for (int b = 0; b < 3; ++b) {
            EXPECT_NEAR(back.geometry().direction()[a][b], g.direction()[a][b], tolerance);
          }
        }
        EXPECT_EQ(back.metadata().tags.at("nifti|version"), nifti2 ? "2" : "1");
        EXPECT_EQ(back.metadata().tags.at("nifti|sform_code"), "1");
      }
    }
  });
}

TEST(Nifti, WritingKeepsTheCodesTheImageWasReadWith) {
  const fs::path dir = scratch_dir();
  auto image = ramp<std::uint8_t>(oblique_geometry());
  image.metadata().tags["nifti|sform_code"] = "4";
  image.metadata().tags["nifti|qform_code"] = "0";
  save_image(image, (dir / "mni.nii").string());
  const std::string bytes = read_file_bytes(dir / "mni.nii");
  std::int16_t qform_code, sform_code;
  std::memcpy(&qform_code, &bytes[252], 2);
  std::memcpy(&sform_code, &bytes[254], 2);
  EXPECT_EQ(sform_code, 4);
  EXPECT_EQ(qform_code, 4);  // both set: the qform takes the sform's code
  EXPECT_EQ(bytes.substr(344, 4), std::string("n+1\0", 4));
}

// A medimg-written NIfTI-1 file (sform and qform code 1, identical) to patch.
std::string base_file(const fs::path& dir, PixelType type = PixelType::int16) {
  const fs::path path = dir / "base.nii";
  const Geometry g(Size3{4, 5, 6}, Vec3{10, -20, 30}, Vec3{0.5, 0.75, 2.0}, identity_matrix());
  visit_pixel_type(type, [&](auto zero) { save_image(ramp<decltype(zero)>(g), path.string()); });
  return read_file_bytes(path);
}

TEST(Nifti, SformWinsWhenSetAndADifferingQformIsOneWarning) {
  const fs::path dir = scratch_dir();
  std::string bytes = base_file(dir);
  put(bytes, 268, 100.0f);  // qoffset_x: the qform now starts 100 mm further right... in RAS x
  write_file_bytes(dir / "differ.nii", bytes);
  const std::string path = (dir / "differ.nii").string();
  std::vector<std::string> warnings;
  const Geometry sform = geometry(load_collecting(path, warnings));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("using the sform"), std::string::npos) << warnings[0];
  EXPECT_NEAR(sform.origin()[0], 10.0, 1e-5);
  LoadOptions qform;
  qform.nifti_xform = NiftiXform::qform;
  EXPECT_NEAR(geometry(load_collecting(path, warnings, qform)).origin()[0], -100.0, 1e-4);
  const NiftiTransforms t = read_nifti_transforms(path);
  EXPECT_TRUE(t.differ);
  EXPECT_EQ(t.used, "sform");
  EXPECT_NEAR(t.qform[0][3], 100.0, 1e-5);
  EXPECT_NEAR(t.sform[0][3], -10.0, 1e-5);

  // Without an sform the qform places it; asking for the sform is an error.
  put(bytes, 254, std::int16_t{0});
  write_file_bytes(dir / "qonly.nii", bytes);
  EXPECT_NEAR(geometry(load_image((dir / "qonly.nii").string())).origin()[0], -100.0, 1e-4);
  LoadOptions sform_only;
  sform_only.nifti_xform = NiftiXform::sform;
  expect_error((dir / "qonly.nii").string(), "has no sform", sform_only);
  // Neither code: method 1, pixdim alone, origin 0.
  put(bytes, 252, std::int16_t{0});
  write_file_bytes(dir / "nocode.nii", bytes);
  const Geometry method1 = geometry(load_image((dir / "nocode.nii").string()));
  EXPECT_EQ(method1.origin()[0], 0.0);
  EXPECT_EQ(method1.spacing()[2], 2.0);
  EXPECT_EQ(method1.orientation_code(), "RAS");
}

TEST(Nifti, UnitsScaleSpacingAndOrigin) {
  const fs::path dir = scratch_dir();
  std::string bytes = base_file(dir);
  // (an array, not a braced list: nvcc 11.8 cannot deduce the range of one)
  const std::pair<char, double> unit_cases[] = {{1, 1000.0}, {3, 0.001}};
  for (const std::pair<char, double>& unit_case : unit_cases) {
    const char units = unit_case.first;
    const double factor = unit_case.second;
    put(bytes, 123, units);  // xyzt_units: metre, micron
    write_file_bytes(dir / "units.nii", bytes);
    const Geometry g = geometry(load_image((dir / "units.nii").string()));
    EXPECT_NEAR(g.spacing()[2], 2.0 * factor, 1e-9 * factor);
    EXPECT_NEAR(g.origin()[0], 10.0 * factor, 1e-5 * factor);
  }
}

TEST(Nifti, ScalingFollowsTheStandardAndNanIsKept) {
  const fs::path dir = scratch_dir();
  std::string bytes = base_file(dir);
  const auto plain = std::get<HostInt16>(load_image((dir / "base.nii").string()));
  // slope 0 (and NaN) means no scaling, whatever the intercept.
  for (const float slope : {0.0f, std::numeric_limits<float>::quiet_NaN()}) {
    put(bytes, 112, slope);
    put(bytes, 116, 7.0f);
    write_file_bytes(dir / "noscale.nii", bytes);
    const auto same = load_image((dir / "noscale.nii").string());
    ASSERT_EQ(pixel_type(same), PixelType::int16);
    EXPECT_EQ(std::get<HostInt16>(same).voxels().data()[5], plain.voxels().data()[5]);
  }
  put(bytes, 112, 2.0f);
  write_file_bytes(dir / "scaled.nii", bytes);
  const auto scaled = load_image((dir / "scaled.nii").string());
  ASSERT_EQ(pixel_type(scaled), PixelType::float32);
  for (std::size_t n = 0; n < 20; ++n) {
    EXPECT_EQ(std::get<HostFloat>(scaled).voxels().data()[n],
              2.0f * plain.voxels().data()[n] + 7.0f);
  }
  put(bytes, 116, std::numeric_limits<float>::infinity());
  write_file_bytes(dir / "badinter.nii", bytes);
  expect_error((dir / "badinter.nii").string(), "scl_inter is not finite");

  auto with_nan = ramp<float>(oblique_geometry());
  with_nan.voxels().data()[3] = std::numeric_limits<float>::quiet_NaN();
  with_nan.voxels().data()[4] = -std::numeric_limits<float>::infinity();
  save_image(with_nan, (dir / "nan.nii.gz").string());
  const auto back = std::get<HostFloat>(load_image((dir / "nan.nii.gz").string()));
  EXPECT_TRUE(std::isnan(back.voxels().data()[3]));
  EXPECT_EQ(back.voxels().data()[4], -std::numeric_limits<float>::infinity());
}

TEST(Nifti, Int8IsWidenedToInt16) {
  const fs::path dir = scratch_dir();
  std::string bytes = base_file(dir, PixelType::uint8);
  put(bytes, 70, std::int16_t{256});  // DT_INT8
  bytes[352] = static_cast<char>(-100);
  write_file_bytes(dir / "int8.nii", bytes);
  const auto image = load_image((dir / "int8.nii").string());
  ASSERT_EQ(pixel_type(image), PixelType::int16);
  EXPECT_EQ(std::get<HostInt16>(image).voxels().data()[0], -100);
}

// load_image_mapped: the voxels are the file's pages (copy on write) exactly
// where the stored bytes are the image's; every other file is read as
// load_image reads it, with the same values.
TEST(Nifti, MappedLoadUsesTheFilesPagesOnlyWhereTheyAreTheImage) {
  const fs::path dir = scratch_dir();
  const Geometry g = oblique_geometry();
  for_each_pixel_type_ramp(g, [&](const auto& image) {
    using T = typename std::decay_t<decltype(image)>::value_type;
    const PixelType type = image.pixel_type();
    const std::size_t bytes = sizeof(T) * static_cast<std::size_t>(g.voxel_count());
    const std::string name(to_string(type));
    save_image(image, (dir / (name + ".nii")).string());
    save_image(image, (dir / (name + ".nii.gz")).string());
    // The .hdr/.img pair of the same image: the header with magic "ni1"
    // and vox_offset 0, the voxels alone.
    const std::string single = read_file_bytes(dir / (name + ".nii"));
    std::string pair_header = single.substr(0, 348);
    put(pair_header, 108, 0.0f);
    pair_header.replace(344, 4, std::string("ni1\0", 4));
    write_file_bytes(dir / (name + ".hdr"), pair_header);
    write_file_bytes(dir / (name + ".img"), single.substr(352));
    for (const char* ext : {".nii", ".hdr", ".nii.gz"}) {
      const fs::path path = dir / (name + ext);
      const MappedImage mapped = load_image_mapped(path.string());
      const auto& back = std::get<Image<T, HostMemory>>(mapped.image);
      EXPECT_EQ(std::memcmp(back.voxels().data(), image.voxels().data(), bytes), 0) << path;
      EXPECT_EQ(back.metadata().tags, image_tags(load_image(path.string()))) << path;
      const std::string ext_name(ext);
      if (ext_name == ".nii.gz") {
        EXPECT_EQ(mapped.mapping, nullptr) << path;
        continue;
      }
      // .nii: the voxels start at vox_offset 352; .img: at 0.
      ASSERT_NE(mapped.mapping, nullptr) << path;
      EXPECT_EQ(
          reinterpret_cast<const unsigned char*>(back.voxels().data()),
          static_cast<const unsigned char*>(mapped.mapping.get()) + (ext_name == ".nii" ? 352 : 0))
          << path;
      // Writing the voxels changes this process's copy, not the file.
      const fs::path data_path = ext_name == ".nii" ? path : dir / (name + ".img");
      const std::string before = read_file_bytes(data_path);
      back.voxels().data()[7] = static_cast<T>(back.voxels().data()[7] + 1);
      EXPECT_EQ(read_file_bytes(data_path), before) << path;
      const auto again = std::get<Image<T, HostMemory>>(load_image(path.string()));
      EXPECT_EQ(again.voxels().data()[7], image.voxels().data()[7]) << path;
    }
  });
  // Stored bytes that are not the image's: scaled, int8 (widened): read.
  std::string bytes = base_file(dir);
  const auto plain = std::get<HostInt16>(load_image((dir / "base.nii").string()));
  put(bytes, 112, 2.0f);
  put(bytes, 116, 7.0f);
  write_file_bytes(dir / "scaled.nii", bytes);
  const MappedImage scaled = load_image_mapped((dir / "scaled.nii").string());
  EXPECT_EQ(scaled.mapping, nullptr);
  ASSERT_EQ(pixel_type(scaled.image), PixelType::float32);
  EXPECT_EQ(std::get<HostFloat>(scaled.image).voxels().data()[5],
            2.0f * plain.voxels().data()[5] + 7.0f);
  // float32 stored with a slope: the pixel type is the same, the values not.
  std::string float_bytes = base_file(dir, PixelType::float32);
  const auto float_plain = std::get<HostFloat>(load_image((dir / "base.nii").string()));
  put(float_bytes, 112, 2.0f);
  put(float_bytes, 116, 7.0f);
  write_file_bytes(dir / "scaled_float.nii", float_bytes);
  const MappedImage scaled_float = load_image_mapped((dir / "scaled_float.nii").string());
  EXPECT_EQ(scaled_float.mapping, nullptr);
  EXPECT_EQ(std::get<HostFloat>(scaled_float.image).voxels().data()[5],
            2.0f * float_plain.voxels().data()[5] + 7.0f);
  std::string int8 = base_file(dir, PixelType::uint8);
  put(int8, 70, std::int16_t{256});  // DT_INT8
  int8[352] = static_cast<char>(-100);
  write_file_bytes(dir / "int8.nii", int8);
  const MappedImage widened = load_image_mapped((dir / "int8.nii").string());
  EXPECT_EQ(widened.mapping, nullptr);
  EXPECT_EQ(std::get<HostInt16>(widened.image).voxels().data()[0], -100);
  // A truncated file is the same one error as load_image's, before mapping.
  write_file_bytes(dir / "short.nii", read_file_bytes(dir / "base.nii").substr(0, 400));
  try {
    (void)load_image_mapped((dir / "short.nii").string());
    ADD_FAILURE() << "short.nii: no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

// A .nii written through its mapping (the CLI's geometric commands) is the
// file save_nifti writes, byte for byte (NIfTI-1 and -2, every type); it
// appears only at commit(), an existing file stays until then, and an
// uncommitted mapping leaves nothing behind.
TEST(Nifti, OutputMappingWritesTheFileSaveNiftiWrites) {
  const fs::path dir = scratch_dir() / "output_mapping";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto temporaries = [&] {
    int n = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
      n += is_temporary_name(entry.path().filename().string());
    }
    return n;
  };
  const Geometry g = oblique_geometry();
  const std::array<std::size_t, 3> extents{static_cast<std::size_t>(g.size()[0]),
                                           static_cast<std::size_t>(g.size()[1]),
                                           static_cast<std::size_t>(g.size()[2])};
  for_each_pixel_type_ramp(g, [&](auto image) {
    using T = typename std::decay_t<decltype(image)>::value_type;
    image.metadata().tags["nifti|sform_code"] = "4";
    for (const bool nifti2 : {false, true}) {
      SaveOptions options;
      options.nifti2 = nifti2;
      const std::string name = std::string(to_string(image.pixel_type())) + (nifti2 ? "_2" : "");
      const fs::path written = dir / (name + "_written.nii");
      const fs::path mapped_path = dir / (name + "_mapped.nii");
      save_image(image, written.string(), options);
      write_file_bytes(mapped_path, "an older file");
      auto mapping =
          NiftiOutputMapping::open(mapped_path.string(), image.pixel_type(), extents, options, 2);
      ASSERT_NE(mapping, nullptr) << name;
      Image<T, HostMemory> target(
          g, typename Image<T, HostMemory>::view_type(static_cast<T*>(mapping->voxels()),
                                                      extents[0], extents[1], extents[2]));
      Kokkos::deep_copy(target.voxels(), image.voxels());
      target.metadata() = image.metadata();
      EXPECT_TRUE(mapping->holds(target)) << name;
      EXPECT_FALSE(mapping->holds(image)) << name;
      EXPECT_EQ(read_file_bytes(mapped_path), "an older file") << name;
      EXPECT_EQ(temporaries(), 1) << name;
      mapping->commit(target);
      EXPECT_EQ(temporaries(), 0) << name;
      EXPECT_EQ(read_file_bytes(mapped_path), read_file_bytes(written)) << name;
    }
  });
  // A size past NIfTI-1's: NIfTI-2 as save_nifti chooses it.
  const Geometry long_row(Size3{40000, 2, 1}, Vec3{0, 0, 0}, Vec3{1, 1, 1});
  const auto row = ramp<std::uint8_t>(long_row);
  save_image(row, (dir / "row_written.nii").string());
  auto row_mapping =
      NiftiOutputMapping::open((dir / "row_mapped.nii").string(), PixelType::uint8, {40000, 2, 1});
  ASSERT_NE(row_mapping, nullptr);
  std::memcpy(row_mapping->voxels(), row.voxels().data(), 80000);
  row_mapping->commit(Image<std::uint8_t, HostMemory>(
      long_row, Image<std::uint8_t, HostMemory>::view_type(
                    static_cast<std::uint8_t*>(row_mapping->voxels()), 40000, 2, 1)));
  EXPECT_EQ(read_file_bytes(dir / "row_mapped.nii"), read_file_bytes(dir / "row_written.nii"));
  // Not committed (a failed command): nothing new, the old file as it was.
  write_file_bytes(dir / "kept.nii", "kept");
  {
    auto dropped = NiftiOutputMapping::open((dir / "kept.nii").string(), PixelType::int16, extents);
    ASSERT_NE(dropped, nullptr);
    EXPECT_THROW(dropped->commit(ramp<std::int16_t>(g)), Error);  // not its voxels
    auto fresh = NiftiOutputMapping::open((dir / "fresh.nii").string(), PixelType::int16, extents);
    ASSERT_NE(fresh, nullptr);
    EXPECT_EQ(temporaries(), 2);
  }
  EXPECT_EQ(temporaries(), 0);
  EXPECT_EQ(read_file_bytes(dir / "kept.nii"), "kept");
  EXPECT_FALSE(fs::exists(dir / "fresh.nii"));
  // Other formats and empty images are written as usual.
  EXPECT_EQ(NiftiOutputMapping::open((dir / "a.nii.gz").string(), PixelType::int16, extents),
            nullptr);
  EXPECT_EQ(NiftiOutputMapping::open((dir / "a.hdr").string(), PixelType::int16, extents), nullptr);
  EXPECT_EQ(NiftiOutputMapping::open((dir / "a.nii").string(), PixelType::int16, {0, 3, 4}),
            nullptr);
  EXPECT_EQ(temporaries(), 0);
}

// stream_nifti (medimg info on a compressed file): the pieces, in order,
// are load_nifti's voxels, whatever the piece size; scaling and byte order as
// load_nifti; a damaged file is the same error.
TEST(Nifti, StreamGivesLoadNiftisVoxelsInPieces) {
  const fs::path dir = scratch_dir() / "stream";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const Geometry g = oblique_geometry();
  for_each_pixel_type_ramp(g, [&](const auto& image) {
    using T = typename std::decay_t<decltype(image)>::value_type;
    const std::string path =
        (dir / (std::string(to_string(image.pixel_type())) + ".nii.gz")).string();
    save_image(image, path);
    const auto loaded = std::get<Image<T, HostMemory>>(load_image(path));
    for (const std::size_t piece : {std::size_t(7), std::size_t(1000), std::size_t(1) << 20}) {
      std::vector<T> streamed;
      std::size_t calls = 0;
      const NiftiStream header = stream_nifti(
          path, LoadOptions{}, piece, [&](PixelType type, const void* v, std::size_t n) {
            EXPECT_EQ(type, image.pixel_type());
            EXPECT_LE(n, piece);
            streamed.insert(streamed.end(), static_cast<const T*>(v), static_cast<const T*>(v) + n);
            ++calls;
          });
      EXPECT_EQ(calls, (static_cast<std::size_t>(g.voxel_count()) + piece - 1) / piece);
      ASSERT_EQ(streamed.size(), static_cast<std::size_t>(g.voxel_count()));
      EXPECT_EQ(std::memcmp(streamed.data(), loaded.voxels().data(), streamed.size() * sizeof(T)),
                0)
          << path << " in pieces of " << piece;
      EXPECT_EQ(header.type, image.pixel_type());
      EXPECT_EQ(to_string(header.geometry.size()), to_string(g.size()));
      EXPECT_EQ(header.metadata.tags, loaded.metadata().tags);
    }
  });
  // Scaled int16 and a big-endian file: float values, as load_nifti.
  std::string bytes = base_file(dir);
  put(bytes, 112, 2.0f);
  put(bytes, 116, 7.0f);
  write_file_bytes(dir / "scaled.nii", bytes);
  std::vector<float> scaled;
  stream_nifti((dir / "scaled.nii").string(), LoadOptions{}, 64,
               [&](PixelType type, const void* v, std::size_t n) {
                 ASSERT_EQ(type, PixelType::float32);
                 scaled.insert(scaled.end(), static_cast<const float*>(v),
                               static_cast<const float*>(v) + n);
               });
  const auto expected = std::get<HostFloat>(load_image((dir / "scaled.nii").string()));
  ASSERT_EQ(scaled.size(), static_cast<std::size_t>(expected.geometry().voxel_count()));
  EXPECT_EQ(std::memcmp(scaled.data(), expected.voxels().data(), scaled.size() * sizeof(float)), 0);
  // A truncated stream: load_image's error.
  save_image(ramp<float>(g), (dir / "whole.nii.gz").string());
  const std::string gz = read_file_bytes(dir / "whole.nii.gz");
  write_file_bytes(dir / "cut.nii.gz", gz.substr(0, gz.size() / 2));
  try {
    stream_nifti((dir / "cut.nii.gz").string(), LoadOptions{}, 100,
                 [](PixelType, const void*, std::size_t) {});
    ADD_FAILURE() << "cut.nii.gz: no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.nii.gz"), std::string::npos) << e.what();
  }
}

TEST(Nifti, BadHeadersAreOneClearError) {
  const fs::path dir = scratch_dir();
  const std::string good = base_file(dir);
  auto patched = [&](const char* name, auto&& change) {
    std::string bytes = good;
    change(bytes);
    write_file_bytes(dir / name, bytes);
    return (dir / name).string();
  };
  expect_error(patched("magic.nii", [](std::string& b) { b.replace(344, 4, "abc\0", 4); }),
               "no NIfTI magic");
  expect_error(patched("pair.nii", [](std::string& b) { b.replace(344, 4, "ni1\0", 4); }),
               "does not match a single .nii file");
  expect_error(patched("negative.nii", [](std::string& b) { put(b, 44, std::int16_t{-1}); }),
               "dim[2] is -1");
  expect_error(patched("zero.nii", [](std::string& b) { put(b, 46, std::int16_t{0}); }),
               "dim[3] is 0");
  expect_error(patched("rank.nii", [](std::string& b) { put(b, 40, std::int16_t{9}); }),
               "dim[0] is 9");
  expect_error(patched("4d.nii",
                       [](std::string& b) {
                         put(b, 40, std::int16_t{4});
                         put(b, 48, std::int16_t{3});
                       }),
               "4D image with 3 points along dim[4]");
  expect_error(patched("rgb.nii", [](std::string& b) { put(b, 70, std::int16_t{128}); }),
               "voxels of type RGB24");
  expect_error(patched("short.nii", [](std::string& b) { b.resize(b.size() - 1); }),
               "the voxels need");
  // A shear the sform holds and a Geometry cannot: refused, qform usable.
  const std::string shear =
      patched("shear.nii", [](std::string& b) { put(b, 284, 0.3f); });  // srow_x[1]
  expect_error(shear, "sform has shear");
  LoadOptions qform;
  qform.nifti_xform = NiftiXform::qform;
  EXPECT_NO_THROW(load_image(shear, qform));
}

TEST(Nifti, HeaderPromisingMoreThanTheNodeHoldsIsRefusedBeforeAllocating) {
  const fs::path dir = scratch_dir();
  auto image =
      ramp<std::uint8_t>(Geometry(Size3{2, 2, 2}, Vec3{0, 0, 0}, Vec3{1, 1, 1}, identity_matrix()));
  SaveOptions options;
  options.nifti2 = true;
  save_image(image, (dir / "huge.nii").string(), options);
  std::string bytes = read_file_bytes(dir / "huge.nii");
  for (std::size_t d = 1; d <= 3; ++d) put(bytes, 16 + 8 * d, std::int64_t{200000});
  write_file_bytes(dir / "huge.nii", bytes);
  expect_error((dir / "huge.nii").string(), "the voxels need 8.0 PB; this node has");
}

TEST(Gzip, MultiMemberOutputReadsBackAndDamageIsNamed) {
  const fs::path dir = scratch_dir();
  std::vector<unsigned char> data(3'000'000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>((i * i) >> 7);
  const std::string header = "header bytes";
  detail::GzipWriteOptions options;
  options.block_bytes = 64 * 1024;  // 47 members
  options.threads = 2;
  const std::string path = (dir / "multi.gz").string();
  detail::write_file(path, {{header.data(), header.size()}, {data.data(), data.size()}}, true,
                     options, path);
  {
    detail::InputFile in(path);
    EXPECT_TRUE(in.compressed());
    std::string h(header.size(), '\0');
    in.read_exactly(h.data(), h.size(), "header");
    EXPECT_EQ(h, header);
    std::vector<unsigned char> back(data.size());
    in.read_exactly(back.data(), back.size(), "data");
    EXPECT_EQ(back, data);
    unsigned char extra;
    EXPECT_EQ(in.read(&extra, 1), 0u);
  }
  const std::string compressed = read_file_bytes(path);
  EXPECT_LT(compressed.size(), data.size());
  // Zero padding after the last member is accepted; other bytes are not.
  write_file_bytes(dir / "padded.gz", compressed + std::string(16, '\0'));
  write_file_bytes(dir / "garbage.gz", compressed + "trailing");
  std::vector<unsigned char> all(header.size() + data.size() + 1);
  EXPECT_EQ(detail::InputFile((dir / "padded.gz").string()).read(all.data(), all.size()),
            header.size() + data.size());
  EXPECT_THROW(detail::InputFile((dir / "garbage.gz").string()).read(all.data(), all.size()),
               Error);
  // A damaged byte inside a member: corrupt data or a failed CRC, named.
  std::string damaged = compressed;
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x55);
  write_file_bytes(dir / "damaged.gz", damaged);
  try {
    detail::InputFile((dir / "damaged.gz").string()).read(all.data(), all.size());
    ADD_FAILURE() << "damaged gzip read without error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace medimg::test
