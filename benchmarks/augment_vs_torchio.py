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

Then the same affine + elastic as whole processes on the file, the way a
user runs them: `medimg pipeline IN OUT --steps S` against a Python script
that reads IN with TorchIO, transforms and writes OUT (.nii.gz both), wall
time and peak RSS (/usr/bin/time), median of --items runs each.

Usage (scripts/setup.sh --bench makes the environment):
  .deps/venv-bench/bin/python benchmarks/augment_vs_torchio.py [--threads T]
      [--items N] [--volume FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=os.cpu_count())
parser.add_argument("--items", type=int, default=5)
parser.add_argument("--volume", default="/usr/share/mricron/templates/ch2better.nii.gz")
parser.add_argument("--medimg", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "..", "build", "bin", "medimg"),
                    help="the CLI for the whole-process rows")
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

# Whole processes: read the file, augment, write .nii.gz.
TORCHIO_SCRIPT = """
import sys, torch, torchio as tio, SimpleITK as sitk
threads = int(sys.argv[3])
torch.set_num_threads(threads)
sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
torch.manual_seed(0)
t = tio.Compose([
    tio.RandomAffine(scales=(0.9, 1.1), degrees=10, translation=0, image_interpolation="linear"),
    tio.RandomElasticDeformation(num_control_points=7, max_displacement=7.5, locked_borders=2,
                                 image_interpolation="linear")])
t(tio.ScalarImage(sys.argv[1])).save(sys.argv[2])
"""


def whole(command, env):
    runs = []
    for _ in range(args.items):
        r = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + command, capture_output=True,
                           text=True, env=env)
        if r.returncode != 0:
            sys.exit(f"{command[0]} failed: {r.stderr[-500:]}")
        wall, kib = r.stderr.strip().splitlines()[-1].split()
        runs.append((float(wall), int(kib) / 1024))
    return statistics.median(w for w, _ in runs), max(m for _, m in runs)


with tempfile.TemporaryDirectory() as work:
    steps = os.path.join(work, "steps.json")
    with open(steps, "w") as f:
        json.dump({"steps": [dict(s, seed=1, item=0) for s in medimg_steps(0)]}, f)
    script = os.path.join(work, "torchio_augment.py")
    with open(script, "w") as f:
        f.write(TORCHIO_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    m_out, t_out = os.path.join(work, "medimg.nii.gz"), os.path.join(work, "torchio.nii.gz")
    m_wall, m_rss = whole([args.medimg, "--quiet", "pipeline", args.volume, m_out, "--steps",
                           steps], env)
    t_wall, t_rss = whole([sys.executable, script, args.volume, t_out, str(args.threads)], env)
    if nib.load(m_out).shape != nib.load(t_out).shape:
        sys.exit(f"whole process: shapes {nib.load(m_out).shape} and {nib.load(t_out).shape}")
    print(f"  whole process, {os.path.basename(args.volume)} -> .nii.gz, median of {args.items}:")
    print(f"    TorchIO script: {t_wall:6.2f} s, peak RSS {t_rss:7.0f} MiB")
    print(f"    medimg pipeline: {m_wall:6.2f} s, peak RSS {m_rss:7.0f} MiB")
    print(f"    ratio (TorchIO / medimg): {t_wall / m_wall:.2f}x time, "
          f"{t_rss / m_rss:.2f}x memory")
