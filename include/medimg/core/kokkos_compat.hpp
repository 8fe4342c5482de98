// The one place in medimg that knows how Kokkos versions differ (the range
// CMake accepts: 3.4 up to, not including, 5). Four things differ between
// Kokkos 3.4 and 4.x for medimg, each below:
//   - math functions callable in kernels: Kokkos::Experimental:: in 3.x,
//     Kokkos:: in 4.x;
//   - the HIP execution space: Kokkos::Experimental::HIP in 3.x;
//   - initialisation settings: InitArguments in 3.x, InitializationSettings
//     in 4.x;
//   - a custom reduction's join(): volatile arguments in 3.x.
// Everything else uses the API common to both. Kokkos Kernels' accumulator
// types also differ between versions (its float dot sums in float since
// 4.3); medimg does not depend on them: its float sums are its own, in
// double (core/sums.hpp), with no version test.
#pragma once

#include <Kokkos_Core.hpp>

namespace medimg::compat {

#if KOKKOS_VERSION >= 40000
namespace kmath = ::Kokkos;
#else
namespace kmath = ::Kokkos::Experimental;
#endif

using kmath::ceil;
using kmath::cos;
using kmath::exp;
using kmath::fabs;
using kmath::floor;
using kmath::fmax;
using kmath::fmin;
using kmath::isfinite;
using kmath::isnan;
using kmath::log;
using kmath::pow;
using kmath::sin;
using kmath::sqrt;

#if defined(KOKKOS_ENABLE_HIP)
// The HIP execution space left Kokkos::Experimental in Kokkos 4.
#if KOKKOS_VERSION >= 40000
using HIP = ::Kokkos::HIP;
#else
using HIP = ::Kokkos::Experimental::HIP;
#endif
#endif

// Initialises Kokkos with a thread count (<= 0: Kokkos' default) and the
// device to use (< 0: Kokkos' default).
inline void initialize_kokkos(int num_threads, int device_id) {
#if KOKKOS_VERSION >= 40000
  Kokkos::InitializationSettings settings;
  if (num_threads > 0) settings.set_num_threads(num_threads);
  if (device_id >= 0) settings.set_device_id(device_id);
  Kokkos::initialize(settings);
#else
  Kokkos::InitArguments arguments;
  arguments.num_threads = num_threads > 0 ? num_threads : -1;
  arguments.device_id = device_id;
  Kokkos::initialize(arguments);
#endif
}

}  // namespace medimg::compat

// Qualifier of a custom reduction's join() arguments: Kokkos 3.x calls
// join(volatile T&, const volatile T&), Kokkos 4.x join(T&, const T&).
#if KOKKOS_VERSION >= 40000
#define MEDIMG_JOIN_VOLATILE
#else
#define MEDIMG_JOIN_VOLATILE volatile
#endif
