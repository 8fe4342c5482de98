"""medimg's NIfTI IO beside ITK's, whole processes on the same files.

Each case converts one file with `medimg convert` and with medimg_io_itk (ITK's
ImageFileReader -> ImageFileWriter), alternately, REPEATS times, with the same
thread count; it prints the best wall time, MB/s of voxel data, the ratio,
and each process's peak RSS beside the image's size. It also compares the
size of medimg's .nii.gz with `gzip -6` of the same .nii.

Inputs (generated once into SCRATCH with numpy/nibabel): a CT-like float32
volume as .nii and an int16 CT as .nii.gz written by Python's gzip at level 6
(what a scanner pipeline or nibabel hands you).

Usage: io_bench.py BIN_DIR SCRATCH [--smoke] [--threads N] [--repeats N]
"""
import argparse
import gzip
import os
import subprocess
import sys
import time

import nibabel as nib
import numpy as np


def ct_volume(nx, nz, seed=7):
    """Air, an elliptic body of soft tissue with organs, a bone ring, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[-1:1:nx * 1j, -1:1:nx * 1j]
    slices = []
    for k in range(nz):
        t = k / max(nz - 1, 1)
        body = (x / 0.8) ** 2 + (y / (0.6 + 0.1 * t)) ** 2
        s = np.full((nx, nx), -1000.0)
        s[body < 1.0] = 40.0
        s[(body < 1.0) & (body > 0.85)] = 700.0
        s[((x - 0.3) / 0.2) ** 2 + ((y + 0.1) / 0.25) ** 2 < 1.0] = 60.0
        s[((x + 0.3) / 0.25) ** 2 + (y / 0.3) ** 2 < 1.0] = -800.0
        s += rng.normal(0.0, 12.0, s.shape) * (body < 1.0)
        slices.append(s)
    return np.stack(slices, axis=-1).transpose(1, 0, 2)


def affine(spacing):
    a = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    a[:3, 3] = [120.0, 110.0, -80.0]
    return a


def make_inputs(scratch, smoke):
    nx, nz_float, nz_int = (64, 12, 16) if smoke else (512, 96, 120)
    os.makedirs(scratch, exist_ok=True)
    inputs = {}
    float_path = os.path.join(scratch, f"ct_float_{nx}.nii")
    if not os.path.exists(float_path):
        data = ct_volume(nx, nz_float).astype(np.float32)
        nib.save(nib.Nifti1Image(data, affine([0.7, 0.7, 1.5])), float_path)
    inputs["float"] = float_path
    int_path = os.path.join(scratch, f"ct_int16_{nx}.nii.gz")
    if not os.path.exists(int_path):
        data = np.round(ct_volume(nx, nz_int, seed=3)).astype(np.int16)
        raw = os.path.join(scratch, f"ct_int16_{nx}.nii")
        nib.save(nib.Nifti1Image(data, affine([0.7, 0.7, 1.25])), raw)
        with open(raw, "rb") as f, gzip.open(int_path, "wb", compresslevel=6) as out:
            out.write(f.read())
        os.remove(raw)
    inputs["int16_gz"] = int_path
    return inputs


def run_once(command, env, scratch):
    """Wall seconds and peak RSS (MiB) of one process. The peak comes from
    /usr/bin/time: a child forked from this (large) Python process would
    report Python's RSS as its own peak, one forked from `time` does not."""
    report = os.path.join(scratch, "rss.txt")
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report, *command], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr}")
    with open(report) as f:
        return wall, int(f.read().split()[-1]) / 1024.0


def voxel_mib(path):
    img = nib.load(path)
    return int(np.prod(img.shape)) * img.get_data_dtype().itemsize / 2**20


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bin")
    parser.add_argument("scratch")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    repeats = 1 if args.smoke else args.repeats
    inputs = make_inputs(args.scratch, args.smoke)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OMP_PROC_BIND="false",
               ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=str(args.threads))
    medimg = os.path.join(args.bin, "medimg")
    itk = os.path.join(args.bin, "medimg_io_itk")
    cases = [("float32 .nii -> .nii", inputs["float"], ".nii"),
             ("int16 .nii.gz -> .nii.gz", inputs["int16_gz"], ".nii.gz"),
             ("int16 .nii.gz -> .nii", inputs["int16_gz"], ".nii"),
             ("float32 .nii -> .nii.gz", inputs["float"], ".nii.gz")]
    print(f"threads {args.threads}, best of {repeats}; MB/s = voxel MB per second of the whole process")
    header = (f"{'case':26s} {'MiB':>6s} {'medimg s':>9s} {'ITK s':>7s} {'medimg MB/s':>11s} "
              f"{'ITK MB/s':>9s} {'ratio':>6s} {'medimg peak':>11s} {'ITK peak':>9s} {'peak/image':>10s}")
    print(header)
    outputs = {}
    for name, src, ext in cases:
        mib = voxel_mib(src)
        best = {"medimg": (1e9, 0.0), "itk": (1e9, 0.0)}
        for _ in range(repeats):
            for who, command in [("medimg", [medimg, "--threads", str(args.threads), "--quiet",
                                              "convert", src]),
                                 ("itk", [itk, src])]:
                out = os.path.join(args.scratch, f"out_{who}{ext}")
                wall, rss = run_once(command + [out], env, args.scratch)
                if wall < best[who][0]:
                    best[who] = (wall, rss)
                outputs[(name, who)] = out
        m, i = best["medimg"], best["itk"]
        mb = mib * 2**20 / 1e6
        print(f"{name:26s} {mib:6.1f} {m[0]:9.3f} {i[0]:7.3f} {mb / m[0]:11.0f} {mb / i[0]:9.0f} "
              f"{i[0] / m[0]:6.2f} {m[1]:9.0f} Mi {i[1]:7.0f} Mi {m[1] / mib:10.2f}")
        # Both outputs hold the same voxels as the input.
        a = np.asanyarray(nib.load(outputs[(name, "medimg")]).dataobj)
        b = np.asanyarray(nib.load(outputs[(name, "itk")]).dataobj)
        if not np.array_equal(a, b):
            sys.exit(f"{name}: medimg's and ITK's outputs differ")
    raw = open(inputs["float"], "rb").read()
    gzip6 = len(gzip.compress(raw, compresslevel=6))
    ours = os.path.getsize(outputs[("float32 .nii -> .nii.gz", "medimg")])
    theirs = os.path.getsize(outputs[("float32 .nii -> .nii.gz", "itk")])
    print(f"float32 CT .nii.gz size: medimg {ours / 1e6:.1f} MB, ITK {theirs / 1e6:.1f} MB, "
          f"gzip -6 {gzip6 / 1e6:.1f} MB (medimg / gzip -6 = {ours / gzip6:.3f})")


if __name__ == "__main__":
    main()
