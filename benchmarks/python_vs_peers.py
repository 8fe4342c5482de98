"""medimg's Python package against its peers, in one process, same input,
same transform, same threads:

    SimpleITK      sitk.Resample (ITK's ResampleImageFilter)
    scipy          scipy.ndimage.affine_transform (single-threaded: it has no
                   thread option, so its column is one thread by necessity)
    torch          torch.nn.functional.affine_grid + grid_sample on the CPU
                   (trilinear and nearest; it has no 3-D cubic mode)

on mricron's ch2better (1 mm) padded to an N^3 float32 cube (default 256).
Every peer's output is compared with medimg's on the voxels whose stencil
lies inside the volume in both (borders follow each library's own rules),
and the script prints best-of-R times and the ratios peer / medimg.

Usage: python_vs_peers.py [--size N] [--threads T] [--repeat R] [--json OUT]
(benchmarks/README or docs/PYTHON.md: python from .deps/venv-python.)
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np


def best_seconds(run, repeat):
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()

    os.environ["MEDIMG_THREADS"] = str(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import scipy
    import scipy.ndimage as ndi
    import SimpleITK as sitk
    import torch
    import torch.nn.functional as F

    import medimg

    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(args.threads)
    torch.set_num_threads(args.threads)
    n = args.size

    source = medimg.read("/usr/share/mricron/templates/ch2better.nii.gz")
    cube = medimg.crop_or_pad(medimg.cast(source, type="float32"), size=[n, n, n], value=0)
    # Identity direction, 1 mm, origin 0: index space and physical space are
    # the same map for every library.
    cube = cube.with_placement(origin=(0, 0, 0), spacing=(1, 1, 1), direction=np.eye(3))
    volume = cube.array                                  # [i, j, k], Fortran order
    peer = sitk.GetImageFromArray(np.ascontiguousarray(volume.T))  # (z, y, x)
    tensor = torch.from_numpy(np.ascontiguousarray(volume.T))[None, None]  # (1, 1, D, H, W)

    degrees = 10.0
    c = (n - 1) / 2.0
    a = math.radians(degrees)
    # medimg's rotate about the k axis through the centre: output index p
    # samples the input at R^-1 (p - c) + c (a rotation of the content by +a).
    rot = np.array([[math.cos(a), math.sin(a), 0.0], [-math.sin(a), math.cos(a), 0.0],
                    [0.0, 0.0, 1.0]])
    centre = np.full(3, c)
    offset = centre - rot @ centre

    def sitk_rotate(interp):
        transform = sitk.AffineTransform(3)
        transform.SetMatrix(rot.reshape(-1).tolist())
        transform.SetTranslation(offset.tolist())
        return lambda: sitk.Resample(peer, peer, transform, interp, 0.0, sitk.sitkFloat32)

    def torch_rotate(mode):
        # grid_sample's grid is (x, y, z) = (i, j, k); with align_corners on a
        # cube the map u_in = R u_out in normalised coordinates is theta = [R | 0].
        theta = torch.zeros(1, 3, 4, dtype=torch.float32)
        theta[0, :, :3] = torch.from_numpy(rot.astype(np.float32))
        def run():
            grid = F.affine_grid(theta, tensor.shape, align_corners=True)
            return F.grid_sample(tensor, grid, mode=mode, padding_mode="zeros", align_corners=True)
        return run

    spacing = 1.5
    m = int(math.floor(n / spacing + 0.5))
    scale = np.diag([spacing] * 3)

    def sitk_resample():
        return sitk.Resample(peer, [m] * 3, sitk.Transform(), sitk.sitkLinear, (0, 0, 0),
                             [spacing] * 3, peer.GetDirection(), 0.0, sitk.sitkFloat32)

    def torch_resample():
        s = spacing * (m - 1) / (n - 1)
        theta = torch.zeros(1, 3, 4, dtype=torch.float32)
        theta[0, 0, 0] = theta[0, 1, 1] = theta[0, 2, 2] = s
        theta[0, :, 3] = s - 1.0
        def run():
            grid = F.affine_grid(theta, (1, 1, m, m, m), align_corners=True)
            return F.grid_sample(tensor, grid, mode="bilinear", padding_mode="zeros",
                                 align_corners=True)
        return run

    cases = [
        ("rotate 10 deg, linear",
         lambda: medimg.rotate(cube, axis="z", degrees=degrees, interp="linear"),
         {"SimpleITK": sitk_rotate(sitk.sitkLinear),
          "scipy": lambda: ndi.affine_transform(volume, rot, offset, order=1, mode="constant"),
          "torch": torch_rotate("bilinear")}, (rot, offset, 1)),
        ("rotate 10 deg, nearest",
         lambda: medimg.rotate(cube, axis="z", degrees=degrees, interp="nearest"),
         {"SimpleITK": sitk_rotate(sitk.sitkNearestNeighbor),
          "scipy": lambda: ndi.affine_transform(volume, rot, offset, order=0, mode="constant"),
          "torch": torch_rotate("nearest")}, (rot, offset, 1)),
        ("rotate 10 deg, cubic B-spline",
         lambda: medimg.rotate(cube, axis="z", degrees=degrees, interp="bspline"),
         {"SimpleITK": sitk_rotate(sitk.sitkBSpline),
          "scipy": lambda: ndi.affine_transform(volume, rot, offset, order=3, mode="constant")},
         (rot, offset, 4)),
        ("resample to 1.5 mm, linear",
         lambda: medimg.resample_to_spacing(cube, spacing=[spacing] * 3, interp="linear"),
         {"SimpleITK": sitk_resample,
          "scipy": lambda: ndi.affine_transform(volume, scale, output_shape=(m, m, m), order=1,
                                                mode="constant"),
          "torch": torch_resample()}, (scale, np.zeros(3), 1)),
    ]

    def inside(shape, matrix, shift, margin):
        """Output voxels whose sample point A p + t lies at least `margin`
        voxels inside the input (where every library interpolates fully;
        at the input's border each applies its own rule)."""
        i, j, k = np.ogrid[:shape[0], :shape[1], :shape[2]]
        mask = np.ones(shape, bool)
        for row in range(3):
            q = (np.float32(matrix[row][0]) * i + np.float32(matrix[row][1]) * j
                 + np.float32(matrix[row][2]) * k + np.float32(shift[row]))
            mask &= (q >= margin) & (q <= n - 1 - margin)
        return mask

    def as_ijk(result):
        if isinstance(result, sitk.Image):
            return sitk.GetArrayFromImage(result).T
        if torch.is_tensor(result):
            return result[0, 0].numpy().T
        if isinstance(result, np.ndarray):
            return result
        return result.array

    print(f"medimg {medimg.backend()}; SimpleITK {sitk.Version_VersionString()}, scipy "
          f"{scipy.__version__} (1 thread), torch {torch.__version__}; {n}^3 float32 (ch2better "
          f"padded), {args.threads} threads, best of {args.repeat}")
    print(f"{'case':32} {'medimg s':>9}  " + "  ".join(f"{p:>22}" for p in ("SimpleITK", "scipy",
                                                                             "torch")))
    rows = []
    for name, ours, peers, (matrix, shift, margin) in cases:
        ours()  # warm-up
        t_medimg = best_seconds(ours, args.repeat)
        reference = as_ijk(ours())
        interior = inside(reference.shape, matrix, shift, margin)
        row = {"case": name, "medimg_s": t_medimg, "peers": {}}
        cells = []
        for peer_name in ("SimpleITK", "scipy", "torch"):
            run = peers.get(peer_name)
            if run is None:
                cells.append(f"{'n/a':>22}")
                continue
            run()
            t = best_seconds(run, args.repeat)
            out = as_ijk(run())
            a, b = reference[interior], out[interior]
            diff = float(np.max(np.abs(a - b)))
            if "nearest" in name:  # half-way ties may round either way
                diff = float(np.mean(a != b))
            row["peers"][peer_name] = {"s": t, "ratio": t / t_medimg, "difference": diff}
            cells.append(f"{t:7.3f}s {t / t_medimg:5.1f}x d={diff:.1e}")
        rows.append(row)
        print(f"{name:32} {t_medimg:8.3f}s  " + "  ".join(cells))
    print("d: largest |difference| from medimg over the output voxels whose sample point lies "
          "inside the input by 1 voxel (4 for B-splines), where every library interpolates "
          "fully (nearest: the fraction of those voxels that differ)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size": n, "threads": args.threads, "repeat": args.repeat, "rows": rows}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
