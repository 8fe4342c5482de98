"""Throughput of medimg's seeded augmentations on one N^3 float32 volume, on
whatever the build runs: a GPU build's image is a CUDA tensor used in place
(the ops run and stay on the GPU), a CPU build's a numpy array. Median of
--repeat timed calls after one warm-up, each with another item (other draws).

    PYTHONPATH=build/python python3 benchmarks/augment_throughput.py [--size 256]

Cases: random_affine + random_elastic (TorchIO's RandomAffine +
RandomElasticDeformation, as benchmarks/augment_vs_torchio.py), and
random_intensity with all three parts and with each alone. The GPU bundle
(scripts/gpu_bundle.sh) runs it beside python_gpu.py; figures in
docs/PERFORMANCE.md.
"""
import argparse
import json
import statistics
import time

import numpy as np

import medimg

CASES = [
    ("random_affine + random_elastic (linear)",
     lambda item: [{"op": "random_affine", "degrees": [-10, 10], "scales": [0.9, 1.1],
                    "interp": "linear", "seed": 1, "item": item},
                   {"op": "random_elastic", "control_points": [7, 7, 7],
                    "max_displacement": [7.5, 7.5, 7.5], "locked_borders": 2,
                    "interp": "linear", "seed": 1, "item": item}]),
    ("random_intensity: bias field, gamma, noise",
     lambda item: [{"op": "random_intensity", "seed": 1, "item": item}]),
    ("random_intensity: bias field alone",
     lambda item: [{"op": "random_intensity", "log_gamma": [0, 0], "noise_std": [0, 0],
                    "seed": 1, "item": item}]),
    ("random_intensity: gamma alone",
     lambda item: [{"op": "random_intensity", "bias": 0, "noise_std": [0, 0], "seed": 1,
                    "item": item}]),
    ("random_intensity: noise alone",
     lambda item: [{"op": "random_intensity", "bias": 0, "log_gamma": [0, 0], "seed": 1,
                    "item": item}]),
]


def volume(n):
    """An N^3 float32 image in [0, 1), on the GPU when the build runs there."""
    if medimg.has_gpu:
        import torch
        g = torch.Generator().manual_seed(0)
        t = torch.rand((n, n, n), generator=g).cuda().permute(2, 1, 0)  # i fastest
        return medimg.from_dlpack(t), t
    rng = np.random.default_rng(0)
    return medimg.from_array(np.asfortranarray(rng.random((n, n, n), dtype=np.float32))), None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    image, keep = volume(args.size)
    voxels = args.size**3
    print(f"medimg {medimg.backend()}; {args.size}^3 float32 on {image.device}, "
          f"median of {args.repeat}")
    rows = {}
    for name, steps in CASES:
        out = medimg.Pipeline(steps(0)).run(image)  # warm-up, and the result stays put
        assert out.device == image.device and tuple(out.size) == tuple(image.size)
        times = []
        for item in range(1, args.repeat + 1):
            start = time.perf_counter()
            medimg.Pipeline(steps(item)).run(image)
            times.append(time.perf_counter() - start)
        ms = statistics.median(times) * 1e3
        rows[name] = ms
        print(f"  {name:45s} {ms:9.2f} ms {voxels / ms / 1e3:9.1f} Mvox/s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size": args.size, "device": image.device, "ms": rows}, f, indent=1)
    del keep


if __name__ == "__main__":
    main()
