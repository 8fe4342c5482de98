// The augmentation steps of a pipeline (ops/augment*.hpp): random_affine,
// random_flip, random_elastic and random_intensity. Each draws from (seed, item, step number): the
// step's own "seed" and "item" parameters (default 0), or, when the pipeline runs with a
// RandomContext (`medimg batch --seed`), the run's seed and the item's index in the cohort. What a
// step drew is recorded in the context.
#include <nlohmann/json.hpp>

#include "medimg/ops/augment.hpp"
#include "medimg/ops/augment_elastic.hpp"
#include "medimg/ops/augment_intensity.hpp"
#include "steps.hpp"

namespace medimg {

namespace {

// A [low, high] for every axis, or three of them (one per axis i, j, k).
std::array<Range, 3> axis_ranges(const StepReader& r, const char* name, const Range& fallback) {
  if (!r.has(name)) return {fallback, fallback, fallback};
  const nlohmann::json& v = r.raw(name);
  const auto one = [&](const nlohmann::json& x, Range& out) {
    if (!x.is_array() || x.size() != 2 || !x[0].is_number() || !x[1].is_number()) return false;
    out = {x[0].get<double>(), x[1].get<double>()};
    return std::isfinite(out.first) && std::isfinite(out.second) && out.first <= out.second;
  };
  std::array<Range, 3> out;
  if (one(v, out[0])) return {out[0], out[0], out[0]};
  if (v.is_array() && v.size() == 3 && one(v[0], out[0]) && one(v[1], out[1]) &&
      one(v[2], out[2])) {
    return out;
  }
  r.bad(name, "[low, high] (every axis) or three of them (axes i, j, k), low <= high");
}

RandomKey key_of(std::uint64_t seed, std::uint64_t item, const RandomContext* context, int number) {
  if (context && context->keyed) {
    return RandomKey{context->seed, context->item, static_cast<std::uint32_t>(number)};
  }
  return RandomKey{seed, item, static_cast<std::uint32_t>(number)};
}

nlohmann::json to_json(const Vec3& v) {
  return nlohmann::json::array({v[0], v[1], v[2]});
}

// The step of a random op: run(image, key, draw) makes the output and fills
// the draw, record(draw) says what was drawn (JSON, with the step's number
// and op added).
template <class Draw, class Run, class Record>
PipelineStep random_step(const StepReader& r, const char* op, Run run, Record record) {
  const std::uint64_t seed = r.seed("seed");
  const std::uint64_t item = r.seed("item");
  PipelineStep s = r.step();
  const int number = s.number;
  s.apply_random = [=](const DeviceImage& image, RandomContext* context) {
    const RandomKey key = key_of(seed, item, context, number);
    Draw draw{};
    DeviceImage out = on_pixels(image, [&](const auto& t) { return run(t, key, draw); });
    if (context && context->drawn) {
      nlohmann::json entry = record(draw);
      entry["step"] = number;
      entry["op"] = op;
      context->drawn->push_back(std::move(entry));
    }
    return out;
  };
  s.shape = [](const ImageShape& in) { return in; };
  return s;
}

// Options checked by the library's own check, its message naming the step.
template <class Check>
void checked(const StepReader& r, Check&& check) {
  try {
    check();
  } catch (const Error& e) {
    r.fail(e.what());
  }
}

PipelineStep build_random_affine(const StepReader& r) {
  RandomAffineOptions o;
  o.degrees = axis_ranges(r, "degrees", {-10.0, 10.0});
  o.scales = axis_ranges(r, "scales", {0.9, 1.1});
  o.isotropic = r.boolean("isotropic", false);
  o.translation = axis_ranges(r, "translation", {0.0, 0.0});
  o.shear = axis_ranges(r, "shear", {0.0, 0.0});
  o.interp = r.interp("interp", Interp::linear);
  o.fill = r.number("fill", 0.0);
  for (const Range& s : o.scales) {
    if (!(s.first > 0.0)) r.bad("scales", "ranges of positive numbers");
  }
  PipelineStep s = random_step<AffineDraw>(
      r, "random_affine",
      [o](const auto& t, const RandomKey& key, AffineDraw& draw) {
        return random_affine(Kokkos::DefaultExecutionSpace(), t, o, key, &draw);
      },
      [](const AffineDraw& d) -> nlohmann::json {
        return {{"degrees", to_json(d.degrees)},
                {"scales", to_json(d.scales)},
                {"translation", to_json(d.translation)},
                {"shear", to_json(d.shear)}};
      });
  s.scratch_bytes_per_voxel = o.interp == Interp::bspline ? 8.0 : 0.0;
  return s;
}

PipelineStep build_random_flip(const StepReader& r) {
  RandomFlipOptions o;
  if (r.has("axes")) {
    const nlohmann::json& v = r.raw("axes");
    const std::string expected = "an array of axis names (\"i\", \"j\", \"k\")";
    if (!v.is_array() || v.empty() || v.size() > 3) r.bad("axes", expected);
    o.axes = {false, false, false};
    for (const nlohmann::json& name : v) {
      if (!name.is_string()) r.bad("axes", expected);
      try {
        o.axes[static_cast<std::size_t>(parse_axis(name.get<std::string>()))] = true;
      } catch (const Error&) {
        r.bad("axes", expected);
      }
    }
  }
  o.probability = r.number("probability", 0.5);
  if (!(o.probability >= 0.0 && o.probability <= 1.0)) r.bad("probability", "a number in [0, 1]");
  return random_step<std::array<bool, 3>>(
      r, "random_flip",
      [o](const auto& t, const RandomKey& key, std::array<bool, 3>& flips) {
        return random_flip(Kokkos::DefaultExecutionSpace(), t, o, key, &flips);
      },
      [](const std::array<bool, 3>& f) -> nlohmann::json {
        return {{"flipped", {f[0], f[1], f[2]}}};
      });
}

PipelineStep build_random_elastic(const StepReader& r) {
  RandomElasticOptions o;
  if (r.has("control_points")) {
    const Size3 m = r.size3("control_points", 4);
    for (std::size_t a = 0; a < 3; ++a) o.control_points[a] = m[static_cast<int>(a)];
  }
  if (r.has("max_displacement")) {
    const Vec3 d = r.vec3("max_displacement", false);
    for (std::size_t a = 0; a < 3; ++a) o.max_displacement[a] = d[static_cast<int>(a)];
  }
  o.locked_borders = static_cast<int>(r.integer("locked_borders", 2, 0, 2));
  o.interp = r.interp("interp", Interp::linear);
  o.fill = r.number("fill", 0.0);
  checked(r, [&] { check_random_elastic_options(o); });
  PipelineStep s = random_step<ElasticDraw>(
      r, "random_elastic",
      [o](const auto& t, const RandomKey& key, ElasticDraw& draw) {
        return random_elastic(Kokkos::DefaultExecutionSpace(), t, o, key, &draw);
      },
      [](const ElasticDraw& d) -> nlohmann::json {
        return {{"control_points", d.points}, {"displacements", d.displacements}};
      });
  s.scratch_bytes_per_voxel = o.interp == Interp::bspline ? 8.0 : 0.0;
  return s;
}

PipelineStep build_random_intensity(const StepReader& r) {
  RandomIntensityOptions o;
  if (r.has("log_gamma")) o.log_gamma = r.range("log_gamma");
  if (r.has("noise_std")) o.noise_std = r.range("noise_std");
  o.noise_mean = r.number("noise_mean", 0.0);
  o.bias = r.number("bias", 0.5);
  o.bias_order = static_cast<int>(r.integer("bias_order", 3, 0, max_bias_order));
  checked(r, [&] { check_random_intensity_options(o); });
  return random_step<IntensityDraw>(
      r, "random_intensity",
      [o](const auto& t, const RandomKey& key, IntensityDraw& draw) {
        return random_intensity(Kokkos::DefaultExecutionSpace(), t, o, key, &draw);
      },
      [](const IntensityDraw& d) -> nlohmann::json {
        return {{"gamma", d.gamma}, {"noise_std", d.noise_std}, {"bias", d.bias}};
      });
}

}  // namespace

void add_augment_ops(std::vector<OpInfo>& t) {
  const ParamInfo interp{"interp", "interp", false};
  const ParamInfo fill{"fill", "number", false};
  const ParamInfo seed{"seed", "seed", false};
  const ParamInfo item{"item", "seed", false};
  t.push_back({"random_affine",
               "random rotation, scaling, shear and translation about the centre (seeded)",
               {{"degrees", "axis_ranges", false},
                {"scales", "axis_ranges", false},
                {"isotropic", "boolean", false},
                {"translation", "axis_ranges", false},
                {"shear", "axis_ranges", false},
                interp,
                fill,
                seed,
                item},
               build_random_affine});
  t.push_back({"random_flip",
               "flip each chosen axis with a probability (seeded)",
               {{"axes", "axes", false}, {"probability", "probability", false}, seed, item},
               build_random_flip});
  t.push_back({"random_elastic",
               "random B-spline elastic deformation from a coarse grid of control points (seeded)",
               {{"control_points", "positive_size3", false},
                {"max_displacement", "vec3", false},
                {"locked_borders", "integer", false},
                interp,
                fill,
                seed,
                item},
               build_random_elastic});
  t.push_back({"random_intensity",
               "random bias field, gamma and Gaussian noise (seeded)",
               {{"log_gamma", "range", false},
                {"noise_std", "range", false},
                {"noise_mean", "number", false},
                {"bias", "number", false},
                {"bias_order", "integer", false},
                seed,
                item},
               build_random_intensity});
}

}  // namespace medimg
