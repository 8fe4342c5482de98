// ITK transform files (include/medimg/io/transform_io.hpp): the reading and
// writing is the ITK module's (src/itk_module/transforms.cpp); this maps
// ParametricTransform to and from its records.
#include "medimg/io/transform_io.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "medimg/core/error.hpp"
#include "medimg/io/atomic_output.hpp"
#include "medimg/io/detail/isolated.hpp"
#include "medimg/io/detail/itk_module.hpp"

namespace medimg {

void check_transform_path(const std::string& path) {
  const std::string ext = format_extension(path);
  if (ext != ".tfm" && ext != ".txt") {
    throw Error("cannot write transform '" + path + "': use a .tfm or .txt file (ITK text format)");
  }
  check_output_folder(path);
}

void save_transform(const ParametricTransform& transform, const std::string& path) {
  check_transform_path(path);
  const detail::ItkModule& module = detail::itk_module(path);
  const detail::LibraryCall call;  // no fork of a DICOM reader meanwhile
  AtomicOutput output(path);
  module.write_transform(
      path, output.temporary_path(),
      {transform.itk_class(), transform.itk_fixed_parameters(), transform.itk_parameters()});
  output.commit();
}

namespace {

// The parameter counts of the transforms medimg reads, by ITK class (the
// name before "_double_3_3"): {parameters, least fixed, most fixed}.
struct Counts {
  std::size_t parameters, fixed_min, fixed_max;
};
std::map<std::string, Counts> transform_counts() {
  return {{"TranslationTransform", {3, 0, 0}},
          {"Euler3DTransform", {6, 3, 4}},  // centre, then ITK's ComputeZYX flag
          {"ScaleTransform", {3, 3, 3}},
          {"AffineTransform", {12, 3, 3}}};
}

// Checks an ITK text transform file before ITK parses it. ITK 5.2's reader
// does not check the counts: a Parameters line shorter than its transform
// needs leaves the transform's parameter array freed but still used (a
// crash under AddressSanitizer, a silent read of freed memory otherwise;
// fuzz/ found it). Only files of one transform of a class medimg reads,
// with numbers only and the right counts, reach ITK.
void check_transform_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read transform '" + path + "': no such file or not readable");
  const auto fail = [&](std::size_t line, const std::string& why) {
    throw Error("cannot read transform '" + path +
                "': " + (line ? "line " + std::to_string(line) + ": " : std::string()) + why);
  };
  std::string text, line, name;
  std::vector<double> parameters, fixed;
  bool has_parameters = false, has_fixed = false;
  std::size_t number = 0, transforms = 0;
  while (std::getline(in, line)) {
    if (++number > 10000) fail(0, "not an ITK transform file (more than 10000 lines)");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) fail(number, "not 'Key: value'");
    const std::string key = line.substr(0, colon);
    std::istringstream values(line.substr(colon + 1));
    if (key == "Transform") {
      ++transforms;
      values >> name;
    } else if (key == "Parameters" || key == "FixedParameters") {
      // One line of each, after the Transform line: ITK keeps the last line
      // of several (fuzz/ found two Parameters lines whose counts added up).
      std::vector<double>& out = key == "Parameters" ? parameters : fixed;
      bool& seen = key == "Parameters" ? has_parameters : has_fixed;
      if (transforms == 0) fail(number, key + " before the Transform line");
      if (seen) fail(number, "a second " + key + " line");
      seen = true;
      std::string token;
      while (values >> token) {
        char* end = nullptr;
        const double v = std::strtod(token.c_str(), &end);
        // Decimal only: strtod also takes "0x4" and "inf", where ITK's
        // stream stops early and then reads freed memory (fuzz/ found it).
        const bool decimal = token.find_first_not_of("0123456789+-.eE") == std::string::npos;
        if (!decimal || end != token.c_str() + token.size() || !std::isfinite(v)) {
          fail(number, key + " holds '" + token.substr(0, 40) + "', not a finite decimal number");
        }
        out.push_back(v);
      }
    } else {
      fail(number, "unknown key '" + key.substr(0, 40) + "'");
    }
  }
  if (transforms != 1)
    fail(0, "must hold exactly one transform, not " + std::to_string(transforms));
  if (!has_parameters || !has_fixed) fail(0, "has no Parameters or no FixedParameters line");
  const std::string base = name.substr(0, name.find('_'));
  const std::string precision = name.substr(base.size());
  const auto counts = transform_counts();
  const auto known = counts.find(base);
  if (known == counts.end() || (precision != "_double_3_3" && precision != "_float_3_3")) {
    fail(0, "holds a " + name.substr(0, 60) +
                "; medimg reads Translation, Euler3D, Scale and Affine transforms");
  }
  const Counts& c = known->second;
  if (parameters.size() != c.parameters) {
    fail(0, "a " + base + " has " + std::to_string(c.parameters) + " Parameters, not " +
                std::to_string(parameters.size()));
  }
  if (fixed.size() < c.fixed_min || fixed.size() > c.fixed_max) {
    fail(0, "a " + base + " has " + std::to_string(c.fixed_min) +
                (c.fixed_max != c.fixed_min ? " or " + std::to_string(c.fixed_max) : "") +
                " FixedParameters, not " + std::to_string(fixed.size()));
  }
}

}  // namespace

ParametricTransform load_transform(const std::string& path) {
  check_transform_text(path);
  const detail::ItkModule& module = detail::itk_module(path);
  const detail::LibraryCall call;  // no fork of a DICOM reader meanwhile
  const detail::ItkTransformRecord record = module.read_transform(path);
  const std::string& name = record.itk_class;
  TransformKind kind;
  if (name == "TranslationTransform") {
    kind = TransformKind::translation;
  } else if (name == "Euler3DTransform") {
    kind = TransformKind::rigid;
  } else if (name == "ScaleTransform") {
    kind = TransformKind::scale;
  } else if (name == "AffineTransform") {
    kind = TransformKind::affine;
  } else {
    throw Error("'" + path + "' holds a " + name +
                "; medimg reads Translation, Euler3D, Scale and Affine transforms");
  }
  Vec3 center{0, 0, 0};
  if (kind != TransformKind::translation) {
    if (record.fixed.size() < 3) {
      throw Error("'" + path + "': the " + name + " has no center (FixedParameters)");
    }
    for (int a = 0; a < 3; ++a) center[a] = record.fixed[static_cast<std::size_t>(a)];
  }
  ParametricTransform out(kind, center);
  out.set_parameters(record.parameters);
  return out;
}

}  // namespace medimg
