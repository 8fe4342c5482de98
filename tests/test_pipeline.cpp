// Pipeline and manifest: what a step plans (shapes, used for the batch's
// memory plan and --resume's check) is what it produces, for every op, on
// real oblique data; and the manifest rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "medimg/io/image_io.hpp"
#include "medimg/io/transform_io.hpp"
#include "medimg/pipeline/batch.hpp"
#include "medimg/pipeline/pipeline.hpp"
#include "test_support.hpp"

namespace medimg {
namespace {

TEST(Pipeline, EveryStepProducesTheShapeItPlans) {
  const std::string ch2 = test::mricron_dir + "/ch2.nii.gz";
  // An oblique, anisotropic input: ch2's voxels on a tilted grid.
  auto image = load_image_as<std::int16_t>(test::mricron_dir + "/aal.nii.gz");
  image.set_geometry(Geometry(image.geometry().size(), Vec3{-30, 12, 40}, Vec3{0.9, 1.3, 2.7},
                              test::rotation(Vec3{0.3, 0.2, 1.0}, 17.0)));
  const auto device = to_memory_space<DeviceMemory>(AnyImage<HostMemory>(image));
  const std::vector<std::string> steps = {
      R"({"op": "resample_to_spacing", "spacing": [2, 2.5, 3], "interp": "bspline"})",
      R"({"op": "resample_to_image", "reference": ")" + ch2 + R"(", "interp": "nearest"})",
      R"({"op": "reorient", "orientation": "PIR"})",
      R"({"op": "rotate", "axis": "k", "degrees": 30, "expand": true})",
      R"({"op": "scale", "factors": [1.2, 1, 0.8]})",
      R"({"op": "resize", "size": [40, 50, 30]})",
      R"({"op": "translate", "offset": [1, -2, 3]})",
      R"({"op": "translate_resample", "offset": [1, -2, 3]})",
      R"({"op": "crop", "start": [3, 4, 5], "size": [50, 60, 40]})",
      R"({"op": "pad", "before": [1, 2, 3], "after": [3, 2, 1], "value": -5})",
      R"({"op": "flip", "axis": "j"})",
      R"({"op": "crop_or_pad", "size": [170, 230, 101]})",
      R"({"op": "cast", "type": "float64"})",
      R"({"op": "clip", "min": 0, "max": 50})",
      R"({"op": "percentile_clip", "low": 1, "high": 99})",
      R"({"op": "window", "level": 40, "width": 80, "output": [0, 1]})",
      R"({"op": "window", "min": 0, "max": 80})",
      R"({"op": "min_max"})",
      R"({"op": "z_score", "over": "nonzero"})",
      R"({"op": "rescale", "slope": 2, "intercept": -1})",
      R"({"op": "histogram_match", "reference": ")" + ch2 + R"("})",
  };
  for (const std::string& step : steps) {
    SCOPED_TRACE(step);
    const Pipeline pipeline = Pipeline::from_json_text(R"({"steps": [)" + step + "]}", "test");
    const ImageShape planned = pipeline.shapes({image.geometry(), PixelType::int16}).back();
    const auto result = pipeline.run(device);
    EXPECT_EQ(pixel_type(result), planned.type);
    test::expect_same_geometry(geometry(result), planned.grid, 1e-9);
    EXPECT_GE(pipeline.peak_bytes({image.geometry(), PixelType::int16}),
              static_cast<std::uint64_t>(geometry(result).voxel_count()) *
                  pixel_size(pixel_type(result)));
  }
}

// A resample followed by region steps runs fused (one pass, only the kept
// voxels): bit for bit the steps run one by one.
TEST(Pipeline, FusedResampleAndRegionStepsEqualTheStepsOneByOne) {
  auto image = load_image_as<std::int16_t>(test::mricron_dir + "/ch2.nii.gz");
  image.set_geometry(Geometry(image.geometry().size(), Vec3{-30, 12, 40}, Vec3{0.9, 1.3, 2.7},
                              test::rotation(Vec3{0.3, 0.2, 1.0}, 17.0)));
  const auto device = to_memory_space<DeviceMemory>(AnyImage<HostMemory>(image));
  const std::vector<std::vector<std::string>> runs = {
      {R"({"op": "resample_to_spacing", "spacing": [1.3, 1.7, 2.1]})",
       R"({"op": "crop_or_pad", "size": [200, 100, 300], "value": -1024})"},
      {R"({"op": "resample_to_spacing", "spacing": [2, 2, 2], "interp": "bspline"})",
       R"({"op": "crop", "start": [5, 0, 7], "size": [60, 80, 50]})",
       R"({"op": "pad", "before": [3, 0, 9], "after": [0, 4, 2], "value": 7})",
       R"({"op": "crop_or_pad", "size": [64, 64, 64], "value": 7})"},
      {R"({"op": "resize", "size": [90, 100, 40], "interp": "nearest"})",
       R"({"op": "pad", "before": [1, 1, 1], "after": [1, 1, 1], "value": 3})",
       R"({"op": "crop", "start": [0, 2, 0], "size": [92, 90, 42]})"},
  };
  for (const auto& run : runs) {
    std::string steps;
    for (const auto& step : run) steps += (steps.empty() ? "" : ",") + step;
    SCOPED_TRACE(steps);
    std::vector<StepTiming> timings;
    const auto fused = to_memory_space<HostMemory>(
        Pipeline::from_json_text(R"({"steps": [)" + steps + "]}", "test").run(device, &timings));
    ASSERT_EQ(timings.size(), run.size());
    for (std::size_t s = 1; s < run.size(); ++s) EXPECT_EQ(timings[s].ms, 0.0);
    AnyImage<DeviceMemory> one_by_one = device;
    for (const auto& step : run) {
      one_by_one = Pipeline::from_json_text(R"({"steps": [)" + step + "]}", "test").run(one_by_one);
    }
    const auto expected =
        std::get<Image<std::int16_t, HostMemory>>(to_memory_space<HostMemory>(one_by_one));
    const auto& got = std::get<Image<std::int16_t, HostMemory>>(fused);
    test::expect_same_geometry(got.geometry(), expected.geometry(), 1e-9);
    std::int64_t differing = 0;
    for (std::int64_t n = 0; n < expected.geometry().voxel_count(); ++n) {
      differing += got.voxels().data()[n] != expected.voxels().data()[n];
    }
    EXPECT_EQ(differing, 0);
  }
}

// A window followed by z_score runs as one z_score reading the voxels
// clipped: bit for bit the two steps, for integer and float images, over
// all voxels and over the non-zero ones.
TEST(Pipeline, FusedWindowAndZScoreEqualTheStepsOneByOne) {
  const auto ch2 = load_image_as<std::int16_t>(test::mricron_dir + "/ch2.nii.gz");
  const auto ch2_float = load_image_as<float>(test::mricron_dir + "/ch2.nii.gz");
  const std::vector<std::string> windows = {R"({"op": "window", "level": 60, "width": 70})",
                                            R"({"op": "window", "min": -0.5, "max": 87.25})"};
  const std::vector<std::string> z_scores = {R"({"op": "z_score"})",
                                             R"({"op": "z_score", "over": "nonzero"})"};
  for (const auto& input : {AnyImage<HostMemory>(ch2), AnyImage<HostMemory>(ch2_float)}) {
    const auto device = to_memory_space<DeviceMemory>(input);
    for (const auto& window : windows) {
      for (const auto& z_score : z_scores) {
        SCOPED_TRACE(window + " " + z_score + " on " + std::string(to_string(pixel_type(input))));
        std::vector<StepTiming> timings;
        const Pipeline both =
            Pipeline::from_json_text(R"({"steps": [)" + window + "," + z_score + "]}", "test");
        const auto fused = to_memory_space<HostMemory>(both.run(device, &timings));
        ASSERT_EQ(timings.size(), 2u);
        EXPECT_EQ(timings[1].ms, 0.0);  // fused into the window's time
        AnyImage<DeviceMemory> one_by_one = device;
        for (const auto& step : {window, z_score}) {
          one_by_one =
              Pipeline::from_json_text(R"({"steps": [)" + step + "]}", "test").run(one_by_one);
        }
        const auto expected =
            std::get<Image<float, HostMemory>>(to_memory_space<HostMemory>(one_by_one));
        const auto& got = std::get<Image<float, HostMemory>>(fused);
        std::int64_t differing = 0;
        for (std::int64_t n = 0; n < expected.geometry().voxel_count(); ++n) {
          const float a = got.voxels().data()[n], b = expected.voxels().data()[n];
          differing += std::memcmp(&a, &b, sizeof(float)) != 0 ? 1 : 0;
        }
        EXPECT_EQ(differing, 0);
        const auto range = std::minmax_element(got.voxels().data(),
                                               got.voxels().data() + got.geometry().voxel_count());
        EXPECT_LT(*range.first, -0.5f);  // standardised values, not a constant
        EXPECT_GT(*range.second, 0.5f);
      }
    }
  }
}

TEST(Pipeline, AStepRefusingTheImageNamesTheStep) {
  const Pipeline pipeline = Pipeline::from_json_text(
      R"({"steps": [{"op": "min_max"}, {"op": "crop", "start": [0, 0, 0], "size": [500, 5, 5]}]})",
      "test");
  const Geometry g(Size3{10, 10, 10}, Vec3{0, 0, 0}, Vec3{1, 1, 1}, identity_matrix());
  try {
    pipeline.shapes({g, PixelType::uint8});
    FAIL() << "no error";
  } catch (const StepError& e) {
    EXPECT_EQ(e.step(), 2);
    EXPECT_EQ(e.op(), "crop");
  }
  const auto image =
      to_memory_space<DeviceMemory>(AnyImage<HostMemory>(Image<std::uint8_t, HostMemory>(g)));
  try {
    pipeline.run(image);
    FAIL() << "no error";
  } catch (const StepError& e) {
    EXPECT_EQ(e.step(), 2);
    EXPECT_NE(std::string(e.what()).find("step 2 (crop): crop: region start"), std::string::npos);
  }
}

TEST(Manifest, NamesOutputsAndRefusesCollisions) {
  const auto dir = test::scratch_dir();
  const auto path = (dir / "m.csv").string();
  std::ofstream(path) << "# a comment\ninput,output,modality,site\n"
                         "/data/a.nii.gz,,CT,\"Lyon, FR\"\n"
                         "/data/dicom/p7/,,MR,x\n"
                         "/data/b.h5:/scan,sub/b.nrrd,,\"say \"\"hi\"\"\"\n\n";
  const std::vector<ManifestRow> rows = read_manifest(path, ".nii");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].output, "a.nii");
  EXPECT_EQ(rows[0].fields.at("site"), "Lyon, FR");
  EXPECT_EQ(rows[1].output, "p7.nii");
  EXPECT_EQ(rows[2].input, "/data/b.h5:/scan");
  EXPECT_EQ(rows[2].output, "sub/b.nrrd");
  EXPECT_EQ(rows[2].fields.at("site"), "say \"hi\"");
  std::ofstream(path) << "input\n/x/a.nii.gz\n/y/a.nii\n";
  try {
    read_manifest(path, ".nii");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rows 1 and 2 both write 'a.nii'"), std::string::npos);
  }
}

}  // namespace
}  // namespace medimg
