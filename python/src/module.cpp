// _medimg: the compiled half of the medimg Python package (nanobind). The
// Python half (python/medimg/__init__.py) builds the public API on it:
// docs/PYTHON.md.
//
// What lives here:
//   Image          an AnyImage<HostMemory> and, when its voxels belong to a
//                  numpy array (Image.from_array without a copy), that array
//   read / write   load_image / save_image
//   run_steps      a pipeline (JSON text) on one image: every op of the CLI
//   resample_to_image, ops_description, backend, finalize
//
// Threads: Kokkos 3.4's OpenMP backend runs kernels only from the thread
// that initialised it ("in parallel or not initialized" from any other), and
// Python may call from any thread. So one thread of this module's own
// initialises MPI and Kokkos and runs every call that launches kernels or
// does IO, one at a time; the calling thread releases the GIL and waits, so
// other Python threads run meanwhile.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/array.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <Kokkos_Core.hpp>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <variant>

#include "medimg/core/error.hpp"
#include "medimg/core/geometry.hpp"
#include "medimg/core/image.hpp"
#include "medimg/core/metadata.hpp"
#include "medimg/core/pixel_type.hpp"
#include "medimg/core/scope_guard.hpp"
#include "medimg/core/voxel_pool.hpp"
#include "medimg/interp/interpolator.hpp"
#include "medimg/io/image_io.hpp"
#include "medimg/io/transform_io.hpp"
#include "medimg/ops/resample_to_image.hpp"
#include "medimg/pipeline/batch.hpp"
#include "medimg/pipeline/pipeline.hpp"
#include "medimg/register/registration.hpp"
#include "medimg/resample/backward.hpp"
#include "medimg/resample/resample.hpp"
#include "medimg/resample/sampler.hpp"
#include "medimg/transform/affine.hpp"
#include "medimg/transform/parametric.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

using medimg::AnyImage;
using medimg::Geometry;
using medimg::HostMemory;

// The thread that owns MPI and Kokkos and runs every kernel (see the top).
class KernelThread {
 public:
  explicit KernelThread(const medimg::RuntimeOptions& options) {
    std::promise<void> started;
    std::future<void> ready = started.get_future();
    m_thread = std::thread([this, options, &started] {
      try {
        m_runtime = std::make_unique<medimg::ScopeGuard>(options);
        m_pool = std::make_unique<medimg::VoxelPool::Scope>(pool_budget());
        started.set_value();
      } catch (...) {
        started.set_exception(std::current_exception());
        return;
      }
      loop();
    });
    try {
      ready.get();
    } catch (...) {
      m_thread.join();
      throw;
    }
  }
  KernelThread(const KernelThread&) = delete;
  KernelThread& operator=(const KernelThread&) = delete;
  ~KernelThread() { stop(false); }

  // Runs `work` on the kernel thread and returns its result (or rethrows
  // its exception) here. Call with the GIL released.
  template <class Work>
  auto run(Work&& work) -> decltype(work()) {
    using Result = decltype(work());
    std::packaged_task<Result()> task(std::forward<Work>(work));
    std::future<Result> result = task.get_future();
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      if (m_stopping) throw medimg::Error("medimg is shut down (the interpreter is exiting)");
      m_tasks.emplace_back([&task] { task(); });
    }
    m_wake.notify_one();
    return result.get();
  }

  // Ends the thread; finalises Kokkos and MPI there when `finalize`.
  void stop(bool finalize) {
    if (!m_thread.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_finalize = finalize;
      m_stopping = true;
    }
    m_wake.notify_one();
    m_thread.join();
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_wake.wait(lock, [this] { return m_stopping || !m_tasks.empty(); });
        if (m_tasks.empty()) break;
        task = std::move(m_tasks.front());
        m_tasks.pop_front();
      }
      task();
    }
    if (m_finalize) {
      m_pool.reset();
      m_runtime.reset();
    } else {
      static_cast<void>(m_pool.release());
      // Left initialised for good: images still alive release their views
      // later, which must not happen after Kokkos::finalize.
      static_cast<void>(m_runtime.release());
    }
  }

  std::thread m_thread;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<std::function<void()>> m_tasks;
  bool m_stopping = false;
  bool m_finalize = false;
  std::unique_ptr<medimg::ScopeGuard> m_runtime;
  std::unique_ptr<medimg::VoxelPool::Scope> m_pool;

  // Host voxel buffers freed by Python are reused by the next image of the
  // same type and extents (core/voxel_pool.hpp): a loop over same-shaped
  // volumes takes no new pages after its second call. The budget of free
  // buffers held is 0 by default (the peak stays what it would be without
  // the pool); MEDIMG_POOL_BYTES raises it.
  static std::uint64_t pool_budget() {
    const char* bytes = std::getenv("MEDIMG_POOL_BYTES");
    return bytes && *bytes ? std::strtoull(bytes, nullptr, 10) : 0;
  }
};

KernelThread* g_kernels = nullptr;  // made at import, never destroyed (stopped at exit)
// Images alive: Kokkos is finalised at exit only when none is.
std::atomic<long> g_live_images{0};

// Runs `work` on the kernel thread with the GIL released.
template <class Work>
auto on_kernel_thread(Work&& work) -> decltype(work()) {
  nb::gil_scoped_release release;
  return g_kernels->run(std::forward<Work>(work));
}

class PyImage {
 public:
  explicit PyImage(AnyImage<HostMemory> image, nb::object keeper = {})
      : m_image(std::move(image)), m_keeper(std::move(keeper)) {
    ++g_live_images;
  }
  ~PyImage() {
    {
      // The voxels go first (under the GIL: the keeper is a Python object).
      AnyImage<HostMemory> released = std::move(m_image);
      (void)released;
    }
    --g_live_images;
  }
  PyImage(const PyImage&) = delete;
  PyImage& operator=(const PyImage&) = delete;

  const AnyImage<HostMemory>& image() const { return m_image; }
  AnyImage<HostMemory>& image() { return m_image; }
  const nb::object& keeper() const { return m_keeper; }
  const Geometry& geometry() const { return medimg::geometry(m_image); }
  const void* data() const {
    return std::visit([](const auto& im) -> const void* { return im.voxels().data(); }, m_image);
  }

 private:
  AnyImage<HostMemory> m_image;
  nb::object m_keeper;  // the numpy array whose memory the voxels are, or None
};

// A result image; it keeps `source`'s array when it shares its voxels.
PyImage* wrap_result(AnyImage<HostMemory> result, const PyImage& source) {
  const void* data =
      std::visit([](const auto& im) -> const void* { return im.voxels().data(); }, result);
  nb::object keeper = data == source.data() ? source.keeper() : nb::object();
  return new PyImage(std::move(result), std::move(keeper));
}

std::array<double, 3> to_array(const medimg::Vec3& v) {
  return {v[0], v[1], v[2]};
}

medimg::Vec3 to_vec3(const std::array<double, 3>& v) {
  return {v[0], v[1], v[2]};
}

using Rows3 = std::array<std::array<double, 3>, 3>;
using Rows34 = std::array<std::array<double, 4>, 3>;

Geometry make_geometry(const std::array<std::int64_t, 3>& size, const std::array<double, 3>& origin,
                       const std::array<double, 3>& spacing, const Rows3& direction) {
  medimg::Mat3 d;
  for (int r = 0; r < 3; ++r) d[r] = to_vec3(direction[static_cast<std::size_t>(r)]);
  return Geometry({size[0], size[1], size[2]}, to_vec3(origin), to_vec3(spacing), d);
}

template <class T>
constexpr bool dtype_is(const nb::dlpack::dtype& d) {
  return d == nb::dtype<T>();
}

medimg::PixelType pixel_type_of_dtype(const nb::dlpack::dtype& d) {
  if (dtype_is<std::uint8_t>(d)) return medimg::PixelType::uint8;
  if (dtype_is<std::int16_t>(d)) return medimg::PixelType::int16;
  if (dtype_is<std::uint16_t>(d)) return medimg::PixelType::uint16;
  if (dtype_is<std::int32_t>(d)) return medimg::PixelType::int32;
  if (dtype_is<float>(d)) return medimg::PixelType::float32;
  if (dtype_is<double>(d)) return medimg::PixelType::float64;
  throw medimg::Error(
      "array dtype is not a medimg pixel type (uint8, int16, uint16, int32, float32, float64)");
}

// An Image over a Fortran-ordered (i fastest) array's memory: no copy.
template <class T>
AnyImage<HostMemory> image_over(void* data, const Geometry& geometry) {
  using View = typename medimg::Image<T, HostMemory>::view_type;
  const auto& n = geometry.size();
  View voxels(static_cast<T*>(data), static_cast<std::size_t>(n[0]), static_cast<std::size_t>(n[1]),
              static_cast<std::size_t>(n[2]));
  return medimg::Image<T, HostMemory>(geometry, voxels);
}

PyImage* from_array(nb::ndarray<nb::ndim<3>, nb::device::cpu> array,
                    const std::array<double, 3>& origin, const std::array<double, 3>& spacing,
                    const Rows3& direction, nb::handle owner) {
  const medimg::Size3 size{static_cast<std::int64_t>(array.shape(0)),
                           static_cast<std::int64_t>(array.shape(1)),
                           static_cast<std::int64_t>(array.shape(2))};
  const std::int64_t expected[3] = {1, size[0], size[0] * size[1]};
  for (int a = 0; a < 3; ++a) {
    if (size[a] > 1 && array.stride(static_cast<std::size_t>(a)) != expected[a]) {
      throw medimg::Error(
          "from_array needs a Fortran-ordered (i fastest) array; "
          "numpy.asfortranarray makes one");
    }
  }
  const Geometry geometry = make_geometry({size[0], size[1], size[2]}, origin, spacing, direction);
  void* data = array.data();
  AnyImage<HostMemory> image;
  switch (pixel_type_of_dtype(array.dtype())) {
    case medimg::PixelType::uint8: image = image_over<std::uint8_t>(data, geometry); break;
    case medimg::PixelType::int16: image = image_over<std::int16_t>(data, geometry); break;
    case medimg::PixelType::uint16: image = image_over<std::uint16_t>(data, geometry); break;
    case medimg::PixelType::int32: image = image_over<std::int32_t>(data, geometry); break;
    case medimg::PixelType::float32: image = image_over<float>(data, geometry); break;
    case medimg::PixelType::float64: image = image_over<double>(data, geometry); break;
  }
  return new PyImage(std::move(image), nb::borrow<nb::object>(owner));
}

// image.array: the voxels as a numpy array indexed [i, j, k], i fastest
// (Fortran order), writable, no copy; the array keeps the Image alive.
nb::object array_of(nb::handle self) {
  PyImage& py = nb::cast<PyImage&>(self);
  return std::visit(
      [&](auto& im) -> nb::object {
        using T = typename std::decay_t<decltype(im)>::value_type;
        const auto& n = im.geometry().size();
        const std::size_t shape[3] = {static_cast<std::size_t>(n[0]),
                                      static_cast<std::size_t>(n[1]),
                                      static_cast<std::size_t>(n[2])};
        const std::int64_t strides[3] = {1, n[0], n[0] * n[1]};
        nb::ndarray<nb::numpy, T> array(im.voxels().data(), 3, shape, self, strides);
        return nb::cast(array, nb::rv_policy::reference);
      },
      py.image());
}

std::string load_text_metadata(const medimg::Metadata& m) {
  return medimg::to_json(m);
}

AnyImage<HostMemory> run_on_device(const medimg::Pipeline& pipeline,
                                   const AnyImage<HostMemory>& image) {
  AnyImage<medimg::DeviceMemory> on_device = std::visit(
      [](const auto& im) { return AnyImage<medimg::DeviceMemory>(medimg::to_device(im)); }, image);
  AnyImage<medimg::DeviceMemory> out = pipeline.run(std::move(on_device));
  return std::visit([](const auto& im) { return AnyImage<HostMemory>(medimg::to_host(im)); }, out);
}

// y = A x + t from the rows of [A | t]: output point -> input point (mm).
medimg::AffineTransform make_affine(const Rows34& rows) {
  medimg::Mat3 a;
  medimg::Vec3 t;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) a[r][c] = rows[r][c];
    t[r] = rows[r][3];
  }
  return medimg::AffineTransform(a, t);
}

// The float and double images the differentiable resample takes.
template <class Work>
auto visit_real(const PyImage& image, Work&& work) {
  if (const auto* f = std::get_if<medimg::Image<float, HostMemory>>(&image.image()))
    return work(*f);
  if (const auto* d = std::get_if<medimg::Image<double, HostMemory>>(&image.image())) {
    return work(*d);
  }
  throw medimg::Error("resample for autograd takes float32 or float64 voxels, not " +
                      std::string(medimg::to_string(medimg::pixel_type(image.image()))));
}

}  // namespace

NB_MODULE(_medimg, m) {
  m.doc() = "medimg's compiled core (the public API is the medimg package)";
  nb::exception<medimg::Error>(m, "Error", PyExc_RuntimeError);
  // Images can be legitimately alive when the interpreter ends (held by a
  // torch autograd graph, a module global): no "leaked instances" report.
  nb::set_leak_warnings(false);

  medimg::RuntimeOptions options;
  options.mpi = medimg::MpiStartup::when_launched;
  if (const char* threads = std::getenv("MEDIMG_THREADS"); threads && *threads) {
    options.num_threads = std::atoi(threads);
  }
  g_kernels = new KernelThread(options);

  m.def("finalize", [] {
    // Called by atexit. Kokkos and MPI are finalised only when no image is
    // alive (those alive are released after this).
    nb::gil_scoped_release release;
    g_kernels->stop(g_live_images.load() == 0);
  });
  m.def("live_images", [] { return g_live_images.load(); });
  m.def("backend", [] { return on_kernel_thread([] { return medimg::describe_backend(); }); });
  m.def("mpi_in_use", [] { return on_kernel_thread([] { return medimg::mpi_in_use(); }); });

  nb::class_<PyImage>(m, "Image")
      .def_prop_ro("size",
                   [](const PyImage& p) {
                     const auto& n = p.geometry().size();
                     return std::array<std::int64_t, 3>{n[0], n[1], n[2]};
                   })
      .def_prop_ro("spacing", [](const PyImage& p) { return to_array(p.geometry().spacing()); })
      .def_prop_ro("origin", [](const PyImage& p) { return to_array(p.geometry().origin()); })
      .def_prop_ro("direction_rows",
                   [](const PyImage& p) {
                     const auto& d = p.geometry().direction();
                     return std::array<std::array<double, 3>, 3>{to_array(d[0]), to_array(d[1]),
                                                                 to_array(d[2])};
                   })
      .def_prop_ro("orientation", [](const PyImage& p) { return p.geometry().orientation_code(); })
      .def_prop_ro("pixel_type",
                   [](const PyImage& p) {
                     return std::string(medimg::to_string(medimg::pixel_type(p.image())));
                   })
      .def_prop_ro("metadata_json",
                   [](const PyImage& p) { return load_text_metadata(medimg::metadata(p.image())); })
      .def_prop_ro("array", &array_of)
      .def_prop_ro("data_pointer",
                   [](const PyImage& p) { return reinterpret_cast<std::uintptr_t>(p.data()); })
      .def_prop_ro("shares_array", [](const PyImage& p) { return p.keeper().is_valid(); })
      .def("with_geometry",
           [](const PyImage& p, const std::array<double, 3>& origin,
              const std::array<double, 3>& spacing,
              const std::array<std::array<double, 3>, 3>& direction) {
             const auto& n = p.geometry().size();
             const Geometry g = make_geometry({n[0], n[1], n[2]}, origin, spacing, direction);
             AnyImage<HostMemory> copy = p.image();  // shares the voxels
             std::visit([&](auto& im) { im.set_geometry(g); }, copy);
             return new PyImage(std::move(copy), p.keeper());
           })
      .def_static("_from_array", &from_array, "array"_a, "origin"_a, "spacing"_a, "direction"_a,
                  "owner"_a);

  m.def(
      "read",
      [](const std::string& path, const std::string& xform, const std::string& series_uid) {
        medimg::LoadOptions load;
        load.series_uid = series_uid;
        if (xform == "sform")
          load.nifti_xform = medimg::NiftiXform::sform;
        else if (xform == "qform")
          load.nifti_xform = medimg::NiftiXform::qform;
        else if (xform == "auto")
          load.nifti_xform = medimg::NiftiXform::automatic;
        else
          throw medimg::Error("xform must be 'auto', 'sform' or 'qform', not '" + xform + "'");
        AnyImage<HostMemory> image =
            on_kernel_thread([&] { return medimg::load_image(path, load); });
        return new PyImage(std::move(image));
      },
      "path"_a, "xform"_a = "auto", "series_uid"_a = "");

  m.def(
      "write",
      [](const PyImage& image, const std::string& path, int compression_level, bool nifti2,
         bool compress) {
        medimg::SaveOptions save;
        if (compression_level > 0) save.compression_level = compression_level;
        save.nifti2 = nifti2;
        save.compress = compress;
        on_kernel_thread([&] { medimg::save_image(image.image(), path, save); });
      },
      "image"_a, "path"_a, "compression_level"_a = 0, "nifti2"_a = false, "compress"_a = false);

  m.def(
      "run_steps",
      [](const PyImage& image, const std::string& json_text, const std::string& source) {
        AnyImage<HostMemory> out = on_kernel_thread([&] {
          // Loading reads the files steps name (references, masks) too.
          const medimg::Pipeline pipeline = medimg::Pipeline::from_json_text(json_text, source);
          return run_on_device(pipeline, image.image());
        });
        return wrap_result(std::move(out), image);
      },
      "image"_a, "steps"_a, "source"_a = "python");

  m.def(
      "pipeline_ops",
      [](const std::string& json_text, const std::string& source) {
        return on_kernel_thread(
            [&] { return medimg::Pipeline::from_json_text(json_text, source).ops(); });
      },
      "steps"_a, "source"_a = "python");

  m.def(
      "resample_to_image",
      [](const PyImage& image, const PyImage& reference, const std::string& interp, double fill) {
        const medimg::Interp how = medimg::parse_interp(interp);
        const Geometry fixed = reference.geometry();
        AnyImage<HostMemory> out = on_kernel_thread([&] {
          return std::visit(
              [&](const auto& im) {
                return AnyImage<HostMemory>(medimg::to_host(
                    medimg::resample_to_image(fixed, medimg::to_device(im), how, fill)));
              },
              image.image());
        });
        return wrap_result(std::move(out), image);
      },
      "image"_a, "reference"_a, "interp"_a = "linear", "fill"_a = 0.0);

  // resample(image, output grid, [A | t], interp, fill): y(o) = image(A p(o) + t).
  m.def(
      "resample",
      [](const PyImage& image, const std::array<std::int64_t, 3>& size,
         const std::array<double, 3>& origin, const std::array<double, 3>& spacing,
         const Rows3& direction, const Rows34& affine, const std::string& interp, double fill) {
        const Geometry output = make_geometry(size, origin, spacing, direction);
        const medimg::AffineTransform transform = make_affine(affine);
        const medimg::Interp how = medimg::parse_interp(interp);
        AnyImage<HostMemory> out = on_kernel_thread([&] {
          return std::visit(
              [&](const auto& im) {
                return AnyImage<HostMemory>(medimg::to_host(
                    medimg::resample(output, medimg::to_device(im), transform, how, fill)));
              },
              image.image());
        });
        return wrap_result(std::move(out), image);
      },
      "image"_a, "size"_a, "origin"_a, "spacing"_a, "direction"_a, "affine"_a, "interp"_a,
      "fill"_a = 0.0);

  // The adjoint of resample: dL/d(voxels) on the input's grid (or None) and
  // dL/d[A | t] as 3 rows of 4 (or None), given dL/dy on the output grid.
  m.def(
      "resample_backward",
      [](const PyImage& image, const std::array<std::int64_t, 3>& size,
         const std::array<double, 3>& origin, const std::array<double, 3>& spacing,
         const Rows3& direction, const Rows34& affine, const std::string& interp,
         const PyImage& dLdy, bool wrt_image, bool wrt_params, bool deterministic) {
        const Geometry output = make_geometry(size, origin, spacing, direction);
        const medimg::AffineTransform transform = make_affine(affine);
        const medimg::Interp how = medimg::parse_interp(interp);
        const unsigned what =
            (wrt_image ? medimg::wrt::image : 0u) | (wrt_params ? medimg::wrt::params : 0u);
        const auto mode =
            deterministic ? medimg::Accumulation::deterministic : medimg::Accumulation::scatter;
        std::optional<AnyImage<HostMemory>> image_gradient;
        std::optional<Rows34> params_gradient;
        on_kernel_thread([&] {
          visit_real(image, [&](const auto& input) {
            using T = typename std::decay_t<decltype(input)>::value_type;
            const auto* gradient = std::get_if<medimg::Image<T, HostMemory>>(&dLdy.image());
            if (gradient == nullptr) {
              throw medimg::Error("resample_backward: dL/dy must have the input's pixel type");
            }
            const auto device_input = medimg::to_device(input);
            const medimg::Sampler<T, medimg::DeviceMemory> sampler(device_input, how);
            auto result = medimg::resample_backward(output, sampler, transform,
                                                    medimg::to_device(*gradient), what, mode);
            if (result.image) image_gradient = AnyImage<HostMemory>(medimg::to_host(*result.image));
            if (result.transform) {
              Rows34 rows{};
              for (int r = 0; r < 3; ++r) {
                for (int c = 0; c < 3; ++c) rows[r][c] = result.transform->matrix[r][c];
                rows[r][3] = result.transform->offset[r];
              }
              params_gradient = rows;
            }
          });
        });
        nb::object first = nb::none();
        if (image_gradient)
          first = nb::cast(new PyImage(std::move(*image_gradient)), nb::rv_policy::take_ownership);
        nb::object second = nb::none();
        if (params_gradient) second = nb::cast(*params_gradient);
        return nb::make_tuple(first, second);
      },
      "image"_a, "size"_a, "origin"_a, "spacing"_a, "direction"_a, "affine"_a, "interp"_a, "dLdy"_a,
      "wrt_image"_a = true, "wrt_params"_a = true, "deterministic"_a = false);

  // Transforms: what register returns and .tfm files hold.
  nb::class_<medimg::ParametricTransform>(m, "Transform")
      .def_prop_ro("kind",
                   [](const medimg::ParametricTransform& t) {
                     return std::string(medimg::to_string(t.kind()));
                   })
      .def_prop_ro("parameters", &medimg::ParametricTransform::parameters)
      .def_prop_ro("center",
                   [](const medimg::ParametricTransform& t) { return to_array(t.center()); })
      .def_prop_ro("matrix_rows",
                   [](const medimg::ParametricTransform& t) {
                     const medimg::AffineTransform a = t.affine();
                     Rows34 rows{};
                     for (int r = 0; r < 3; ++r) {
                       for (int c = 0; c < 3; ++c) rows[r][c] = a.matrix()[r][c];
                       rows[r][3] = a.offset()[r];
                     }
                     return rows;
                   })
      .def("write",
           [](const medimg::ParametricTransform& t, const std::string& path) {
             on_kernel_thread([&] { medimg::save_transform(t, path); });
           })
      .def_static("_from_parameters",
                  [](const std::string& kind, const std::vector<double>& parameters,
                     const std::array<double, 3>& center) {
                    medimg::ParametricTransform t(medimg::parse_transform_kind(kind),
                                                  to_vec3(center));
                    t.set_parameters(parameters);
                    return t;
                  })
      .def_static("read", [](const std::string& path) {
        return on_kernel_thread([&] { return medimg::load_transform(path); });
      });

  m.def(
      "register_images",
      [](const PyImage& fixed, const PyImage& moving, const std::string& transform,
         const std::string& metric, int levels, const std::string& optimizer, int iterations,
         double learning_rate, double min_step, int bins, const std::string& interp) {
        medimg::RegistrationSettings s;
        s.transform = medimg::parse_transform_kind(transform);
        s.metric.metric = medimg::parse_metric(metric);
        s.metric.bins = bins;
        s.levels = levels;
        s.interp = medimg::parse_interp(interp);
        s.optimizer.kind = medimg::parse_optimizer(optimizer);
        s.optimizer.max_iterations = iterations;
        s.optimizer.learning_rate = learning_rate;
        s.optimizer.minimum_step = min_step;
        const auto* f = std::get_if<medimg::Image<float, HostMemory>>(&fixed.image());
        const auto* mv = std::get_if<medimg::Image<float, HostMemory>>(&moving.image());
        if (f == nullptr || mv == nullptr) {
          throw medimg::Error("register: fixed and moving must be float32 images");
        }
        auto [result, levels_run] = on_kernel_thread([&] {
          const auto r = medimg::register_images(Kokkos::DefaultExecutionSpace(),
                                                 medimg::to_device(*f), medimg::to_device(*mv), s);
          std::vector<std::string> report;
          for (const medimg::LevelReport& l : r.levels) {
            std::ostringstream line;
            line << medimg::to_string(l.stage) << " level " << l.level << " (shrink " << l.shrink
                 << "): " << l.iterations << " iterations, metric " << l.value << ", " << l.seconds
                 << " s; stopped: " << l.stop_reason;
            report.push_back(line.str());
          }
          return std::make_pair(r.transform, report);
        });
        return std::make_pair(result, levels_run);
      },
      "fixed"_a, "moving"_a, "transform"_a, "metric"_a, "levels"_a, "optimizer"_a, "iterations"_a,
      "learning_rate"_a, "min_step"_a, "bins"_a, "interp"_a);

  m.def(
      "batch",
      [](const std::string& manifest, const std::string& steps, const std::string& out_dir,
         bool resume, int jobs, const std::string& extension, bool previews,
         std::uint64_t memory_limit, std::uint64_t seed, int repeat) {
        medimg::BatchOptions o;
        o.manifest = manifest;
        o.steps = steps;
        o.out_dir = out_dir;
        o.resume = resume;
        o.jobs_per_rank = jobs;
        o.extension = extension;
        o.previews = previews;
        o.memory_limit = memory_limit;
        o.seed = seed;
        o.repeat = repeat;
        o.quiet = true;
        const medimg::BatchResult r = on_kernel_thread([&] {
          std::ostringstream out, progress;
          return medimg::run_batch(o, out, progress);
        });
        nb::dict d;
        d["total"] = r.total;
        d["done"] = r.done;
        d["failed"] = r.failed;
        d["skipped"] = r.skipped;
        d["seconds"] = r.seconds;
        d["report"] = r.report;
        return d;
      },
      "manifest"_a, "steps"_a, "out_dir"_a, "resume"_a = false, "jobs"_a = 2,
      "extension"_a = ".nii.gz", "previews"_a = false, "memory_limit"_a = 0, "seed"_a = 0,
      "repeat"_a = 1);

  m.def("ops_description", [] { return medimg::pipeline_ops_description().dump(); });
}
