// The resampling kernel and the index copy on DistributedImages (DESIGN.md
// section 5). The output is split into k-slabs like any DistributedImage;
// each rank computes its slab with the single-process functors
// (ResampleAffineRows, CopyByIndexMapping) over a Window of the input: the
// box of input voxels its slab reads. The window is found by transforming
// the slab's 8 corners to input indices (the continuous index is affine in
// the output index, so the corners bound it), widening by the
// interpolator's support plus one voxel (B-spline mirroring and the float
// cast of its start index), and clamping to the image; fetch() brings it.
// Interpolators evaluate at the same global continuous index with the same
// weights and the same voxel values as on one process, so the gathered
// result is bit-identical to the single-process one.
//
// B-spline coefficients (bspline_coefficients on a DistributedImage): the
// prefilter runs along i and j in each slab; for k, whose recursion crosses
// slabs, the coefficients are transposed to j-slabs (each rank then holds
// whole k-lines), filtered along k, and transposed back. Each transpose
// moves (P - 1) / P of the volume once, in P^2 - P blocks; every line is
// filtered with the single-process arithmetic, so the coefficients are
// bit-identical too.
#pragma once

#include <Kokkos_Core.hpp>
#include <optional>

#include "medimg/core/pixel_cast.hpp"
#include "medimg/dist/exchange.hpp"
#include "medimg/ops/detail/index_copy.hpp"
#include "medimg/resample/resample.hpp"
#include "medimg/resample/sampler.hpp"

namespace medimg {

namespace impl {

// The prefilter's pass along k (transpose = true: its transpose) on a
// distributed array without ghosts: to j-slabs (every rank then holds whole
// k-lines), filter, and back. Collective.
template <class ExecutionSpace, class Real, class MemorySpace>
void bspline_filter_along_k(const ExecutionSpace& exec, DistributedImage<Real, MemorySpace>& c,
                            bool transpose) {
  const Size3& n = c.geometry().size();
  if (n[2] < 2) return;
  const std::int64_t count = c.k_end() - c.k_begin();
  const auto coefficients = c.owned();
  // Transpose to j-slabs: rank q gets j in [columns.begin(q), columns.end(q)), all k.
  const SlabDecomposition columns(n[1], c.ranks());
  const int me = c.rank();
  const std::int64_t my_columns = columns.count(me);
  Kokkos::View<Real***, Kokkos::LayoutLeft, MemorySpace> lines(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "medimg::bspline_k_lines"),
      static_cast<std::size_t>(n[0]), static_cast<std::size_t>(my_columns),
      static_cast<std::size_t>(n[2]));
  const impl::MpiBuffer<Real, MemorySpace> slab(coefficients, true);
  const impl::MpiBuffer<Real, MemorySpace> host_lines(lines, false);
  const Size3 slab_dims{n[0], n[1], count};
  const Size3 line_dims{n[0], my_columns, n[2]};
  std::vector<impl::Transfer<const Real>> to_lines;
  std::vector<impl::Transfer<Real>> into_lines;
  std::vector<impl::Transfer<const Real>> from_lines;
  std::vector<impl::Transfer<Real>> into_slab;
  for (int q = 0; q < c.ranks(); ++q) {
    const Size3 block{n[0], columns.count(q), count};  // my planes of q's columns
    if (block[1] > 0 && block[2] > 0) {
      to_lines.push_back({q, slab.data(), slab_dims, Size3{0, columns.begin(q), 0}, block});
      into_slab.push_back({q, slab.data(), slab_dims, Size3{0, columns.begin(q), 0}, block});
    }
    const Size3 theirs{n[0], my_columns, c.slabs().count(q)};  // q's planes of my columns
    if (theirs[1] > 0 && theirs[2] > 0) {
      into_lines.push_back(
          {q, host_lines.data(), line_dims, Size3{0, 0, c.slabs().begin(q)}, theirs});
      from_lines.push_back(
          {q, host_lines.data(), line_dims, Size3{0, 0, c.slabs().begin(q)}, theirs});
    }
  }
  slab.exchange(c.comm(), to_lines, into_lines, 33);
  host_lines.finish();
  impl::bspline_filter(exec, lines.data(), line_dims, transpose, 4u);
  exec.fence();
  host_lines.refill();
  host_lines.exchange(c.comm(), from_lines, into_slab, 34);
  slab.finish();
}

}  // namespace impl

// The cubic B-spline coefficients of a distributed image, on the same slabs
// (no ghosts). Collective.
template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<interp_real_t<T>, MemorySpace> bspline_coefficients(
    const ExecutionSpace& exec, const DistributedImage<T, MemorySpace>& image) {
  using Real = interp_real_t<T>;
  DistributedImage<Real, MemorySpace> c(image.comm(), image.geometry(),
                                        default_ghosts(image.geometry().size()[2], image.ranks()),
                                        false);
  c.metadata() = image.metadata();
  const Size3& n = image.geometry().size();
  const std::int64_t count = image.k_end() - image.k_begin();
  const std::int64_t skip = (image.k_begin() - image.held_begin()) * image.plane_size();
  const auto input = image.local();
  const auto coefficients = c.owned();
  Kokkos::parallel_for("medimg::bspline_copy",
                       Kokkos::RangePolicy<ExecutionSpace, Kokkos::IndexType<std::int64_t>>(
                           exec, 0, count * image.plane_size()),
                       impl::CastVoxels<Real, T>{input.data() + skip, coefficients.data()});
  impl::bspline_filter(exec, coefficients.data(), Size3{n[0], n[1], count}, false, 3u);
  impl::bspline_filter_along_k(exec, c, false);
  return c;
}

// A distributed image made ready for one interpolator (the distributed
// Sampler): for B-splines it holds the distributed coefficients.
template <class T, class MemorySpace>
class DistributedSampler {
 public:
  using real_type = interp_real_t<T>;

  template <class ExecutionSpace>
  DistributedSampler(const ExecutionSpace& exec, const DistributedImage<T, MemorySpace>& image,
                     Interp interp)
      : m_image(image), m_interp(interp) {
    if (interp == Interp::bspline) m_coefficients.emplace(bspline_coefficients(exec, image));
  }

  const DistributedImage<T, MemorySpace>& image() const { return m_image; }
  const Geometry& geometry() const { return m_image.geometry(); }
  Interp interp() const { return m_interp; }
  // Voxels beyond floor(c) a stencil may read, with room for rounding: the
  // B-spline start index floor((float)c) - 1 can be floor(c) - 2, and
  // mirroring at the far border reads down to n - 3.
  int margin() const { return m_interp == Interp::bspline ? 3 : 1; }

  // Collective: starts fetching `need` and calls f(interpolator, pending)
  // over that window; f may compute what reads only this rank's own planes
  // before pending.wait() (a halo window), and must wait before the rest.
  template <class F>
  void visit(const Box& need, F&& f) const {
    const Size3& size = m_image.geometry().size();
    if (m_interp == Interp::bspline) {
      auto pending = begin_fetch(*m_coefficients, need);
      const auto& w = pending.window;
      f(BSplineInterpolator<decltype(w.data)>{w.data, size, w.offset}, pending);
      pending.wait();
      return;
    }
    auto pending = begin_fetch(m_image, need);
    const auto& w = pending.window;
    using View = decltype(w.data);
    if (m_interp == Interp::nearest) {
      f(NearestInterpolator<View>{w.data, size, w.offset}, pending);
    } else {
      f(LinearInterpolator<View>{w.data, size, w.offset}, pending);
    }
    pending.wait();
  }

 private:
  DistributedImage<T, MemorySpace> m_image;
  Interp m_interp;
  std::optional<DistributedImage<real_type, MemorySpace>> m_coefficients;
};

namespace impl {

// The input voxels output planes [k0, k1) of `output` read through `map`,
// widened by `margin` voxels below and margin + 1 above, clamped.
Box preimage_box(const IndexMap& map, const Size3& output, std::int64_t k0, std::int64_t k1,
                 const Size3& input, int margin);

// Output planes [first, last) within [k0, k1): the longest run of planes
// whose preimage box lies within input planes [owned0, owned1).
struct Range {
  std::int64_t first, last;
};
Range interior_planes(const IndexMap& map, const Size3& output, std::int64_t k0, std::int64_t k1,
                      const Size3& input, int margin, std::int64_t owned0, std::int64_t owned1);

// The same for an index mapping (exact: a signed permutation plus offset).
Box preimage_box(const IndexMapping& mapping, const Size3& output, std::int64_t k0, std::int64_t k1,
                 const Size3& input);

}  // namespace impl

// Collective. The distributed resample_as: output on `output`, slabs over
// the input's communicator, no ghosts.
template <class Out, class ExecutionSpace, class T, class MemorySpace>
DistributedImage<Out, MemorySpace> resample_as(const ExecutionSpace& exec, const Geometry& output,
                                               const DistributedSampler<T, MemorySpace>& input,
                                               const AffineTransform& transform,
                                               double fill = 0.0) {
  DistributedImage<Out, MemorySpace> result(
      input.image().comm(), output, default_ghosts(output.size()[2], input.image().ranks()), false);
  result.metadata() = input.image().metadata();
  const impl::IndexMap map = impl::index_map(output, input.geometry(), transform);
  const std::int64_t k0 = result.k_begin(), k1 = result.k_end();
  const Box need = result.empty() ? Box{}
                                  : impl::preimage_box(map, output.size(), k0, k1,
                                                       input.geometry().size(), input.margin());
  const std::int64_t planes = k1 - k0;
  input.visit(need, [&](const auto& interp, auto& pending) {
    if (result.empty()) return;
    using Interpolator = std::decay_t<decltype(interp)>;
    // Output planes [p0, p1) of the slab.
    auto run = [&](std::int64_t p0, std::int64_t p1) {
      if (p1 <= p0) return;
      const auto out =
          Kokkos::subview(result.owned(), Kokkos::ALL, Kokkos::ALL, Kokkos::make_pair(p0, p1));
      impl::ResampleAffineRows<ExecutionSpace, std::decay_t<decltype(out)>, Interpolator> functor{
          out,
          interp,
          map,
          input.geometry().size(),
          output.size()[0],
          output.size()[1],
          pixel_cast<Out>(fill),
          k0 + p0};
      impl::run_affine_rows(exec, "medimg::resample_affine_slab", functor, p1 - p0);
    };
    // A halo window: the planes whose preimage lies in this rank's own input
    // planes are computed while the ghost planes arrive.
    std::int64_t a = 0, b = 0;
    if (pending.halo) {
      const impl::Range interior =
          impl::interior_planes(map, output.size(), k0, k1, input.geometry().size(), input.margin(),
                                input.image().k_begin(), input.image().k_end());
      a = interior.first - k0;
      b = interior.last - k0;
    }
    run(a, b);
    pending.wait();
    run(0, a);
    run(b, planes);
    exec.fence();
  });
  return result;
}

template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> resample(const ExecutionSpace& exec, const Geometry& output,
                                          const DistributedImage<T, MemorySpace>& input,
                                          const AffineTransform& transform, Interp interp,
                                          double fill = 0.0) {
  return resample_as<T>(exec, output, DistributedSampler<T, MemorySpace>(exec, input, interp),
                        transform, fill);
}

// Compiled once, in src/dist/instances.cpp, as the single-process affine
// resample is (resample/resample.hpp).
#define MEDIMG_DIST_RESAMPLE(T)                              \
  template DistributedImage<T, DeviceMemory> resample(       \
      const DeviceMemory::execution_space&, const Geometry&, \
      const DistributedImage<T, DeviceMemory>&, const AffineTransform&, Interp, double);
#define MEDIMG_EXTERN_DIST_RESAMPLE(T) extern MEDIMG_DIST_RESAMPLE(T)
MEDIMG_FOR_EACH_PIXEL_TYPE(MEDIMG_EXTERN_DIST_RESAMPLE)
#undef MEDIMG_EXTERN_DIST_RESAMPLE

// Collective. The distributed copy_by_index_mapping (crop, pad, flip,
// change_orientation): a change_orientation that moves the k axis reads a
// box spanning every input slab, so the data is redistributed.
template <class ExecutionSpace, class T, class MemorySpace>
DistributedImage<T, MemorySpace> copy_by_index_mapping(
    const ExecutionSpace& exec, const DistributedImage<T, MemorySpace>& input,
    const Geometry& output, const IndexMapping& mapping, T fill, const char* label) {
  DistributedImage<T, MemorySpace> result(input.comm(), output,
                                          default_ghosts(output.size()[2], input.ranks()), false);
  result.metadata() = input.metadata();
  const std::int64_t k0 = result.k_begin(), k1 = result.k_end();
  const Box need =
      result.empty() ? Box{}
                     : impl::preimage_box(mapping, output.size(), k0, k1, input.geometry().size());
  const auto window = fetch(input, need);
  if (result.empty()) return result;
  using View = typename DistributedImage<T, MemorySpace>::view_type;
  impl::run_index_copy(
      exec,
      impl::CopyByIndexMapping<typename View::const_type, View>{
          window.data, result.owned(), mapping, fill, input.geometry().size(), window.offset, k0},
      label);
  exec.fence();
  return result;
}

// Compiled once as well (src/dist/instances.cpp): crop, pad, flip and
// reorient on the default device.
#define MEDIMG_DIST_INDEX_COPY(T)                                                     \
  template DistributedImage<T, DeviceMemory> copy_by_index_mapping(                   \
      const DeviceMemory::execution_space&, const DistributedImage<T, DeviceMemory>&, \
      const Geometry&, const IndexMapping&, T, const char*);
#define MEDIMG_EXTERN_DIST_INDEX_COPY(T) extern MEDIMG_DIST_INDEX_COPY(T)
MEDIMG_FOR_EACH_PIXEL_TYPE(MEDIMG_EXTERN_DIST_INDEX_COPY)
#undef MEDIMG_EXTERN_DIST_INDEX_COPY

}  // namespace medimg
