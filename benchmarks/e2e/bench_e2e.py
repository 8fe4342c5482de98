"""Every medimg command beside ITK and SimpleITK, as whole processes on the
same real inputs, with the same threads, in one run.

For each case it runs `medimg ...`, the ITK program (medimg_e2e_itk: Read ->
filter -> Write, benchmarks/e2e/itk_commands.cpp) and SimpleITK
(sitk_commands.py, in the .deps/venv-bench interpreter), alternately, REPEATS
times each; it prints the median wall time, the ratios, each tool's peak RSS
(/usr/bin/time's maximum resident set size) and how far the peers' outputs are from
medimg's (max |difference| over all voxels; the geometry must agree to
1e-4 mm). A case fails when a tool fails or the outputs disagree beyond the
case's tolerance (float: 1e-3 of the output's range, B-spline 2e-3; integers:
1, since ITK truncates where medimg rounds).

Inputs (made once in SCRATCH):
  ch2_oblique.nii / .nii.gz  ch2better (mricron-data) as float32, 301 x 370
                             x 226 (25 Mvox), placed on an oblique,
                             anisotropic grid (0.6 x 0.6 x 0.9 mm, turned
                             12 deg about x and 8 deg about z)
  ct_512x512x300.nii.gz      an int16 CT from medimg_cohort_generate

Usage: bench_e2e.py BIN_DIR SCRATCH --sitk-python PY [--threads N]
                    [--repeats N] [--smoke] [--json FILE]
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CH2 = "/usr/share/mricron/templates/ch2better.nii.gz"


def rotation(axis, degrees):
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def make_inputs(bin_dir, scratch, smoke):
    os.makedirs(scratch, exist_ok=True)
    tag = "_smoke" if smoke else ""
    nii = os.path.join(scratch, f"ch2_oblique{tag}.nii")
    if not os.path.exists(nii):
        data = np.asanyarray(nib.load(CH2).dataobj).astype(np.float32)
        data = data[:, :, 45:271] if not smoke else data[::6, ::6, 45:271:6]
        spacing = np.array([0.6, 0.6, 0.9]) * (6 if smoke else 1)
        affine = np.eye(4)
        affine[:3, :3] = rotation(2, 8.0) @ rotation(0, 12.0) @ np.diag(spacing)
        affine[:3, 3] = -affine[:3, :3] @ (np.array(data.shape) / 2.0)
        image = nib.Nifti1Image(data, affine)
        image.header.set_qform(affine, 1)
        image.header.set_sform(affine, 1)
        nib.save(image, nii)
        nib.save(image, nii + ".gz")
    ct_dir = os.path.join(scratch, f"ct{tag}")
    nx, nz = (64, 40) if smoke else (512, 300)
    ct = os.path.join(ct_dir, "nii.gz", "scan000.nii.gz")
    if not os.path.exists(ct):
        subprocess.run([os.path.join(bin_dir, "medimg_cohort_generate"), ct_dir, "1", str(nx),
                        str(nx), "nii.gz", str(nz)], check=True, capture_output=True)
    return {"float .nii": nii, "float .nii.gz": nii + ".gz", "CT int16 .nii.gz": ct,
            "ct_size": (nx, nx, nz)}


def cases(inputs):
    """(input kind, name, output extension, medimg args, peer args, tolerance)."""
    out = []
    def add(kind, name, ext, medimg, peer, tol):
        out.append((kind, name, ext, medimg, peer, tol))
    for kind, ext in (("float .nii", ".nii"), ("float .nii.gz", ".nii.gz")):
        add(kind, "info", None, ["info"], ["info"], None)
        add(kind, "convert", ext, ["convert"], ["convert"], 0.0)
        add(kind, "resample 1 mm linear", ext, ["resample", "--spacing", "1,1,1", "--interp",
                                                "linear"], ["resample", "1", "linear"], 1e-3)
        add(kind, "rotate 10 deg linear", ext, ["rotate", "--axis", "z", "--angle", "10",
                                                "--interp", "linear"],
            ["rotate", "2", "10", "linear"], 1e-3)
        if kind == "float .nii":
            add(kind, "rotate 10 deg bspline", ext, ["rotate", "--axis", "z", "--angle", "10",
                                                     "--interp", "bspline"],
                ["rotate", "2", "10", "bspline"], 2e-3)
            add(kind, "reorient RAS", ext, ["reorient", "--to", "RAS"], ["reorient"], 0.0)
            shape = nib.load(inputs[kind]).shape
            start = [n // 4 for n in shape]
            size = [n // 2 for n in shape]
            add(kind, "crop (middle half)", ext,
                ["crop", "--start", ",".join(map(str, start)), "--size", ",".join(map(str, size))],
                ["crop"] + [str(v) for v in start + size], 0.0)
            add(kind, "pipeline (3 steps)", ext, ["pipeline", "--steps", "PIPELINE"],
                ["pipeline"], 1e-3)
    nx, ny, nz = inputs["ct_size"]
    kind = "CT int16 .nii.gz"
    add(kind, "info", None, ["info"], ["info"], None)
    add(kind, "convert", ".nii.gz", ["convert"], ["convert"], 0.0)
    add(kind, "resample 1 mm linear", ".nii.gz", ["resample", "--spacing", "1,1,1", "--interp",
                                                  "linear"], ["resample", "1", "linear"], 1.0)
    add(kind, "rotate 10 deg linear", ".nii.gz", ["rotate", "--axis", "z", "--angle", "10",
                                                  "--interp", "linear"],
        ["rotate", "2", "10", "linear"], 1.0)
    # z-scores of int16 images that differ by one step where ITK truncates and
    # medimg rounds: three steps of the input's spread.
    add(kind, "pipeline (3 steps)", ".nii.gz", ["pipeline", "--steps", "PIPELINE"],
        ["pipeline"], "int_zscore")
    return out


def run_timed(command, env, scratch):
    """Wall seconds and peak RSS (MiB) of one process. The peak comes from
    /usr/bin/time: a child forked from this (large) Python process would
    report this process's RSS as its own ru_maxrss (Linux keeps the
    pre-exec high-water mark), GNU time's is a few MiB."""
    record = os.path.join(scratch, "time.txt")
    # Every run starts with no dirty pages: the gigabytes the runs before it
    # wrote would otherwise throttle whichever tool crosses the kernel's
    # dirty threshold (balance_dirty_pages), a cost of the run order.
    os.sync()
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", record] + command,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        err = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {err}")
    with open(record) as f:
        peak_kib = int(f.read().split()[-1])
    return wall, peak_kib / 1024.0


def max_difference(a_path, b_path):
    a, b = nib.load(a_path), nib.load(b_path)
    if a.shape != b.shape:
        return math.inf, f"shape {a.shape} vs {b.shape}"
    if not np.allclose(a.affine, b.affine, atol=1e-4):
        return math.inf, "affine differs"
    x = np.asanyarray(a.dataobj).astype(np.float64)
    y = np.asanyarray(b.dataobj).astype(np.float64)
    return float(np.max(np.abs(x - y))) if x.size else 0.0, ""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bin_dir")
    parser.add_argument("scratch")
    parser.add_argument("--sitk-python", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--only", help="run only the cases whose 'input command' matches this regex")
    parser.add_argument("--json")
    args = parser.parse_args()
    inputs = make_inputs(args.bin_dir, args.scratch, args.smoke)
    pipeline = os.path.join(args.scratch, "pipeline_3_steps.json")
    with open(pipeline, "w") as f:
        json.dump({"steps": [{"op": "reorient", "orientation": "RAS"},
                             {"op": "resample_to_spacing", "spacing": [1, 1, 1],
                              "interp": "linear"},
                             {"op": "z_score"}]}, f)
    # OMP_PROC_BIND is medimg's to choose (it pins its threads when they fill
    # the CPUs, src/core/cpu_pinning.cpp); ITK and SimpleITK do not use OpenMP.
    env = dict(os.environ, ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=str(args.threads),
               SITK_THREADS=str(args.threads))
    medimg = [os.path.join(args.bin_dir, "medimg"), "--quiet", "--threads", str(args.threads)]
    itk = [os.path.join(args.bin_dir, "medimg_e2e_itk")]
    sitk = [args.sitk_python, os.path.join(HERE, "sitk_commands.py")]
    out_dir = os.path.join(args.scratch, "out")
    os.makedirs(out_dir, exist_ok=True)
    rows, failures = [], []
    print(f"threads {args.threads}, median of {args.repeats} (sync before each run); peak = maximum RSS (MiB)")
    header = (f"{'input':18} {'command':24} {'medimg s':>8} {'ITK s':>7} {'SITK s':>7} "
              f"{'xITK':>6} {'xSITK':>6} {'peak medimg':>11} {'ITK':>6} {'SITK':>6} "
              f"{'|d| ITK':>8} {'|d| SITK':>8}")
    print(header)
    for n, (kind, name, ext, m_args, p_args, tol) in enumerate(cases(inputs)):
        if args.only and not re.search(args.only, f"{kind} {name}"):
            continue
        src = inputs[kind]
        outs = {tool: os.path.join(out_dir, f"case{n:02d}_{tool}{ext}") if ext else None
                for tool in ("medimg", "itk", "sitk")}
        m_args = [pipeline if a == "PIPELINE" else a for a in m_args]
        commands = {
            "medimg": medimg + [m_args[0], src] + ([outs["medimg"]] if ext else []) + m_args[1:],
            "itk": itk + [p_args[0], src] + ([outs["itk"]] if ext else []) + p_args[1:],
            "sitk": sitk + [p_args[0], src] + ([outs["sitk"]] if ext else []) + p_args[1:],
        }
        times = {tool: [] for tool in commands}
        peaks = {tool: 0.0 for tool in commands}
        try:
            for _ in range(args.repeats):
                for tool, command in commands.items():
                    wall, peak = run_timed(command, env, args.scratch)
                    times[tool].append(wall)
                    peaks[tool] = max(peaks[tool], peak)
        except RuntimeError as e:
            failures.append(f"{kind} {name}: {e}")
            print(f"{kind:18} {name:24} FAILED: {e}")
            continue
        median = {tool: statistics.median(t) for tool, t in times.items()}
        diffs = {}
        for peer in ("itk", "sitk"):
            if ext is None:
                diffs[peer] = (0.0, "")
                continue
            d, why = max_difference(outs["medimg"], outs[peer])
            diffs[peer] = (d, why)
            if tol is not None:
                limit = tol
                if tol == "int_zscore":
                    limit = 3.0 / float(np.std(np.asanyarray(nib.load(src).dataobj)))
                elif 0.0 < tol < 1.0:
                    data = np.asanyarray(nib.load(outs["medimg"]).dataobj)
                    limit = tol * max(1e-12, float(np.max(data) - np.min(data)))
                if not d <= limit:
                    failures.append(f"{kind} {name}: medimg vs {peer} max |d| {d:g} > {limit:g} {why}")
        row = {"input": kind, "command": name, "median_s": median, "peak_mib": peaks,
               "max_abs_difference": {p: diffs[p][0] for p in diffs},
               "ratio_itk": median["itk"] / median["medimg"],
               "ratio_sitk": median["sitk"] / median["medimg"]}
        rows.append(row)
        print(f"{kind:18} {name:24} {median['medimg']:8.3f} {median['itk']:7.3f} "
              f"{median['sitk']:7.3f} {row['ratio_itk']:5.2f}x {row['ratio_sitk']:5.2f}x "
              f"{peaks['medimg']:11.0f} {peaks['itk']:6.0f} {peaks['sitk']:6.0f} "
              f"{diffs['itk'][0]:8.2g} {diffs['sitk'][0]:8.2g}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "repeats": args.repeats, "rows": rows}, f,
                      indent=1)
    if failures:
        print("\n".join(["FAILED:"] + failures))
        return 1
    print(f"all {len(rows)} cases agree with ITK and SimpleITK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
