// A pipeline: an ordered list of steps read from JSON, run on one image on
// the default device. The format (docs/pipeline.schema.json, docs/PIPELINES.md):
//
//   {"medimg_pipeline": 1,
//    "steps": [{"op": "reorient", "orientation": "RAS"},
//              {"op": "resample_to_spacing", "spacing": [1, 1, 1], "interp": "linear"},
//              {"op": "crop_or_pad", "size": [256, 256, 256], "value": -1024},
//              {"op": "window", "level": 40, "width": 400},
//              {"op": "z_score"}]}
//
// Every step is validated when the pipeline is loaded (unknown op, unknown
// or missing parameter, wrong type or value); errors name the step by
// number and op and the parameter ("step 2 (rotate): parameter 'degrees'
// must be a number"). Files a step names (reference images, masks,
// transforms) are read at load time. A step that fails while running throws
// StepError, which carries the step.
//
// Fusion: a resample onto a grid computed from the input (resample_to_spacing,
// resize) followed by crop / pad / crop_or_pad steps (with one pad value) runs
// as one pass that computes only the voxels kept (resample_region_as), bit for
// bit the result of the steps one by one. A window without an output map
// followed by z_score runs as one z_score that reads the voxels clipped
// (z_score_of_clipped), bit for bit the same too. A fused unit's time is
// reported on its first step, 0 on the steps fused into it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/core/image.hpp"
#include "medimg/core/output_buffer.hpp"

namespace medimg {

class StepError : public Error {
 public:
  StepError(int step, std::string op, const std::string& message)
      : Error("step " + std::to_string(step) + " (" + op + "): " + message),
        m_step(step),
        m_op(std::move(op)) {}
  int step() const { return m_step; }
  const std::string& op() const { return m_op; }

 private:
  int m_step;
  std::string m_op;
};

struct StepTiming {
  std::string op;
  double ms = 0.0;
};

// What a step produces, known without running it (memory planning).
struct ImageShape {
  Geometry grid;
  PixelType type = PixelType::float32;
};

// Where a run's augmentation steps (random_affine, random_flip) draw from:
// the run's seed and the item's index in its cohort, in place of the steps'
// own "seed" and "item" parameters (each step is its own stream, keyed by
// its number). `drawn`, when set, receives one JSON object per augmentation
// step run: what it drew ({"step", "op", and the op's values}), enough to
// make the output again (the batch report keeps them).
// With `keyed` false the steps keep their own seed and item and the context
// only records.
struct RandomContext {
  std::uint64_t seed = 0;
  std::uint64_t item = 0;
  std::vector<nlohmann::json>* drawn = nullptr;
  bool keyed = true;
};

struct PipelineStep;  // one compiled step (src/pipeline/pipeline.cpp)

// What the CLI's pipeline command adds to a run (both optional).
struct PipelineHooks {
  // The last step runs inside an OutputBuffer::Scope of this provider
  // (core/output_buffer.hpp: a .nii output mapped).
  OutputBuffer::Provider last_output;
  // Called with each step's output once it is made (a mapped input is
  // released when no output lies in its voxels any more).
  std::function<void(const AnyImage<DeviceMemory>&)> after_step;
};

class Pipeline {
 public:
  // `source` names the document in errors (a file name).
  static Pipeline from_json(const nlohmann::json& document, const std::string& source);
  static Pipeline from_json_text(const std::string& text, const std::string& source);
  static Pipeline load(const std::string& path);

  std::size_t size() const { return m_steps.size(); }
  // The op name of each step.
  std::vector<std::string> ops() const;

  // Runs the steps in order (each fenced, so `timings` are per step).
  AnyImage<DeviceMemory> run(AnyImage<DeviceMemory> image,
                             std::vector<StepTiming>* timings = nullptr,
                             RandomContext* random = nullptr,
                             const PipelineHooks& hooks = {}) const;

  // The output of every step for an input of this shape (throws StepError
  // as run would for a grid the step refuses).
  std::vector<ImageShape> shapes(const ImageShape& input) const;
  // Device bytes the run needs at its peak for an input of this shape: the
  // largest input + output (+ interpolation scratch) of any step.
  std::uint64_t peak_bytes(const ImageShape& input) const;

 private:
  std::vector<std::shared_ptr<const PipelineStep>> m_steps;
  // Runs of steps executed together: [first, last) of m_steps.
  std::vector<std::pair<std::size_t, std::size_t>> m_units;
  void plan_fusion();
  AnyImage<DeviceMemory> run_fused(const AnyImage<DeviceMemory>& image, std::size_t first,
                                   std::size_t last) const;
};

// The op table as JSON: {op: {"parameters": {name: {"type", "required"}},
// "description"}}; tests compare it with docs/pipeline.schema.json.
nlohmann::json pipeline_ops_description();

}  // namespace medimg
