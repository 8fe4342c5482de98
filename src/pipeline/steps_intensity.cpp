// The intensity steps of a pipeline (include/medimg/ops/intensity.hpp). Files
// they name (a mask, a histogram reference) are read once, when the pipeline
// is loaded; the reference is kept as its landmarks only.
#include "medimg/io/image_io.hpp"
#include "medimg/ops/intensity.hpp"
#include "steps.hpp"

namespace medimg {

namespace {

PixelType real_type(PixelType in) {
  return in == PixelType::float64 ? PixelType::float64 : PixelType::float32;
}

ImageShape same_type(const ImageShape& in) {
  return in;
}

ImageShape real_output(const ImageShape& in) {
  return ImageShape{in.grid, real_type(in.type)};
}

AnyImage<HostMemory> read_image(const StepReader& r, const char* name) {
  return read_step_file(r, name, [](const std::string& path) { return load_image(path); });
}

PipelineStep build_clip(const StepReader& r) {
  const double low = r.number("min"), high = r.number("max");
  if (low > high) r.fail("parameter 'min' must be <= 'max'");
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return clip(t, low, high); });
  };
  s.shape = same_type;
  return s;
}

PipelineStep build_percentile_clip(const StepReader& r) {
  const double low = r.number("low"), high = r.number("high");
  for (const char* name : {"low", "high"}) {
    const double q = r.number(name);
    if (q < 0.0 || q > 100.0) r.bad(name, "a percentile in [0, 100]");
  }
  if (low > high) r.fail("parameter 'low' must be <= 'high'");
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return percentile_clip(t, low, high); });
  };
  s.shape = same_type;
  s.scratch_bytes_per_voxel = 0.0;
  return s;
}

PipelineStep build_window(const StepReader& r) {
  const bool by_level = r.has("level") || r.has("width");
  const bool by_bounds = r.has("min") || r.has("max");
  if (by_level == by_bounds) {
    r.fail("give either 'level' and 'width' or 'min' and 'max'");
  }
  double level = 0.0, width = 0.0;
  if (by_level) {
    level = r.number("level");
    width = r.positive("width");
  } else {
    const double low = r.number("min"), high = r.number("max");
    if (!(low < high)) r.fail("parameter 'min' must be < 'max'");
    level = (low + high) / 2;
    width = high - low;
  }
  PipelineStep s = r.step();
  if (r.has("output")) {
    const auto [out_min, out_max] = r.range("output");
    s.apply = [=, out_min = out_min, out_max = out_max](const DeviceImage& image) {
      return on_pixels(image,
                       [&](const auto& t) { return window(t, level, width, out_min, out_max); });
    };
    s.shape = real_output;
  } else {
    s.apply = [=](const DeviceImage& image) {
      return on_pixels(image, [&](const auto& t) { return window(t, level, width); });
    };
    s.shape = same_type;
    s.clips = true;  // window(level, width) is clip(level - width / 2, level + width / 2)
    s.clip_low = level - width / 2;
    s.clip_high = level + width / 2;
  }
  return s;
}

PipelineStep build_min_max(const StepReader& r) {
  PipelineStep s = r.step();
  s.apply = [](const DeviceImage& image) {
    return on_pixels(image, [](const auto& t) { return min_max(t); });
  };
  s.shape = real_output;
  return s;
}

PipelineStep build_z_score(const StepReader& r) {
  Selection<DeviceMemory> selection;
  if (r.has("over")) {
    const std::string over = r.text("over");
    if (over != "all" && over != "nonzero") r.bad("over", "\"all\" or \"nonzero\"");
    selection.nonzero_only = over == "nonzero";
  }
  if (r.has("mask")) {
    if (r.has("over")) r.fail("give 'over' or 'mask', not both");
    const auto labels = to_memory_space<DeviceMemory>(read_image(r, "mask"));
    selection.mask = std::visit([](const auto& t) { return mask_of(t); }, labels);
  }
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return z_score(t, selection); });
  };
  s.apply_clipped = [=](const DeviceImage& image, double low, double high) {
    return on_pixels(image,
                     [&](const auto& t) { return z_score_of_clipped(t, low, high, selection); });
  };
  s.shape = real_output;
  return s;
}

PipelineStep build_rescale(const StepReader& r) {
  const double slope = r.number("slope"), intercept = r.number("intercept");
  if (slope == 0.0) r.bad("slope", "a non-zero number");
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image,
                     [&](const auto& t) { return rescale_slope_intercept(t, slope, intercept); });
  };
  s.shape = real_output;
  return s;
}

PipelineStep build_histogram_match(const StepReader& r) {
  HistogramMatchOptions options;
  options.match_points = static_cast<int>(r.integer("match_points", 7, 0, 1000));
  options.threshold_at_mean = r.boolean("threshold_at_mean", true);
  const auto reference = to_memory_space<DeviceMemory>(read_image(r, "reference"));
  std::vector<double> landmarks;
  try {
    landmarks = std::visit(
        [&options](const auto& t) {
          return histogram_landmarks(Kokkos::DefaultExecutionSpace(), t, options);
        },
        reference);
  } catch (const Error& e) {
    r.fail(std::string("parameter 'reference': ") + e.what());
  }
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) {
      return histogram_match(Kokkos::DefaultExecutionSpace(), t, landmarks, options);
    });
  };
  s.shape = real_output;
  s.scratch_bytes_per_voxel = 1.0;  // the above-the-mean mask
  return s;
}

}  // namespace

void add_intensity_ops(std::vector<OpInfo>& t) {
  t.push_back({"clip",
               "clip values to [min, max]",
               {{"min", "number", true}, {"max", "number", true}},
               build_clip});
  t.push_back({"percentile_clip",
               "clip to the image's own low and high percentiles",
               {{"low", "percentile", true}, {"high", "percentile", true}},
               build_percentile_clip});
  t.push_back({"window",
               "CT window: clip to level +- width/2 (or min..max), optionally mapped onto 'output'",
               {{"level", "number", false},
                {"width", "positive_number", false},
                {"min", "number", false},
                {"max", "number", false},
                {"output", "range", false}},
               build_window});
  t.push_back({"min_max", "rescale to [0, 1]", {}, build_min_max});
  t.push_back({"z_score",
               "(x - mean) / std over all, the non-zero, or the masked voxels",
               {{"over", "over", false}, {"mask", "path", false}},
               build_z_score});
  t.push_back({"rescale",
               "DICOM rescale: x * slope + intercept",
               {{"slope", "number", true}, {"intercept", "number", true}},
               build_rescale});
  t.push_back({"histogram_match",
               "match the histogram to a reference image's (quantile landmarks)",
               {{"reference", "path", true},
                {"match_points", "integer", false},
                {"threshold_at_mean", "boolean", false}},
               build_histogram_match});
}

}  // namespace medimg
