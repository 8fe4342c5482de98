#!/usr/bin/env python3
"""medimg's resampling against torch.nn.functional.grid_sample, same GPU.

Runs medimg_device_bench (which writes its timings, the volume formula and
the transform as JSON), then times torch's trilinear grid_sample and its
input gradient on the same N^3 float32 volume with the same rotation, on the
same device, and prints both and the ratio.

The transform: medimg maps each output index p to the input index
R (p - c) + c (c the cube's centre). grid_sample with align_corners=True maps
normalised coordinates u = 2 p / (N - 1) - 1, so the same map is u_in = R u_out
on a cube: theta = [R | 0]. grid_sample's last grid axis is (x, y, z) =
(W, H, D) = medimg's (i, j, k); its tensor is (1, 1, D, H, W), medimg's
voxels are i-fastest, the same memory order.

torch times include building the sampling grid (affine_grid) separately, so
the ratio is reported against grid_sample alone (the kernel comparable to
medimg's resample, which computes positions inside the kernel) and against
affine_grid + grid_sample (what a user of torch runs).

Usage: grid_sample_vs_medimg.py MEDIMG_DEVICE_BENCH [--size N] [--repeat R]
       [--device cuda|cpu] [--json OUT]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def best_ms(run, repeat, sync):
    best = float("inf")
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        run()
        sync()
        best = min(best, (time.perf_counter() - start) * 1e3)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench", help="path to medimg_device_bench")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    parser.add_argument("--json", default=None, help="write the combined results here")
    args = parser.parse_args()

    import torch  # imported here so --help works without torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        medimg_json = os.path.join(tmp, "medimg.json")
        linear_raw = os.path.join(tmp, "linear.raw")
        subprocess.run([args.bench, "--size", str(args.size), "--repeat", str(args.repeat),
                        "--json", medimg_json, "--write-linear", linear_raw], check=True)
        with open(medimg_json) as f:
            medimg = json.load(f)
        n = medimg["size"]
        medimg_linear = torch.from_file(linear_raw, size=n ** 3, dtype=torch.float32).view(
            1, 1, n, n, n).to(device)

    rotation = torch.tensor(medimg["rotation_matrix_ijk"], dtype=torch.float32)
    theta = torch.zeros(1, 3, 4, dtype=torch.float32)
    theta[0, :, :3] = rotation
    theta = theta.to(device)

    # The volume medimg_device_bench builds: ((7 i + 13 j + 29 k) mod 251) / 251.
    idx = torch.arange(n, device=device, dtype=torch.int64)
    k = idx.view(n, 1, 1)
    j = idx.view(1, n, 1)
    i = idx.view(1, 1, n)
    volume = (((7 * i + 13 * j + 29 * k) % 251).to(torch.float32) / 251.0).view(1, 1, n, n, n)
    volume = volume.contiguous()

    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    F = torch.nn.functional
    grid = F.affine_grid(theta, (1, 1, n, n, n), align_corners=True)

    def forward():
        return F.grid_sample(volume, grid, mode="bilinear", padding_mode="zeros",
                             align_corners=True)

    def forward_with_grid():
        g = F.affine_grid(theta, (1, 1, n, n, n), align_corners=True)
        return F.grid_sample(volume, g, mode="bilinear", padding_mode="zeros",
                             align_corners=True)

    def nearest():
        return F.grid_sample(volume, grid, mode="nearest", padding_mode="zeros",
                             align_corners=True)

    # Both must compute the same map: compare where the whole trilinear
    # stencil is inside the volume (the edges differ by design: ITK's rules
    # in medimg, zero padding in torch).
    with torch.no_grad():
        position = (grid + 1) * (n - 1) / 2
        interior = ((position >= 0) & (position <= n - 1)).all(dim=-1).unsqueeze(1)
        difference = (forward() - medimg_linear).abs()[interior]
        max_difference = difference.max().item()
    print(f"max |medimg - grid_sample| over {difference.numel()} interior voxels:"
          f" {max_difference:.3g}")
    if not max_difference < 1e-4:
        print("medimg and grid_sample disagree: the comparison would be meaningless",
              file=sys.stderr)
        return 1

    # The input gradient alone, as medimg's backward: the forward runs once,
    # outside the timing, and its graph is kept for the repeated backward.
    upstream = volume.clone()
    leaf = volume.clone().requires_grad_(True)
    sampled = F.grid_sample(leaf, grid, mode="bilinear", padding_mode="zeros", align_corners=True)

    def backward():
        (grad,) = torch.autograd.grad(sampled, leaf, upstream, retain_graph=True)
        return grad

    with torch.no_grad():
        forward()  # warm-up
        nearest()
        t_linear = best_ms(forward, args.repeat, sync)
        t_linear_grid = best_ms(forward_with_grid, args.repeat, sync)
        t_nearest = best_ms(nearest, args.repeat, sync)
    backward()
    t_backward = best_ms(backward, args.repeat, sync)

    ours = {r["op"]: r["device_ms"] for r in medimg["results"]}
    rows = [
        ("linear rotate vs grid_sample bilinear", ours["linear rotate"], t_linear),
        ("linear rotate vs affine_grid + grid_sample", ours["linear rotate"], t_linear_grid),
        ("nearest rotate vs grid_sample nearest", ours["nearest rotate"], t_nearest),
        ("linear backward vs grid_sample input grad", ours["linear backward (dL/dx, scatter)"],
         t_backward),
    ]
    voxels = n ** 3
    print(f"\nmedimg ({medimg['device']}) vs torch {torch.__version__} ({device}), {n}^3 float32,"
          f" best of {args.repeat}")
    print(f"{'comparison':44s} {'medimg ms':>10s} {'Gvox/s':>8s} {'torch ms':>10s} {'Gvox/s':>8s}"
          f" {'ratio':>8s}")
    combined = []
    for name, m_ms, t_ms in rows:
        print(f"{name:44s} {m_ms:10.3f} {voxels / m_ms / 1e6:8.2f} {t_ms:10.3f}"
              f" {voxels / t_ms / 1e6:8.2f} {t_ms / m_ms:7.2f}x")
        combined.append({"comparison": name, "medimg_ms": m_ms, "torch_ms": t_ms,
                         "ratio": t_ms / m_ms})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"medimg": medimg, "torch_version": torch.__version__,
                       "max_interior_difference": max_difference,
                       "torch_device": device, "comparisons": combined}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
