"""Augmentation per volume: medimg against TorchIO, same volume, same threads,
one process (docs/AUGMENTATION.md, docs/PERFORMANCE.md).

Each item gets RandomAffine (rotation +-10 deg, scales 0.9-1.1, linear) then
RandomElasticDeformation (7 x 7 x 7 control points, at most 7.5 mm, borders
locked, linear): TorchIO's defaults, and medimg's `random_affine` and
`random_elastic` steps with the same ranges, run through `medimg.Pipeline`
(each item its own `item` index). Prints the median time per volume of each
and the ratio; then TorchIO's RandomBiasField, RandomGamma and RandomNoise
against medimg's `random_intensity` with the other parts off. Both outputs keep the volume's shape and stay within its
value range (linear interpolation), which the script checks.

Usage (scripts/setup.sh --bench makes the environment):
  .deps/venv-bench/bin/python benchmarks/augment_vs_torchio.py [--threads T]
      [--items N] [--volume FILE]
"""
import argparse
import os
import statistics
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=os.cpu_count())
parser.add_argument("--items", type=int, default=5)
parser.add_argument("--volume", default="/usr/share/mricron/templates/ch2better.nii.gz")
args = parser.parse_args()
# Both libraries read their thread counts when they start.
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ.setdefault("OMP_PROC_BIND", "false")

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import SimpleITK as sitk  # noqa: E402
import torch  # noqa: E402
import torchio as tio  # noqa: E402

import medimg  # noqa: E402

torch.set_num_threads(args.threads)
sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(args.threads)

source = nib.load(args.volume)
data = np.asanyarray(source.dataobj).astype(np.float32)
low, high = float(data.min()), float(data.max())

# TorchIO: a Subject holding the volume (channels first, (1, x, y, z)).
subject = tio.Subject(image=tio.ScalarImage(tensor=torch.from_numpy(data[None].copy()),
                                            affine=source.affine))
torchio_transform = tio.Compose([
    tio.RandomAffine(scales=(0.9, 1.1), degrees=10, translation=0, image_interpolation="linear"),
    tio.RandomElasticDeformation(num_control_points=7, max_displacement=7.5, locked_borders=2,
                                 image_interpolation="linear"),
])

# medimg: the same volume read by medimg (its geometry from the file).
image = medimg.read(args.volume)
image = medimg.cast(image, type="float32")


def medimg_steps(item):
    return [{"op": "random_affine", "degrees": [-10, 10], "scales": [0.9, 1.1],
             "interp": "linear", "seed": 1, "item": item},
            {"op": "random_elastic", "control_points": [7, 7, 7],
             "max_displacement": [7.5, 7.5, 7.5], "locked_borders": 2, "interp": "linear",
             "seed": 1, "item": item}]


def check(values, shape, what):
    if values.shape != shape:
        sys.exit(f"{what}: shape {values.shape}, expected {shape}")
    if values.min() < low - 1e-3 * (high - low) or values.max() > high + 1e-3 * (high - low):
        sys.exit(f"{what}: values [{values.min()}, {values.max()}] outside [{low}, {high}]")


def timed(run, items):
    times = []
    for item in range(items):
        start = time.perf_counter()
        run(item)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


torch.manual_seed(0)
check(torchio_transform(subject).image.data[0].numpy(), data.shape, "TorchIO")
check(medimg.Pipeline(medimg_steps(0)).run(image).array, image.array.shape, "medimg")

t_torchio = timed(lambda i: torchio_transform(subject), args.items)
t_medimg = timed(lambda i: medimg.Pipeline(medimg_steps(i)).run(image), args.items)
mvox = data.size / 1e6
print(f"augment_vs_torchio: {os.path.basename(args.volume)} {data.shape} ({mvox:.1f} Mvox), "
      f"{args.threads} thread(s), median of {args.items} items")
print(f"  TorchIO {tio.__version__} RandomAffine + RandomElasticDeformation: "
      f"{t_torchio * 1e3:8.1f} ms/volume")
print(f"  medimg random_affine + random_elastic:                 "
      f"{t_medimg * 1e3:8.1f} ms/volume")
print(f"  ratio (TorchIO / medimg): {t_torchio / t_medimg:.2f}x")

# Intensity: TorchIO's three transforms against medimg's random_intensity
# with the other parts off (defaults of both: bias order 3 and 0.5, log
# gamma +-0.3, noise std 0-0.25).
intensity = [
    ("bias field", tio.RandomBiasField(), {"log_gamma": [0, 0], "noise_std": [0, 0]}),
    ("gamma", tio.RandomGamma(), {"bias": 0, "noise_std": [0, 0]}),
    ("noise", tio.RandomNoise(), {"bias": 0, "log_gamma": [0, 0]}),
    ("all three", tio.Compose([tio.RandomBiasField(), tio.RandomGamma(), tio.RandomNoise()]), {}),
]
for name, transform, params in intensity:
    # (Intensities leave the input's range: only the shape is checked.)
    if medimg.random_intensity(image, seed=1, **params).array.shape != image.array.shape:
        sys.exit(f"medimg {name}: shape changed")
    a = timed(lambda i: transform(subject), args.items)
    b = timed(lambda i: medimg.random_intensity(image, seed=1, item=i, **params), args.items)
    print(f"  intensity {name:10s}: TorchIO {a * 1e3:8.1f} ms, medimg {b * 1e3:8.1f} ms, "
          f"ratio {a / b:.2f}x")
