// Private to src/pipeline: the compiled form of a step, the reader that
// validates a step's parameters, and the op table's builders (geometric ops
// in steps_geometric.cpp, intensity ops in steps_intensity.cpp).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "medimg/interp/interpolator.hpp"
#include "medimg/pipeline/pipeline.hpp"

namespace medimg {

using DeviceImage = AnyImage<DeviceMemory>;

struct PipelineStep {
  int number = 0;
  std::string op;
  std::function<DeviceImage(const DeviceImage&)> apply;
  // Augmentation steps (steps_augment.cpp) instead of `apply`: the run's
  // RandomContext, or null for the step's own seed and item.
  std::function<DeviceImage(const DeviceImage&, RandomContext*)> apply_random;
  std::function<ImageShape(const ImageShape&)> shape;
  // Extra device bytes per input voxel while the step runs (B-spline
  // coefficients, masks).
  double scratch_bytes_per_voxel = 0.0;

  // Fusion (Pipeline::run): a resample onto a grid computed from the input
  // grid (resample_to_spacing, resize) followed by region steps (crop, pad,
  // crop_or_pad) runs as one resample_region_as, bit for bit the same.
  std::function<Geometry(const Geometry&)> resample_grid;  // set by resampling steps
  Interp interp = Interp::linear;
  // Region steps: the first index (in the current grid) and size they keep.
  std::function<std::pair<Size3, Size3>(const Geometry&)> region;
  bool pads = false;  // region steps that add voxels, with this value
  double pad_value = 0.0;
  // A clip (window without an output map) followed by a step that can read
  // its input clipped (z_score) runs as that step's apply_clipped, bit for
  // bit the same.
  bool clips = false;
  double clip_low = 0.0, clip_high = 0.0;
  std::function<DeviceImage(const DeviceImage&, double, double)> apply_clipped;
};

// Parameter kinds, as named in docs/pipeline.schema.json's descriptions.
struct ParamInfo {
  const char* name;
  const char* type;
  bool required;
};

class StepReader {
 public:
  StepReader(const nlohmann::json& step, int number, std::string op, std::vector<ParamInfo> params);

  [[noreturn]] void fail(const std::string& message) const;
  [[noreturn]] void bad(const char* name, const std::string& expected) const;

  bool has(const char* name) const;
  // The parameter as given (for kinds read by the step's own builder).
  const nlohmann::json& raw(const char* name) const { return value(name); }
  // A non-negative integer (a seed or an item index), 0 when not given.
  std::uint64_t seed(const char* name) const;
  double number(const char* name, double fallback) const;
  double number(const char* name) const;
  double positive(const char* name) const;
  std::int64_t integer(const char* name, std::int64_t fallback, std::int64_t low,
                       std::int64_t high) const;
  bool boolean(const char* name, bool fallback) const;
  std::string text(const char* name, const std::string& fallback) const;
  std::string text(const char* name) const;
  Vec3 vec3(const char* name, bool positive) const;
  Size3 size3(const char* name, std::int64_t minimum) const;
  // [low, high] with low <= high.
  std::pair<double, double> range(const char* name) const;
  Interp interp(const char* name, Interp fallback) const;

  PipelineStep step() const;  // number and op filled in

 private:
  const nlohmann::json& value(const char* name) const;
  const nlohmann::json& m_step;
  int m_number;
  std::string m_op;
};

using StepBuilder = std::function<PipelineStep(const StepReader&)>;

struct OpInfo {
  const char* name;
  const char* description;
  std::vector<ParamInfo> params;
  StepBuilder build;
};

void add_geometric_ops(std::vector<OpInfo>& table);
void add_intensity_ops(std::vector<OpInfo>& table);
void add_augment_ops(std::vector<OpInfo>& table);

// read(path) for the file a step's parameter names (read when the pipeline
// is loaded); a failure names the step and the parameter.
template <class Read>
auto read_step_file(const StepReader& r, const char* name, Read&& read) {
  const std::string path = r.text(name);
  try {
    return read(path);
  } catch (const Error& e) {
    r.fail(std::string("parameter '") + name + "': " + e.what());
  }
}

// Applies f(typed image) to whichever pixel type `image` holds.
template <class F>
DeviceImage on_pixels(const DeviceImage& image, F&& f) {
  return std::visit([&f](const auto& typed) -> DeviceImage { return f(typed); }, image);
}

}  // namespace medimg
