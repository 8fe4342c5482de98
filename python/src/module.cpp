// _medimg: the compiled half of the medimg Python package (nanobind). The
// Python half (python/medimg/__init__.py) builds the public API on it:
// docs/PYTHON.md.
//
// What lives here:
//   Image          an image's voxels (host memory, or on GPU builds device
//                  memory: Voxels below) and, when they belong to a Python
//                  object (from_array, from_dlpack without a copy), that object
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
#include <type_traits>
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
// Images alive: Kokkos is finalised at exit when none is, else when the last
// one goes (interpreter teardown frees module globals, torch tensors over
// GPU images, ...): a process that never finalises Kokkos' CUDA backend
// prints "Failed to call Kokkos::Cuda::finalize()" at its end.
std::atomic<long> g_live_images{0};
std::atomic<bool> g_finalize_pending{false};

// Runs `work` on the kernel thread with the GIL released.
template <class Work>
auto on_kernel_thread(Work&& work) -> decltype(work()) {
  nb::gil_scoped_release release;
  return g_kernels->run(std::forward<Work>(work));
}

using medimg::DeviceMemory;

// GPU builds keep a Python image's voxels where they are: in host memory
// (read, from_array) or in device memory (from_dlpack of a CUDA/HIP tensor,
// to_device, and what ops on such an image return). On CPU builds the two
// spaces are one and `on_device` is always false.
constexpr bool kDeviceIsHost = std::is_same_v<DeviceMemory, HostMemory>;

struct Voxels {
  AnyImage<HostMemory> host;
  AnyImage<DeviceMemory> device;
  bool on_device = false;
};

template <class Work>
decltype(auto) visit_held(const Voxels& v, Work&& work) {
  if constexpr (!kDeviceIsHost) {
    if (v.on_device) return std::visit(std::forward<Work>(work), v.device);
  }
  return std::visit(std::forward<Work>(work), v.host);
}

// The voxels as a device image: the same ones for a device image (and on CPU
// builds), a copy for a host image on a GPU build. Kernel thread only.
AnyImage<DeviceMemory> device_image(const Voxels& v) {
  if (v.on_device) return v.device;
  return std::visit([](const auto& im) { return AnyImage<DeviceMemory>(medimg::to_device(im)); },
                    v.host);
}

// The voxels as a host image: the same ones for a host image, a copy for a
// device image. Kernel thread only.
AnyImage<HostMemory> host_image(const Voxels& v) {
  if (!v.on_device) return v.host;
  return std::visit([](const auto& im) { return AnyImage<HostMemory>(medimg::to_host(im)); },
                    v.device);
}

// An op's device result placed as its input was: kept on the device for a
// device input, copied to the host otherwise (no copy on CPU builds).
// Fenced, so a DLPack consumer on any stream sees the finished voxels.
// Kernel thread only.
Voxels placed(AnyImage<DeviceMemory> result, bool on_device) {
  Voxels v;
  if constexpr (!kDeviceIsHost) {
    if (on_device) {
      Kokkos::fence();
      v.device = std::move(result);
      v.on_device = true;
      return v;
    }
  }
  v.host =
      std::visit([](const auto& im) { return AnyImage<HostMemory>(medimg::to_host(im)); }, result);
  return v;
}

class PyImage {
 public:
  explicit PyImage(AnyImage<HostMemory> image, nb::object keeper = {})
      : m_keeper(std::move(keeper)) {
    m_voxels.host = std::move(image);
    ++g_live_images;
  }
  explicit PyImage(Voxels voxels, nb::object keeper = {})
      : m_voxels(std::move(voxels)), m_keeper(std::move(keeper)) {
    ++g_live_images;
  }
  ~PyImage() {
    // The voxels go first (under the GIL: the keeper is a Python object).
    // Assigned, not moved from: Kokkos 3.4's View has no move constructor,
    // so a moved-from image would keep its voxels until its own end.
    m_voxels = Voxels{};
    if (--g_live_images == 0 && g_finalize_pending.exchange(false)) {
      nb::gil_scoped_release release;
      g_kernels->stop(true);
    }
  }
  PyImage(const PyImage&) = delete;
  PyImage& operator=(const PyImage&) = delete;

  const Voxels& voxels() const { return m_voxels; }
  bool on_device() const { return m_voxels.on_device; }
  // The host image; throws for an image in device memory (cpu() copies).
  const AnyImage<HostMemory>& host() const {
    if (m_voxels.on_device) {
      throw medimg::Error(
          "the image's voxels are in GPU memory: image.cpu() copies them to the host, "
          "torch.from_dlpack(image) uses them in place");
    }
    return m_voxels.host;
  }
  const nb::object& keeper() const { return m_keeper; }
  const Geometry& geometry() const {
    return visit_held(m_voxels, [](const auto& im) -> const Geometry& { return im.geometry(); });
  }
  medimg::PixelType pixel_type() const {
    return visit_held(m_voxels, [](const auto& im) { return im.pixel_type(); });
  }
  const medimg::Metadata& metadata() const {
    return visit_held(m_voxels,
                      [](const auto& im) -> const medimg::Metadata& { return im.metadata(); });
  }
  const void* data() const {
    return visit_held(m_voxels, [](const auto& im) -> const void* { return im.voxels().data(); });
  }

 private:
  Voxels m_voxels;
  nb::object m_keeper;  // the Python object whose memory the voxels are, or None
};

// A result image; it keeps `source`'s keeper when it shares its voxels.
PyImage* wrap_result(Voxels result, const PyImage& source) {
  const void* data =
      visit_held(result, [](const auto& im) -> const void* { return im.voxels().data(); });
  nb::object keeper = data == source.data() ? source.keeper() : nb::object();
  return new PyImage(std::move(result), std::move(keeper));
}

// DLPack's name for this build's device memory: (device type, device id),
// and the stream a producer must make its data visible on before medimg's
// kernels read it (DLPack's __dlpack__(stream=...)). CPU builds: kDLCPU.
std::pair<std::int32_t, std::int32_t> dlpack_device_of_build() {
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (std::is_same_v<Kokkos::DefaultExecutionSpace, Kokkos::Cuda>) {
    return {nb::device::cuda::value, Kokkos::DefaultExecutionSpace().cuda_device()};
  }
#elif defined(KOKKOS_ENABLE_HIP)
  if constexpr (!kDeviceIsHost) {
    return {nb::device::rocm::value, Kokkos::DefaultExecutionSpace().hip_device()};
  }
#endif
  return {nb::device::cpu::value, 0};
}

// The stream medimg's kernels run on, as DLPack numbers it: for CUDA 1 is
// the legacy default stream (Kokkos 3's default instance runs on stream 0),
// else the cudaStream_t; for ROCm 0 is the default stream. None on CPU builds.
std::optional<std::uintptr_t> dlpack_stream_of_build() {
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (std::is_same_v<Kokkos::DefaultExecutionSpace, Kokkos::Cuda>) {
    const auto stream =
        reinterpret_cast<std::uintptr_t>(Kokkos::DefaultExecutionSpace().cuda_stream());
    return stream == 0 ? std::uintptr_t{1} : stream;
  }
#elif defined(KOKKOS_ENABLE_HIP)
  if constexpr (!kDeviceIsHost) {
    return reinterpret_cast<std::uintptr_t>(Kokkos::DefaultExecutionSpace().hip_stream());
  }
#endif
  return std::nullopt;
}

// Both read once on the kernel thread at import.
struct DeviceFacts {
  std::pair<std::int32_t, std::int32_t> dlpack_device{nb::device::cpu::value, 0};
  std::optional<std::uintptr_t> stream;
};
DeviceFacts g_device;

std::pair<std::int32_t, std::int32_t> dlpack_device() {
  return g_device.dlpack_device;
}

std::string device_name(bool on_device) {
  if (!on_device) return "cpu";
  const auto [type, id] = dlpack_device();
  return std::string(type == nb::device::cuda::value ? "cuda:" : "hip:") + std::to_string(id);
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
template <class T, class MemorySpace>
AnyImage<MemorySpace> image_over(void* data, const Geometry& geometry) {
  using View = typename medimg::Image<T, MemorySpace>::view_type;
  const auto& n = geometry.size();
  View voxels(static_cast<T*>(data), static_cast<std::size_t>(n[0]), static_cast<std::size_t>(n[1]),
              static_cast<std::size_t>(n[2]));
  return medimg::Image<T, MemorySpace>(geometry, voxels);
}

// The image over a 3-D array's memory (host or device), without a copy;
// `what` names the call in the error for a layout other than Fortran order.
template <class MemorySpace, class Array>
AnyImage<MemorySpace> image_over_array(const Array& array, const std::array<double, 3>& origin,
                                       const std::array<double, 3>& spacing, const Rows3& direction,
                                       const char* what) {
  const medimg::Size3 size{static_cast<std::int64_t>(array.shape(0)),
                           static_cast<std::int64_t>(array.shape(1)),
                           static_cast<std::int64_t>(array.shape(2))};
  const std::int64_t expected[3] = {1, size[0], size[0] * size[1]};
  for (int a = 0; a < 3; ++a) {
    if (size[a] > 1 && array.stride(static_cast<std::size_t>(a)) != expected[a]) {
      throw medimg::Error(std::string(what) +
                          " needs a Fortran-ordered (i fastest) array; "
                          "numpy.asfortranarray makes one (torch: t.permute(2, 1, 0)"
                          ".contiguous().permute(2, 1, 0))");
    }
  }
  const Geometry geometry = make_geometry({size[0], size[1], size[2]}, origin, spacing, direction);
  void* data = array.data();
  switch (pixel_type_of_dtype(array.dtype())) {
    case medimg::PixelType::uint8: return image_over<std::uint8_t, MemorySpace>(data, geometry);
    case medimg::PixelType::int16: return image_over<std::int16_t, MemorySpace>(data, geometry);
    case medimg::PixelType::uint16: return image_over<std::uint16_t, MemorySpace>(data, geometry);
    case medimg::PixelType::int32: return image_over<std::int32_t, MemorySpace>(data, geometry);
    case medimg::PixelType::float32: return image_over<float, MemorySpace>(data, geometry);
    case medimg::PixelType::float64: break;
  }
  return image_over<double, MemorySpace>(data, geometry);
}

PyImage* from_array(nb::ndarray<nb::ndim<3>, nb::device::cpu> array,
                    const std::array<double, 3>& origin, const std::array<double, 3>& spacing,
                    const Rows3& direction, nb::handle owner) {
  return new PyImage(image_over_array<HostMemory>(array, origin, spacing, direction, "from_array"),
                     nb::borrow<nb::object>(owner));
}

// An Image over a DLPack tensor in this build's device memory (a CUDA or
// ROCm torch/cupy tensor): no copy; the image keeps `owner` alive.
PyImage* from_device_array(nb::ndarray<nb::ndim<3>> array, const std::array<double, 3>& origin,
                           const std::array<double, 3>& spacing, const Rows3& direction,
                           nb::handle owner) {
  const auto [type, id] = dlpack_device();
  if (kDeviceIsHost) {
    throw medimg::Error("from_dlpack: this medimg runs on the CPU (" +
                        on_kernel_thread([] { return medimg::describe_backend(); }) +
                        "); a tensor in GPU memory is not used in place: tensor.cpu() copies it");
  }
  if (array.device_type() != type || array.device_id() != id) {
    throw medimg::Error(
        "from_dlpack: the tensor is on DLPack device (" + std::to_string(array.device_type()) +
        ", " + std::to_string(array.device_id()) + "); medimg's kernels run on " +
        device_name(true) + " (" + std::to_string(type) + ", " + std::to_string(id) + ")");
  }
  Voxels v;
  v.device = image_over_array<DeviceMemory>(array, origin, spacing, direction, "from_dlpack");
  v.on_device = true;
  return new PyImage(std::move(v), nb::borrow<nb::object>(owner));
}

// image.array: the voxels as a numpy array indexed [i, j, k], i fastest
// (Fortran order), writable, no copy; the array keeps the Image alive.
nb::object array_of(nb::handle self) {
  const PyImage& py = nb::cast<const PyImage&>(self);
  return std::visit(
      [&](auto& im) -> nb::object {
        using T = typename std::decay_t<decltype(im)>::value_type;
        const auto& n = im.geometry().size();
        const std::size_t shape[3] = {static_cast<std::size_t>(n[0]),
                                      static_cast<std::size_t>(n[1]),
                                      static_cast<std::size_t>(n[2])};
        const std::int64_t strides[3] = {1, n[0], n[0] * n[1]};
        nb::ndarray<nb::numpy, T> array(const_cast<T*>(im.voxels().data()), 3, shape, self,
                                        strides);
        return nb::cast(array, nb::rv_policy::reference);
      },
      py.host());
}

// The voxels as a DLPack-exporting nanobind ndarray (no copy; it keeps the
// Image alive): Image.__dlpack__ of a GPU image. Host images export through
// numpy (image.array) instead; this works for them too.
nb::object dlpack_view_of(nb::handle self) {
  const PyImage& py = nb::cast<const PyImage&>(self);
  const auto [type, id] = py.on_device()
                              ? dlpack_device()
                              : std::pair<std::int32_t, std::int32_t>{nb::device::cpu::value, 0};
  return visit_held(py.voxels(), [&, type = type, id = id](const auto& im) -> nb::object {
    using T = typename std::decay_t<decltype(im)>::value_type;
    const auto& n = im.geometry().size();
    const std::size_t shape[3] = {static_cast<std::size_t>(n[0]), static_cast<std::size_t>(n[1]),
                                  static_cast<std::size_t>(n[2])};
    const std::int64_t strides[3] = {1, n[0], n[0] * n[1]};
    nb::ndarray<nb::array_api, T> array(const_cast<T*>(im.voxels().data()), 3, shape, self, strides,
                                        nb::dtype<T>(), type, id);
    return nb::cast(array, nb::rv_policy::reference);
  });
}

std::string load_text_metadata(const medimg::Metadata& m) {
  return medimg::to_json(m);
}

// Runs on the device; the result is placed as the input was.
Voxels run_on_device(const medimg::Pipeline& pipeline, const Voxels& image) {
  return placed(pipeline.run(device_image(image)), image.on_device);
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
auto visit_real(const AnyImage<DeviceMemory>& image, Work&& work) {
  if (const auto* f = std::get_if<medimg::Image<float, DeviceMemory>>(&image)) return work(*f);
  if (const auto* d = std::get_if<medimg::Image<double, DeviceMemory>>(&image)) return work(*d);
  throw medimg::Error("resample for autograd takes float32 or float64 voxels, not " +
                      std::string(medimg::to_string(medimg::pixel_type(image))));
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
  g_device = g_kernels->run([] {
    return DeviceFacts{dlpack_device_of_build(), dlpack_stream_of_build()};
  });

  m.def("finalize", [] {
    // Called by atexit. Kokkos and MPI are finalised now when no image is
    // alive, else by the last image to go (~PyImage); one that never goes
    // leaves them initialised (its voxels must not outlive Kokkos).
    nb::gil_scoped_release release;
    if (g_live_images.load() == 0) {
      g_kernels->stop(true);
    } else {
      g_finalize_pending = true;
    }
  });
  m.def("live_images", [] { return g_live_images.load(); });
  m.def("backend", [] { return on_kernel_thread([] { return medimg::describe_backend(); }); });
  m.def("mpi_in_use", [] { return on_kernel_thread([] { return medimg::mpi_in_use(); }); });
  // DLPack: (device type, id) of the kernels' memory, and the stream a
  // producer makes its tensor ready on (None on CPU builds).
  m.def("dlpack_device", [] { return dlpack_device(); });
  m.def("dlpack_stream", [] { return g_device.stream; });

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
                   [](const PyImage& p) { return std::string(medimg::to_string(p.pixel_type())); })
      .def_prop_ro("metadata_json",
                   [](const PyImage& p) { return load_text_metadata(p.metadata()); })
      .def_prop_ro("array", &array_of)
      .def_prop_ro("device", [](const PyImage& p) { return device_name(p.on_device()); })
      .def("_dlpack_view", &dlpack_view_of)
      .def("cpu",
           [](nb::handle self) -> nb::object {
             const PyImage& p = nb::cast<const PyImage&>(self);
             if (!p.on_device()) return nb::borrow<nb::object>(self);
             Voxels v;
             v.host = on_kernel_thread([&] { return host_image(p.voxels()); });
             return nb::cast(new PyImage(std::move(v)), nb::rv_policy::take_ownership);
           })
      .def("to_device",
           [](nb::handle self) -> nb::object {
             const PyImage& p = nb::cast<const PyImage&>(self);
             if (p.on_device() || kDeviceIsHost) return nb::borrow<nb::object>(self);
             Voxels v = on_kernel_thread([&] { return placed(device_image(p.voxels()), true); });
             return nb::cast(new PyImage(std::move(v)), nb::rv_policy::take_ownership);
           })
      .def_prop_ro("data_pointer",
                   [](const PyImage& p) { return reinterpret_cast<std::uintptr_t>(p.data()); })
      .def_prop_ro("shares_array", [](const PyImage& p) { return p.keeper().is_valid(); })
      .def("with_geometry",
           [](const PyImage& p, const std::array<double, 3>& origin,
              const std::array<double, 3>& spacing,
              const std::array<std::array<double, 3>, 3>& direction) {
             const auto& n = p.geometry().size();
             const Geometry g = make_geometry({n[0], n[1], n[2]}, origin, spacing, direction);
             Voxels copy = p.voxels();  // shares the voxels
             const auto move = [&](auto& im) { im.set_geometry(g); };
             if (copy.on_device)
               std::visit(move, copy.device);
             else
               std::visit(move, copy.host);
             return new PyImage(std::move(copy), p.keeper());
           })
      .def_static("_from_array", &from_array, "array"_a, "origin"_a, "spacing"_a, "direction"_a,
                  "owner"_a)
      .def_static("_from_device_array", &from_device_array, "array"_a, "origin"_a, "spacing"_a,
                  "direction"_a, "owner"_a);

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
        on_kernel_thread([&] { medimg::save_image(host_image(image.voxels()), path, save); });
      },
      "image"_a, "path"_a, "compression_level"_a = 0, "nifti2"_a = false, "compress"_a = false);

  m.def(
      "run_steps",
      [](const PyImage& image, const std::string& json_text, const std::string& source) {
        Voxels out = on_kernel_thread([&] {
          // Loading reads the files steps name (references, masks) too.
          const medimg::Pipeline pipeline = medimg::Pipeline::from_json_text(json_text, source);
          return run_on_device(pipeline, image.voxels());
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
        Voxels out = on_kernel_thread([&] {
          return placed(
              std::visit(
                  [&](const auto& im) {
                    return AnyImage<DeviceMemory>(medimg::resample_to_image(fixed, im, how, fill));
                  },
                  device_image(image.voxels())),
              image.on_device());
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
        Voxels out = on_kernel_thread([&] {
          return placed(std::visit(
                            [&](const auto& im) {
                              return AnyImage<DeviceMemory>(
                                  medimg::resample(output, im, transform, how, fill));
                            },
                            device_image(image.voxels())),
                        image.on_device());
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
        std::optional<Voxels> image_gradient;
        std::optional<Rows34> params_gradient;
        on_kernel_thread([&] {
          const AnyImage<DeviceMemory> device_input = device_image(image.voxels());
          const AnyImage<DeviceMemory> device_dLdy = device_image(dLdy.voxels());
          visit_real(device_input, [&](const auto& input) {
            using T = typename std::decay_t<decltype(input)>::value_type;
            const auto* gradient = std::get_if<medimg::Image<T, DeviceMemory>>(&device_dLdy);
            if (gradient == nullptr) {
              throw medimg::Error("resample_backward: dL/dy must have the input's pixel type");
            }
            const medimg::Sampler<T, DeviceMemory> sampler(input, how);
            auto result =
                medimg::resample_backward(output, sampler, transform, *gradient, what, mode);
            if (result.image) {
              image_gradient = placed(AnyImage<DeviceMemory>(*result.image), image.on_device());
            }
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
        if (fixed.pixel_type() != medimg::PixelType::float32 ||
            moving.pixel_type() != medimg::PixelType::float32) {
          throw medimg::Error("register: fixed and moving must be float32 images");
        }
        auto [result, levels_run] = on_kernel_thread([&] {
          using Float = medimg::Image<float, DeviceMemory>;
          const auto r = medimg::register_images(Kokkos::DefaultExecutionSpace(),
                                                 std::get<Float>(device_image(fixed.voxels())),
                                                 std::get<Float>(device_image(moving.voxels())), s);
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
