// Writes the seed corpora of the fuzz harnesses with medimg's own writers
// (no third-party file is committed; scripts/fuzz.sh adds Debian's pydicom
// DICOM test files to the dicom corpus at run time).
//
//   medimg_fuzz_seeds OUT_DIR   ->  OUT_DIR/<harness>/<seed files>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "medimg/core/image.hpp"
#include "medimg/core/scope_guard.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/io/transform_io.hpp"
#include "medimg/ops/cast.hpp"
#include "medimg/ops/phantom.hpp"
#include "medimg/transform/parametric.hpp"

namespace fs = std::filesystem;
using namespace medimg;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

// libFuzzer's stack-depth variable, which the instrumented HDF5 module
// (dlopen'ed to write the hdf5 seeds) refers to. The harnesses get it from
// libFuzzer, and ASan's runtime defines it too; this program has neither
// in a build without ASan (MEDIMG_FUZZ_SANITIZE=undefined), so it defines
// it, weakly (a runtime's definition wins), and exports it (CMakeLists.txt).
extern "C" {
__attribute__((weak, visibility("default"))) thread_local std::uintptr_t __sancov_lowest_stack;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: medimg_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const ScopeGuard guard(RuntimeOptions{1, -1, MpiStartup::when_launched});
  const fs::path out = argv[1];
  for (const char* name :
       {"nifti", "nifti_gz", "nrrd", "mha", "hdf5", "dicom", "pipeline", "manifest", "transform"}) {
    fs::create_directories(out / name);
  }
  // Small images (a few KiB, so mutations reach every byte), oblique and
  // not, in the pixel types the formats carry.
  const Mat3 oblique = euler_rotation(0.2, -0.1, 0.3);
  const std::vector<Geometry> grids = {
      Geometry({12, 10, 8}, {-6.0, -5.0, 4.0}, {1.0, 1.0, 1.0}),
      Geometry({9, 7, 5}, {10.0, -20.0, 30.0}, {0.8, 1.25, 3.0}, oblique)};
  int n = 0;
  for (const Geometry& grid : grids) {
    const auto phantom = to_host(shepp_logan_phantom(grid));
    const AnyImage<HostMemory> images[] = {AnyImage<HostMemory>(phantom),
                                           AnyImage<HostMemory>(cast<std::int16_t>(phantom)),
                                           AnyImage<HostMemory>(cast<std::uint8_t>(phantom))};
    for (const AnyImage<HostMemory>& image : images) {
      const std::string stem = "seed" + std::to_string(n++);
      SaveOptions nifti1, nifti2;
      nifti2.nifti2 = true;
      save_image(image, (out / "nifti" / (stem + ".nii")).string(), nifti1);
      save_image(image, (out / "nifti" / (stem + ".v2.nii")).string(), nifti2);
      save_image(image, (out / "nifti_gz" / (stem + ".nii.gz")).string(), nifti1);
      save_image(image, (out / "nrrd" / (stem + ".nrrd")).string());
      save_image(image, (out / "mha" / (stem + ".mha")).string());
      save_image(image, (out / "hdf5" / (stem + ".h5")).string());
    }
  }
  // Transforms of every kind, about a centre.
  for (const TransformKind kind :
       {TransformKind::translation, TransformKind::rigid, TransformKind::similarity,
        TransformKind::scale, TransformKind::affine}) {
    ParametricTransform t(kind, Vec3{1.5, -2.0, 3.0});
    std::vector<double> p = t.parameters();
    for (std::size_t i = 0; i < p.size(); ++i) p[i] += 0.01 * static_cast<double>(i + 1);
    t.set_parameters(p);
    save_transform(t, (out / "transform" / (std::string(to_string(kind)) + ".tfm")).string());
  }
  // Pipelines: every op of the table once, with its documented parameters.
  write_text(out / "pipeline" / "preprocess.json",
             R"({"medimg_pipeline": 1, "steps": [
  {"op": "reorient", "orientation": "RAS"},
  {"op": "resample_to_spacing", "spacing": [1.5, 1.5, 1.5], "interp": "linear"},
  {"op": "crop_or_pad", "size": [16, 16, 12]},
  {"op": "percentile_clip", "low": 0.5, "high": 99.5},
  {"op": "z_score", "over": "nonzero"}]})");
  write_text(out / "pipeline" / "geometry.json",
             R"({"medimg_pipeline": 1, "steps": [
  {"op": "rotate", "axis": "z", "degrees": 10, "interp": "bspline", "expand": true},
  {"op": "flip", "axis": "x"},
  {"op": "pad", "before": [1, 2, 3], "after": [0, 1, 0], "value": -1},
  {"op": "crop", "start": [1, 1, 1], "size": [8, 8, 6]},
  {"op": "resize", "size": [10, 9, 8], "interp": "nearest"},
  {"op": "translate", "offset": [1.0, -2.0, 0.5]},
  {"op": "translate_resample", "offset": [0.5, 0, 0], "fill": 0},
  {"op": "scale", "factors": [1.1, 0.9, 1.0]},
  {"op": "cast", "type": "uint8"}]})");
  write_text(out / "pipeline" / "intensity.json",
             R"({"medimg_pipeline": 1, "steps": [
  {"op": "clip", "min": 0, "max": 100},
  {"op": "rescale", "slope": 2, "intercept": -1},
  {"op": "window", "level": 40, "width": 400, "output": [0, 1]},
  {"op": "min_max"}]})");
  write_text(out / "pipeline" / "augment.json",
             R"({"medimg_pipeline": 1, "steps": [
  {"op": "random_affine", "degrees": [[-10, 10], [0, 5], [-3, 3]], "scales": [0.9, 1.1],
   "isotropic": true, "translation": [-2, 2], "shear": [0, 0.1], "interp": "bspline",
   "fill": -1, "seed": 7, "item": 3},
  {"op": "random_flip", "axes": ["i", "k"], "probability": 0.5, "seed": 1},
  {"op": "random_elastic", "control_points": [5, 6, 7], "max_displacement": [2, 3, 4],
   "locked_borders": 1, "interp": "nearest", "fill": 0, "item": 18446744073709551615},
  {"op": "random_intensity", "log_gamma": [-0.3, 0.3], "noise_std": [0, 0.25],
   "noise_mean": 0.5, "bias": 0.4, "bias_order": 2}]})");
  // Manifests.
  write_text(out / "manifest" / "cohort.csv",
             "input,output,modality,site\n/data/a.nii.gz,a.nii.gz,MRI,\"x, y\"\n"
             "/data/ct/,ct.nii.gz,CT,b\n/data/c.h5:/images/c,,PET,c\n");
  write_text(out / "manifest" / "minimal.csv", "input\n/data/one.nii\n/data/two.nrrd\n");
  std::printf("seeds written to %s\n", out.string().c_str());
  return 0;
}
