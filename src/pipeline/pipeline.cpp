#include "medimg/pipeline/pipeline.hpp"

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include "medimg/core/message.hpp"
#include "medimg/resample/resample.hpp"
#include "steps.hpp"

namespace medimg {

namespace {

const std::vector<OpInfo>& op_table() {
  static const std::vector<OpInfo> table = [] {
    std::vector<OpInfo> t;
    add_geometric_ops(t);
    add_intensity_ops(t);
    add_augment_ops(t);
    return t;
  }();
  return table;
}

std::string known_ops() {
  std::string names;
  for (const OpInfo& op : op_table()) names += (names.empty() ? "" : ", ") + std::string(op.name);
  return names;
}

std::uint64_t bytes_of(const ImageShape& shape) {
  return static_cast<std::uint64_t>(shape.grid.voxel_count()) * pixel_size(shape.type);
}

}  // namespace

StepReader::StepReader(const nlohmann::json& step, int number, std::string op,
                       std::vector<ParamInfo> params)
    : m_step(step), m_number(number), m_op(std::move(op)) {
  std::string expected;
  for (const ParamInfo& p : params)
    expected += (expected.empty() ? "" : ", ") + std::string(p.name);
  for (const auto& item : step.items()) {
    if (item.key() == "op") continue;
    bool known = false;
    for (const ParamInfo& p : params) known = known || item.key() == p.name;
    if (!known) {
      fail("unknown parameter '" + item.key() + "'" +
           (expected.empty() ? " (it takes none)" : "; expected: " + expected));
    }
  }
  for (const ParamInfo& p : params) {
    if (p.required && !step.contains(p.name))
      fail("missing parameter '" + std::string(p.name) + "'");
  }
}

void StepReader::fail(const std::string& message) const {
  throw StepError(m_number, m_op, message);
}

void StepReader::bad(const char* name, const std::string& expected) const {
  fail("parameter '" + std::string(name) + "' must be " + expected + ", got " + value(name).dump());
}

bool StepReader::has(const char* name) const {
  return m_step.contains(name);
}

const nlohmann::json& StepReader::value(const char* name) const {
  if (!m_step.contains(name)) fail("missing parameter '" + std::string(name) + "'");
  return m_step.at(name);
}

double StepReader::number(const char* name) const {
  const nlohmann::json& v = value(name);
  if (!v.is_number() || !std::isfinite(v.get<double>())) bad(name, "a finite number");
  return v.get<double>();
}

double StepReader::number(const char* name, double fallback) const {
  return has(name) ? number(name) : fallback;
}

double StepReader::positive(const char* name) const {
  const double x = number(name);
  if (!(x > 0.0)) bad(name, "a positive number");
  return x;
}

std::int64_t StepReader::integer(const char* name, std::int64_t fallback, std::int64_t low,
                                 std::int64_t high) const {
  if (!has(name)) return fallback;
  const nlohmann::json& v = value(name);
  const std::string expected =
      "an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "]";
  if (!v.is_number_integer()) bad(name, expected);
  const auto x = v.get<std::int64_t>();
  if (x < low || x > high) bad(name, expected);
  return x;
}

bool StepReader::boolean(const char* name, bool fallback) const {
  if (!has(name)) return fallback;
  if (!value(name).is_boolean()) bad(name, "true or false");
  return value(name).get<bool>();
}

std::string StepReader::text(const char* name) const {
  const nlohmann::json& v = value(name);
  if (!v.is_string() || v.get<std::string>().empty()) bad(name, "a non-empty string");
  return v.get<std::string>();
}

std::string StepReader::text(const char* name, const std::string& fallback) const {
  return has(name) ? text(name) : fallback;
}

Vec3 StepReader::vec3(const char* name, bool positive_only) const {
  const nlohmann::json& v = value(name);
  const std::string expected =
      positive_only ? "an array of 3 positive numbers" : "an array of 3 finite numbers";
  if (!v.is_array() || v.size() != 3) bad(name, expected);
  Vec3 out;
  for (std::size_t a = 0; a < 3; ++a) {
    if (!v[a].is_number() || !std::isfinite(v[a].get<double>())) bad(name, expected);
    out[a] = v[a].get<double>();
    if (positive_only && !(out[a] > 0.0)) bad(name, expected);
  }
  return out;
}

Size3 StepReader::size3(const char* name, std::int64_t minimum) const {
  const nlohmann::json& v = value(name);
  const std::string expected = "an array of 3 integers >= " + std::to_string(minimum);
  if (!v.is_array() || v.size() != 3) bad(name, expected);
  Size3 out;
  for (std::size_t a = 0; a < 3; ++a) {
    if (!v[a].is_number_integer() || v[a].get<std::int64_t>() < minimum) bad(name, expected);
    out[a] = v[a].get<std::int64_t>();
  }
  return out;
}

std::uint64_t StepReader::seed(const char* name) const {
  if (!has(name)) return 0;
  const nlohmann::json& v = value(name);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
    bad(name, "an integer >= 0");
  }
  return v.get<std::uint64_t>();
}

std::pair<double, double> StepReader::range(const char* name) const {
  const nlohmann::json& v = value(name);
  const std::string expected = "[low, high], two finite numbers with low <= high";
  if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number()) {
    bad(name, expected);
  }
  const double low = v[0].get<double>(), high = v[1].get<double>();
  if (!std::isfinite(low) || !std::isfinite(high) || low > high) bad(name, expected);
  return {low, high};
}

Interp StepReader::interp(const char* name, Interp fallback) const {
  if (!has(name)) return fallback;
  const nlohmann::json& v = value(name);
  // The three names only (the schema's enum), not parse_interp's aliases.
  for (const Interp interp : {Interp::nearest, Interp::linear, Interp::bspline}) {
    if (v.is_string() && v.get<std::string>() == to_string(interp)) return interp;
  }
  bad(name, "\"nearest\", \"linear\" or \"bspline\"");
}

PipelineStep StepReader::step() const {
  PipelineStep s;
  s.number = m_number;
  s.op = m_op;
  return s;
}

Pipeline Pipeline::from_json(const nlohmann::json& document, const std::string& source) {
  const auto fail = [&source](const std::string& message) {
    // one_line: a key or value quoted from the document may hold newlines.
    throw Error(one_line("pipeline '" + source + "': " + message));
  };
  if (!document.is_object()) fail("must be a JSON object with \"steps\"");
  for (const auto& item : document.items()) {
    if (item.key() != "medimg_pipeline" && item.key() != "steps" && item.key() != "name" &&
        item.key() != "description") {
      fail("unknown key '" + item.key() + "'; expected: medimg_pipeline, steps, name, description");
    }
  }
  if (document.contains("medimg_pipeline") && document["medimg_pipeline"] != 1) {
    fail("\"medimg_pipeline\" must be 1 (the format version this medimg reads)");
  }
  if (!document.contains("steps") || !document["steps"].is_array()) {
    fail("\"steps\" must be an array of steps");
  }
  Pipeline pipeline;
  int number = 0;
  for (const nlohmann::json& step : document["steps"]) {
    ++number;
    try {
      if (!step.is_object() || !step.contains("op") || !step["op"].is_string()) {
        throw StepError(number, "?", "a step is an object with a string \"op\"");
      }
      const std::string op = step["op"].get<std::string>();
      const OpInfo* info = nullptr;
      for (const OpInfo& candidate : op_table()) {
        if (op == candidate.name) info = &candidate;
      }
      if (info == nullptr) {
        throw StepError(number, op, "unknown op; known ops: " + known_ops());
      }
      const StepReader reader(step, number, op, info->params);
      pipeline.m_steps.push_back(std::make_shared<const PipelineStep>(info->build(reader)));
    } catch (const Error& e) {
      fail(e.what());
    }
  }
  if (number == 0) fail("\"steps\" is empty");
  pipeline.plan_fusion();
  return pipeline;
}

Pipeline Pipeline::from_json_text(const std::string& text, const std::string& source) {
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for a number past double's range
    // ("1E444..."; fuzz/ found it ending the process).
    throw Error("pipeline '" + source + "': not valid JSON: " + e.what());
  }
  return from_json(document, source);
}

Pipeline Pipeline::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read pipeline '" + path + "': no such file or not readable");
  std::stringstream text;
  text << in.rdbuf();
  return from_json_text(text.str(), path);
}

std::vector<std::string> Pipeline::ops() const {
  std::vector<std::string> names;
  for (const auto& step : m_steps) names.push_back(step->op);
  return names;
}

void Pipeline::plan_fusion() {
  m_units.clear();
  std::size_t s = 0;
  while (s < m_steps.size()) {
    std::size_t last = s + 1;
    if (m_steps[s]->resample_grid) {
      bool padding = false;
      double pad = 0.0;
      while (last < m_steps.size() && m_steps[last]->region) {
        const PipelineStep& step = *m_steps[last];
        if (step.pads) {
          if (padding && step.pad_value != pad) break;
          padding = true;
          pad = step.pad_value;
        }
        ++last;
      }
    }
    if (m_steps[s]->clips && s + 1 < m_steps.size() && m_steps[s + 1]->apply_clipped) {
      last = s + 2;
    }
    m_units.emplace_back(s, last);
    s = last;
  }
}

AnyImage<DeviceMemory> Pipeline::run_fused(const AnyImage<DeviceMemory>& image, std::size_t first,
                                           std::size_t last) const {
  if (m_steps[first]->clips) {
    const PipelineStep& clip = *m_steps[first];
    const PipelineStep& next = *m_steps[first + 1];
    try {
      return next.apply_clipped(image, clip.clip_low, clip.clip_high);
    } catch (const std::exception& e) {
      throw StepError(next.number, next.op, e.what());
    }
  }
  const PipelineStep& resample = *m_steps[first];
  Geometry grid;
  try {
    grid = resample.resample_grid(geometry(image));
  } catch (const std::exception& e) {
    throw StepError(resample.number, resample.op, e.what());
  }
  // The region kept so far (start, size) and the grid voxels still in it
  // (keep: the intersection of every region; the rest of the region is
  // padding), in the resampled grid's index.
  Size3 start{0, 0, 0};
  Size3 size = grid.size();
  Size3 keep_lo{0, 0, 0};
  Size3 keep_hi = grid.size();
  double pad = 0.0;
  for (std::size_t s = first + 1; s < last; ++s) {
    const PipelineStep& step = *m_steps[s];
    try {
      const auto [offset, kept] = step.region(region_grid(grid, start, size));
      for (int a = 0; a < 3; ++a) {
        start[a] += offset[a];
        keep_lo[a] = std::max(keep_lo[a], start[a]);
        keep_hi[a] = std::min(keep_hi[a], start[a] + kept[a]);
      }
      size = kept;
    } catch (const std::exception& e) {
      throw StepError(step.number, step.op, e.what());
    }
    if (step.pads) pad = step.pad_value;
  }
  try {
    return on_pixels(image, [&](const auto& typed) {
      using T = typename std::decay_t<decltype(typed)>::value_type;
      const Kokkos::DefaultExecutionSpace exec;
      const Sampler<T, DeviceMemory> sampler(exec, typed, resample.interp);
      return resample_region_as<T>(exec, grid, start, size, keep_lo, keep_hi, sampler,
                                   AffineTransform(), 0.0, pad);
    });
  } catch (const std::exception& e) {
    throw StepError(resample.number, resample.op, e.what());
  }
}

AnyImage<DeviceMemory> Pipeline::run(AnyImage<DeviceMemory> image, std::vector<StepTiming>* timings,
                                     RandomContext* random, const PipelineHooks& hooks) const {
  for (const auto& [first, last] : m_units) {
    const PipelineStep& step = *m_steps[first];
    const auto start = std::chrono::steady_clock::now();
    std::optional<OutputBuffer::Scope> output_buffer;
    if (hooks.last_output && last == m_steps.size()) output_buffer.emplace(hooks.last_output);
    try {
      if (last - first > 1) {
        image = run_fused(image, first, last);
      } else {
        image = step.apply_random ? step.apply_random(image, random) : step.apply(image);
      }
      Kokkos::fence();
    } catch (const StepError&) {
      throw;
    } catch (const std::exception& e) {
      throw StepError(step.number, step.op, e.what());
    }
    if (timings != nullptr) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      timings->push_back({step.op, ms});
      for (std::size_t s = first + 1; s < last; ++s) timings->push_back({m_steps[s]->op, 0.0});
    }
    if (hooks.after_step) hooks.after_step(image);
  }
  return image;
}

std::vector<ImageShape> Pipeline::shapes(const ImageShape& input) const {
  std::vector<ImageShape> out;
  ImageShape current = input;
  for (const auto& step : m_steps) {
    try {
      current = step->shape(current);
    } catch (const StepError&) {
      throw;
    } catch (const std::exception& e) {
      throw StepError(step->number, step->op, e.what());
    }
    out.push_back(current);
  }
  return out;
}

std::uint64_t Pipeline::peak_bytes(const ImageShape& input) const {
  std::uint64_t peak = bytes_of(input);
  ImageShape current = input;
  for (const auto& step : m_steps) {
    const ImageShape next = step->shape(current);
    const double scratch =
        step->scratch_bytes_per_voxel * static_cast<double>(current.grid.voxel_count());
    peak = std::max(peak, bytes_of(current) + bytes_of(next) + static_cast<std::uint64_t>(scratch));
    current = next;
  }
  return peak;
}

nlohmann::json pipeline_ops_description() {
  nlohmann::json ops = nlohmann::json::object();
  for (const OpInfo& op : op_table()) {
    nlohmann::json params = nlohmann::json::object();
    for (const ParamInfo& p : op.params) {
      params[p.name] = {{"type", p.type}, {"required", p.required}};
    }
    ops[op.name] = {{"description", op.description}, {"parameters", params}};
  }
  return ops;
}

}  // namespace medimg
