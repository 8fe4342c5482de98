// The shape shared by the geometric subcommands: `medimg NAME IN OUT ...`
// reads IN (any format), moves it to the default device, applies one
// operation, and writes OUT atomically. The output path is checked before
// anything is read, so a bad OUT fails fast and leaves nothing behind.
// Under `mpiexec -n P` with P > 1 the same command runs distributed: IN is
// loaded as k-slabs (HDF5 in parallel, other formats read by rank 0 and
// scattered), the operation runs on the DistributedImage, and OUT is
// written in parallel (HDF5) or gathered and written by rank 0; the result
// is the one P = 1 gives, bit for bit.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "medimg/config.hpp"
#include "medimg/core/geometry.hpp"
#include "medimg/core/output_buffer.hpp"
#include "medimg/interp/interpolator.hpp"
#include "medimg/io/nifti_io.hpp"
#if MEDIMG_HAS_MPI
#include "medimg/dist/ops.hpp"
#endif

namespace medimg::cli {

using DeviceImage = AnyImage<DeviceMemory>;
#if MEDIMG_HAS_MPI
using DistributedAny = AnyDistributedImage<DeviceMemory>;
#endif

// A command's output written where its last operation puts it: for a .nii
// path, provider() (for an OutputBuffer::Scope around that operation) maps
// the output file as the operation's first host image (NiftiOutputMapping,
// io/nifti_io.hpp); save(result) commits the file when the result is there
// and otherwise saves it as usual (save_image). MEDIMG_MAP_OUTPUT=0 always
// saves. The object must outlive every image that may use the mapping.
class MappedOutput {
 public:
  explicit MappedOutput(std::string path) : m_path(std::move(path)) {}
  OutputBuffer::Provider provider();
  void save(const AnyImage<HostMemory>& result);

 private:
  std::string m_path;
  std::unique_ptr<NiftiOutputMapping> m_mapping;
};

// One operation, on a whole image and (with MPI) on a distributed one.
struct ImageOperation {
  std::function<DeviceImage(const DeviceImage&)> serial;
#if MEDIMG_HAS_MPI
  std::function<DistributedAny(const DistributedAny&)> distributed;
#endif
};

// Registers the subcommand; `make_operation` is called after parsing and
// returns the operation to run (so options are validated before IO).
CLI::App* add_image_command(CLI::App& app, const std::string& name, const std::string& description,
                            const GlobalOptions& global, Action& action,
                            std::function<ImageOperation()> make_operation);

// Runs `command` once: under mpiexec on rank 0 while the other ranks wait
// and share its exit code (and its error, which every rank then throws).
int on_rank_zero(const std::function<int()>& command);

// --interp nearest|linear|bspline (default `fallback`) and --fill V.
void add_interp_option(CLI::App* cmd, std::string& interp, const std::string& fallback);
void add_fill_option(CLI::App* cmd, double& fill);

// "a,b,c" lists: exactly `count` numbers.
Vec3 to_vec3(const std::vector<double>& values, const std::string& option);
Size3 to_size3(const std::vector<std::int64_t>& values, const std::string& option);

// Applies f(typed image) -> Image to whichever pixel type `image` holds.
template <class F>
DeviceImage on_typed(const DeviceImage& image, F&& f) {
  return std::visit([&f](const auto& typed) -> DeviceImage { return f(typed); }, image);
}

// The operation f(typed image) for every pixel type, on Images and (with
// MPI) DistributedImages: f is a generic lambda calling an op by its
// execution-space-less overload, which both kinds of image have.
template <class F>
ImageOperation typed_operation(F f) {
  ImageOperation operation;
  operation.serial = [f](const DeviceImage& image) { return on_typed(image, f); };
#if MEDIMG_HAS_MPI
  operation.distributed = [f](const DistributedAny& image) {
    return std::visit([&f](const auto& typed) -> DistributedAny { return f(typed); }, image);
  };
#endif
  return operation;
}

}  // namespace medimg::cli
