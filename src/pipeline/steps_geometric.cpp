// The geometric steps of a pipeline: every op of include/medimg/ops plus
// crop_or_pad and cast. Each step's shape() applies the op's metadata rule
// from geometry_rules.hpp, so a batch can plan memory before reading voxels.
#include "medimg/io/image_io.hpp"
#include "medimg/io/transform_io.hpp"
#include "medimg/ops/affine.hpp"
#include "medimg/ops/cast.hpp"
#include "medimg/ops/change_orientation.hpp"
#include "medimg/ops/crop.hpp"
#include "medimg/ops/crop_or_pad.hpp"
#include "medimg/ops/flip.hpp"
#include "medimg/ops/pad.hpp"
#include "medimg/ops/resample_to_image.hpp"
#include "medimg/ops/resample_to_spacing.hpp"
#include "medimg/ops/resize.hpp"
#include "medimg/ops/rotate.hpp"
#include "medimg/ops/scale.hpp"
#include "medimg/ops/translate.hpp"
#include "steps.hpp"

namespace medimg {

namespace {

// B-spline interpolation keeps a coefficient image (float or double).
double interp_scratch(Interp interp) {
  return interp == Interp::bspline ? 8.0 : 0.0;
}

// A step that keeps the grid's size and placement.
ImageShape same_shape(const ImageShape& in) {
  return in;
}

std::string orientation(const StepReader& r, const char* name) {
  const std::string code = r.text(name);
  try {
    direction_from_code(code);
  } catch (const Error&) {
    r.bad(name, "an orientation code of 3 letters from R/L, A/P, S/I, one of each (e.g. \"RAS\")");
  }
  return code;
}

Axis axis(const StepReader& r, const char* name) {
  try {
    return parse_axis(r.text(name));
  } catch (const Error&) {
    r.bad(name, "\"i\", \"j\", \"k\" (or \"x\", \"y\", \"z\")");
  }
}

PipelineStep build_resample_to_spacing(const StepReader& r) {
  const Vec3 spacing = r.vec3("spacing", true);
  const Interp interp = r.interp("interp", Interp::linear);
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return resample_to_spacing(t, spacing, interp); });
  };
  s.shape = [=](const ImageShape& in) {
    return ImageShape{spacing_grid(in.grid, spacing), in.type};
  };
  s.scratch_bytes_per_voxel = interp_scratch(interp);
  s.resample_grid = [=](const Geometry& g) { return spacing_grid(g, spacing); };
  s.interp = interp;
  return s;
}

PipelineStep build_resample_to_image(const StepReader& r) {
  const Geometry fixed = read_step_file(
      r, "reference", [](const std::string& path) { return geometry(load_image(path)); });
  const Interp interp = r.interp("interp", Interp::linear);
  const double fill = r.number("fill", 0.0);
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image,
                     [&](const auto& t) { return resample_to_image(fixed, t, interp, fill); });
  };
  s.shape = [=](const ImageShape& in) { return ImageShape{fixed, in.type}; };
  s.scratch_bytes_per_voxel = interp_scratch(interp);
  return s;
}

PipelineStep build_reorient(const StepReader& r) {
  const std::string code = orientation(r, "orientation");
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return change_orientation(t, code); });
  };
  s.shape = [=](const ImageShape& in) {
    return ImageShape{reorientation(in.grid, code).grid, in.type};
  };
  return s;
}

PipelineStep build_rotate(const StepReader& r) {
  const Axis a = axis(r, "axis");
  const double degrees = r.number("degrees");
  const Interp interp = r.interp("interp", Interp::linear);
  const double fill = r.number("fill", 0.0);
  const bool expand = r.boolean("expand", false);
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image,
                     [&](const auto& t) { return rotate(t, a, degrees, interp, fill, expand); });
  };
  s.shape = [=](const ImageShape& in) {
    return ImageShape{expand ? expanded_grid(in.grid, a, degrees) : in.grid, in.type};
  };
  s.scratch_bytes_per_voxel = interp_scratch(interp);
  return s;
}

PipelineStep build_scale(const StepReader& r) {
  const Vec3 factors = r.vec3("factors", true);
  const Interp interp = r.interp("interp", Interp::linear);
  const double fill = r.number("fill", 0.0);
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return scale(t, factors, interp, fill); });
  };
  s.shape = same_shape;
  s.scratch_bytes_per_voxel = interp_scratch(interp);
  return s;
}

PipelineStep build_resize(const StepReader& r) {
  const Size3 size = r.size3("size", 1);
  const Interp interp = r.interp("interp", Interp::linear);
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return resize(t, size, interp); });
  };
  s.shape = [=](const ImageShape& in) { return ImageShape{resized_grid(in.grid, size), in.type}; };
  s.scratch_bytes_per_voxel = interp_scratch(interp);
  s.resample_grid = [=](const Geometry& g) { return resized_grid(g, size); };
  s.interp = interp;
  return s;
}

PipelineStep build_translate(const StepReader& r) {
  const Vec3 offset = r.vec3("offset", false);
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return translate(t, offset); });
  };
  s.shape = [=](const ImageShape& in) {
    const Geometry& g = in.grid;
    Vec3 origin = g.origin();
    for (int a = 0; a < 3; ++a) origin[a] += offset[a];
    return ImageShape{Geometry(g.size(), origin, g.spacing(), g.direction()), in.type};
  };
  return s;
}

PipelineStep build_translate_resample(const StepReader& r) {
  const Vec3 offset = r.vec3("offset", false);
  const Interp interp = r.interp("interp", Interp::linear);
  const double fill = r.number("fill", 0.0);
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image,
                     [&](const auto& t) { return translate_resample(t, offset, interp, fill); });
  };
  s.shape = same_shape;
  s.scratch_bytes_per_voxel = interp_scratch(interp);
  return s;
}

PipelineStep build_affine(const StepReader& r) {
  const AffineTransform transform = read_step_file(
      r, "transform", [](const std::string& path) { return load_transform(path).affine(); });
  const Interp interp = r.interp("interp", Interp::linear);
  const double fill = r.number("fill", 0.0);
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return affine(t, transform, interp, fill); });
  };
  s.shape = same_shape;
  s.scratch_bytes_per_voxel = interp_scratch(interp);
  return s;
}

PipelineStep build_crop(const StepReader& r) {
  const Size3 start = r.size3("start", 0);
  const Size3 size = r.size3("size", 1);
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return crop(t, start, size); });
  };
  s.shape = [=](const ImageShape& in) {
    return ImageShape{cropped_grid(in.grid, start, size), in.type};
  };
  s.region = [=](const Geometry& g) {
    cropped_grid(g, start, size);  // the same checks as the step
    return std::make_pair(start, size);
  };
  return s;
}

PipelineStep build_pad(const StepReader& r) {
  const Size3 before = r.size3("before", 0);
  const Size3 after = r.size3("after", 0);
  const double value = r.number("value", 0.0);
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return pad(t, before, after, value); });
  };
  s.shape = [=](const ImageShape& in) {
    return ImageShape{padded_grid(in.grid, before, after), in.type};
  };
  s.region = [=](const Geometry& g) {
    const Geometry padded = padded_grid(g, before, after);
    return std::make_pair(Size3{-before[0], -before[1], -before[2]}, padded.size());
  };
  s.pads = true;
  s.pad_value = value;
  return s;
}

PipelineStep build_flip(const StepReader& r) {
  const Axis a = axis(r, "axis");
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return flip(t, a); });
  };
  s.shape = same_shape;
  return s;
}

PipelineStep build_crop_or_pad(const StepReader& r) {
  const Size3 size = r.size3("size", 1);
  const double value = r.number("value", 0.0);
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) {
    return on_pixels(image, [&](const auto& t) { return crop_or_pad(t, size, value); });
  };
  s.shape = [=](const ImageShape& in) {
    return ImageShape{region_grid(in.grid, centered_region_start(in.grid, size), size), in.type};
  };
  s.region = [=](const Geometry& g) {
    return std::make_pair(centered_region_start(g, size), size);
  };
  s.pads = true;
  s.pad_value = value;
  return s;
}

PipelineStep build_cast(const StepReader& r) {
  PixelType type = PixelType::float32;
  try {
    type = parse_pixel_type(r.text("type"));
  } catch (const Error&) {
    r.bad("type", "a pixel type (uint8, int16, uint16, int32, float32, float64)");
  }
  PipelineStep s = r.step();
  s.apply = [=](const DeviceImage& image) { return cast_to(image, type); };
  s.shape = [=](const ImageShape& in) { return ImageShape{in.grid, type}; };
  return s;
}

}  // namespace

void add_geometric_ops(std::vector<OpInfo>& t) {
  const ParamInfo interp{"interp", "interp", false};
  const ParamInfo fill{"fill", "number", false};
  t.push_back({"resample_to_spacing",
               "resample to a new spacing (mm), same extent",
               {{"spacing", "positive_vec3", true}, interp},
               build_resample_to_spacing});
  t.push_back({"resample_to_image",
               "resample onto a reference image's grid",
               {{"reference", "path", true}, interp, fill},
               build_resample_to_image});
  t.push_back({"reorient",
               "permute/flip axes to an orientation code (e.g. RAS)",
               {{"orientation", "orientation", true}},
               build_reorient});
  t.push_back({"rotate",
               "rotate about the image's own axis through its centre",
               {{"axis", "axis", true},
                {"degrees", "number", true},
                interp,
                fill,
                {"expand", "boolean", false}},
               build_rotate});
  t.push_back({"scale",
               "zoom by factors about the centre, grid kept",
               {{"factors", "positive_vec3", true}, interp, fill},
               build_scale});
  t.push_back({"resize",
               "resample to a voxel count, same extent",
               {{"size", "positive_size3", true}, interp},
               build_resize});
  t.push_back({"translate",
               "move the origin by an offset (mm), voxels kept",
               {{"offset", "vec3", true}},
               build_translate});
  t.push_back({"translate_resample",
               "move the content by an offset (mm), grid kept",
               {{"offset", "vec3", true}, interp, fill},
               build_translate_resample});
  t.push_back({"affine",
               "resample through an ITK transform file (output -> input point)",
               {{"transform", "path", true}, interp, fill},
               build_affine});
  t.push_back({"crop",
               "keep the voxels [start, start + size)",
               {{"start", "nonnegative_size3", true}, {"size", "positive_size3", true}},
               build_crop});
  t.push_back({"pad",
               "add voxels before and after each axis",
               {{"before", "nonnegative_size3", true},
                {"after", "nonnegative_size3", true},
                {"value", "number", false}},
               build_pad});
  t.push_back({"flip", "mirror along an axis", {{"axis", "axis", true}}, build_flip});
  t.push_back({"crop_or_pad",
               "crop or pad to a size around the centre",
               {{"size", "positive_size3", true}, {"value", "number", false}},
               build_crop_or_pad});
  t.push_back({"cast",
               "convert the pixel type (integers round and clamp)",
               {{"type", "pixel_type", true}},
               build_cast});
}

}  // namespace medimg
