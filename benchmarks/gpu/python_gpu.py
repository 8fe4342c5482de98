"""medimg from Python on a GPU against torch's grid_sample, on the same CUDA
tensor: a rotation of an N^3 float32 volume (17 degrees about k through the
centre, trilinear), forward, and forward + backward (gradients of the volume
and of the 3x4 matrix), through `medimg.torch.resample` (DLPack in place)
and through torch's `affine_grid` + `grid_sample` (align_corners=True: the
same map). The outputs are compared where both interpolate inside the
volume. Median of --repeat timed runs after warm-up, CUDA-synchronised.

    PYTHONPATH=<bundle>/python python3 python_gpu.py [--size 256] [--json out.json]

Run by .gpu-bundle/run.sh (scripts/gpu_bundle.sh); figures in
docs/PERFORMANCE.md.
"""
import argparse
import json
import math
import statistics
import time

import torch

import medimg
import medimg.torch as mt


def timed(function, repeat):
    for _ in range(3):
        function()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args()
    if not (medimg.has_gpu and torch.cuda.is_available()):
        raise SystemExit("python_gpu.py needs a GPU build of medimg and a CUDA device")
    n = args.size
    torch.manual_seed(0)
    # [i, j, k] with i fastest: medimg's order, and grid_sample's (D=k, H=j, W=i) transposed.
    volume = torch.rand((n, n, n), device="cuda").permute(2, 1, 0)
    angle = math.radians(17.0)
    c, s = math.cos(angle), math.sin(angle)
    rotation = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    centre = torch.full((3,), (n - 1) / 2, dtype=torch.float64)
    matrix = torch.cat([rotation, (centre - rotation @ centre)[:, None]], dim=1).cuda()
    theta = torch.cat([rotation, torch.zeros(3, 1, dtype=torch.float64)], dim=1)
    theta = theta.float().cuda()[None]
    grid = medimg.Grid((n, n, n))
    batch_input = volume.permute(2, 1, 0)[None, None]  # (1, 1, k, j, i), no copy

    def torch_forward(inp, th):
        sampling = torch.nn.functional.affine_grid(th, (1, 1, n, n, n), align_corners=True)
        return torch.nn.functional.grid_sample(inp, sampling, mode="bilinear",
                                               align_corners=True)

    ours = mt.resample(volume, grid, grid, matrix)
    theirs = torch_forward(batch_input, theta)[0, 0].permute(2, 1, 0)
    index = torch.arange(n, dtype=torch.float64, device="cuda")
    ii, jj, kk = torch.meshgrid(index, index, index, indexing="ij")
    source = torch.stack([ii, jj, kk], dim=-1) @ rotation.cuda().T + (centre.cuda()
                                                                     - rotation.cuda() @ centre.cuda())
    inside = ((source >= 0) & (source <= n - 1 - 1e-6)).all(dim=-1)
    difference = (ours - theirs).abs()[inside].max().item()
    del ii, jj, kk, source

    rows = {}
    rows["forward"] = (timed(lambda: mt.resample(volume, grid, grid, matrix), args.repeat),
                       timed(lambda: torch_forward(batch_input, theta), args.repeat))
    sampling = torch.nn.functional.affine_grid(theta, (1, 1, n, n, n), align_corners=True)
    rows["forward, grid_sample alone"] = (
        rows["forward"][0],
        timed(lambda: torch.nn.functional.grid_sample(batch_input, sampling, mode="bilinear",
                                                      align_corners=True), args.repeat))

    def ours_backward():
        v = volume.detach().requires_grad_(True)
        m = matrix.detach().requires_grad_(True)
        mt.resample(v, grid, grid, m).sum().backward()

    def theirs_backward():
        v = batch_input.detach().requires_grad_(True)
        th = theta.detach().requires_grad_(True)
        torch_forward(v, th).sum().backward()

    rows["forward + backward (volume, matrix)"] = (timed(ours_backward, args.repeat),
                                                   timed(theirs_backward, args.repeat))
    image = medimg.from_dlpack(volume)
    rows["medimg.rotate on the GPU image (pipeline op)"] = (
        timed(lambda: medimg.rotate(image, axis="k", degrees=17, interp="linear"), args.repeat),
        rows["forward"][1])

    print(f"medimg {medimg.backend()}; torch {torch.__version__} on "
          f"{torch.cuda.get_device_name()}; {n}^3 float32, 17 degrees about k, trilinear")
    print(f"largest difference medimg - grid_sample inside the volume: {difference:.3g} "
          f"({int(inside.sum())} voxels)")
    print(f"{'case':48s} {'medimg ms':>10s} {'torch ms':>10s} {'torch/medimg':>13s}")
    for name, (a, b) in rows.items():
        print(f"{name:48s} {a:10.2f} {b:10.2f} {b / a:12.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size": n, "difference": difference,
                       "rows": {k: {"medimg_ms": a, "torch_ms": b} for k, (a, b) in rows.items()}},
                      f, indent=1)


if __name__ == "__main__":
    main()
