// The metadata rule of every geometric operation, as host functions that
// validate their arguments (medimg::Error names the argument) and return the
// output grid (and, for the index operations, the IndexMapping). The ops in
// include/medimg/ops/ combine these with the resample kernel or the index
// copy; DESIGN.md section 2 and docs/ARCHITECTURE.md state the same rules.
#pragma once

#include <string_view>

#include "medimg/core/geometry.hpp"
#include "medimg/ops/detail/index_copy.hpp"
#include "medimg/transform/affine.hpp"

namespace medimg {

// resample_to_spacing: size = max(1, round(size * old / new)); origin and
// direction kept.
Geometry spacing_grid(const Geometry& g, const Vec3& spacing);

// resize: the same physical extent (voxel edges) with `size` voxels: spacing
// old * n_old / n_new, origin moved by half the change of spacing along each
// axis so the outer voxel edges stay where they were.
Geometry resized_grid(const Geometry& g, const Size3& size);

// crop: origin = physical point of `start`; the region must lie inside.
Geometry cropped_grid(const Geometry& g, const Size3& start, const Size3& size);
IndexMapping crop_mapping(const Size3& start);

// pad: origin = physical point of index -before; before/after >= 0.
Geometry padded_grid(const Geometry& g, const Size3& before, const Size3& after);
IndexMapping pad_mapping(const Size3& before);

// crop_or_pad: the first index of the `size` voxels centred on the grid
// (negative along axes that are padded); its grid is region_grid (core).
Size3 centered_region_start(const Geometry& g, const Size3& size);

// flip: content mirrored along `axis`, geometry kept.
IndexMapping flip_mapping(const Geometry& g, Axis axis);

// change_orientation: the permutation/flip of axes that makes the grid's
// orientation code `code` (any of the 48); the physical content is unchanged.
// Oblique grids go to the nearest code like ITK's OrientImageFilter: each
// axis is matched by its dominant direction, the new direction matrix is the
// permuted, sign-flipped old one (still oblique).
struct Reorientation {
  Geometry grid;
  IndexMapping mapping;
};
Reorientation reorientation(const Geometry& g, std::string_view code);

// rotate: rotation by `degrees` (right-hand rule) about the image's own
// `axis` (the direction column) through the physical centre of the grid. The
// returned transform maps output points to input points (rotation by
// -degrees), as resample needs.
AffineTransform rotation_about_center(const Geometry& g, Axis axis, double degrees);

// rotate with expand: the grid (same spacing and direction, same centre)
// grown to hold every voxel centre of the rotated image.
Geometry expanded_grid(const Geometry& g, Axis axis, double degrees);

// scale: content zoomed by factors (along the image's own axes) about the
// centre, grid kept; maps output points to input points.
AffineTransform zoom_about_center(const Geometry& g, const Vec3& factors);

// Parses "i"/"x", "j"/"y", "k"/"z"; throws medimg::Error otherwise.
Axis parse_axis(std::string_view name);

}  // namespace medimg
