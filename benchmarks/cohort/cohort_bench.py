"""The cohort benchmark's driver (scripts/cohort_bench.sh runs it): the
standard pipeline over the same generated cohort with ITK
(medimg_cohort_itk, one scan after another), with SimpleITK
(sitk_pipeline.py, when MEDIMG_SITK_PYTHON names a Python that has it) and
with `medimg batch`, in one run, per input format; prints scans/s, the
read/compute/write split, the ratios, and how far medimg's outputs are from
ITK's and SimpleITK's.

Usage: cohort_bench.py BIN_DIR COHORT_DIR PIPELINE_JSON [MPIEXEC]
"""
import json
import os
import re
import shutil
import subprocess
import sys

import nibabel as nib
import numpy as np

BIN, COHORT, PIPELINE = sys.argv[1], sys.argv[2], sys.argv[3]
MPIEXEC = sys.argv[4] if len(sys.argv) > 4 else ""
THREADS = os.environ.get("OMP_NUM_THREADS", "2")
SITK_PYTHON = os.environ.get("MEDIMG_SITK_PYTHON", "")
OUT = os.path.join(COHORT, "results")


def ext_of(fmt):
    return ".h5" if fmt == "h5" else "." + fmt


def itk(fmt):
    out = os.path.join(OUT, "itk_" + fmt)
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([os.path.join(BIN, "medimg_cohort_itk"),
                        os.path.join(COHORT, "manifest_%s.csv" % fmt), out, ext_of(fmt)],
                       capture_output=True, text=True, check=True)
    s = json.loads(re.search(r"itk summary: (\{.*\})", r.stdout).group(1))
    return {"tool": "ITK", "format": fmt, "scans": s["scans"], "read": s["read_s"],
            "compute": s["compute_s"], "write": s["write_s"], "total": s["total_s"], "out": out}


def simpleitk(fmt):
    out = os.path.join(OUT, "sitk_" + fmt)
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([SITK_PYTHON, os.path.join(os.path.dirname(__file__), "sitk_pipeline.py"),
                        os.path.join(COHORT, "manifest_%s.csv" % fmt), out, ext_of(fmt)],
                       capture_output=True, text=True, check=True,
                       env=dict(os.environ, SITK_THREADS=THREADS))
    s = json.loads(re.search(r"sitk summary: (\{.*\})", r.stdout).group(1))
    return {"tool": "SimpleITK", "format": fmt, "scans": s["scans"], "read": s["read_s"],
            "compute": s["compute_s"], "write": s["write_s"], "total": s["total_s"], "out": out}


def medimg(fmt, ranks=1):
    out = os.path.join(OUT, "medimg_%s_%d" % (fmt, ranks))
    shutil.rmtree(out, ignore_errors=True)
    command = [os.path.join(BIN, "medimg"), "--quiet", "batch", "--manifest",
               os.path.join(COHORT, "manifest_%s.csv" % fmt), "--steps", PIPELINE,
               "--out-dir", out, "--format", ext_of(fmt)]
    env = dict(os.environ)
    tool = "medimg"
    if ranks > 1:
        command = [MPIEXEC, "-n", str(ranks)] + command
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_btl_vader_single_copy_mechanism="none",
                   OMP_NUM_THREADS=str(max(1, int(THREADS) // ranks)))
        tool = "medimg %dx%s" % (ranks, env["OMP_NUM_THREADS"])
    subprocess.run(command, check=True, env=env)
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    items = report["items"]
    assert report["summary"]["done"] == len(items), report["summary"]
    return {"tool": tool, "format": fmt, "scans": len(items),
            "read": sum(i["ms"]["read"] for i in items) / 1e3,
            "compute": sum(sum(i["ms"]["steps"]) for i in items) / 1e3,
            "write": sum(i["ms"]["write"] for i in items) / 1e3,
            "total": report["seconds"], "out": out,
            "steps": {s["op"]: s["mean_ms"] for s in report["steps"]}}


def max_difference(ours, theirs, fmt):
    worst, names = 0.0, sorted(os.listdir(theirs))
    for name in names:
        a = np.asanyarray(nib.load(os.path.join(ours, name)).dataobj).astype(np.float64)
        b = np.asanyarray(nib.load(os.path.join(theirs, name)).dataobj).astype(np.float64)
        assert a.shape == b.shape, (name, a.shape, b.shape)
        worst = max(worst, float(np.abs(a - b).max()))
    return worst, len(names)


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for fmt in ("nii.gz", "nii"):
        print("cohort: ITK, %s ..." % fmt, flush=True)
        rows.append(itk(fmt))
        if SITK_PYTHON:
            print("cohort: SimpleITK, %s ..." % fmt, flush=True)
            rows.append(simpleitk(fmt))
        print("cohort: medimg batch, %s ..." % fmt, flush=True)
        rows.append(medimg(fmt))
    if MPIEXEC:
        print("cohort: medimg batch, nii.gz, 2 ranks ...", flush=True)
        rows.append(medimg("nii.gz", 2))
    print("cohort: medimg batch, h5 ...", flush=True)
    rows.append(medimg("h5"))
    itk_of = {r["format"]: r for r in rows if r["tool"] == "ITK"}
    print()
    print("cohort %s: %d scans, %s threads; read/compute/write are summed busy seconds, "
          "total is wall time" % (COHORT, rows[0]["scans"], THREADS))
    print("%-7s %-12s %8s %8s %9s %8s %8s %10s %11s" % (
        "format", "tool", "scans/s", "read s", "compute s", "write s", "total s",
        "compute x", "end-to-end x"))
    for r in rows:
        ref = itk_of.get(r["format"], itk_of["nii"])
        peer = r["tool"] in ("ITK", "SimpleITK")
        ratio = "" if peer else "%.1fx" % (ref["compute"] / r["compute"])
        e2e = "" if peer else "%.1fx" % (ref["total"] / r["total"])
        if r["format"] == "h5":
            e2e += " (vs ITK nii)"
        print("%-7s %-12s %8.2f %8.1f %9.1f %8.1f %8.1f %10s %11s" % (
            r["format"], r["tool"], r["scans"] / r["total"], r["read"], r["compute"],
            r["write"], r["total"], ratio, e2e))
    print()
    for r in rows:
        if r["tool"] == "medimg":
            print("medimg %-6s mean ms per step: %s" % (r["format"], ", ".join(
                "%s %.0f" % kv for kv in r["steps"].items())))
    sitk_of = {r["format"]: r for r in rows if r["tool"] == "SimpleITK"}
    for fmt in ("nii.gz", "nii"):
        ours = [r for r in rows if r["tool"] == "medimg" and r["format"] == fmt][0]
        if fmt in sitk_of:
            theirs = sitk_of[fmt]
            print("medimg vs SimpleITK, %s: compute %.1fx, end to end %.1fx" % (
                fmt, theirs["compute"] / ours["compute"], theirs["total"] / ours["total"]))
    for fmt in ("nii", "nii.gz"):
        ours = [r for r in rows if r["tool"] == "medimg" and r["format"] == fmt][0]
        worst, count = max_difference(ours["out"], itk_of[fmt]["out"], fmt)
        print("max |medimg - ITK| over %d %s outputs: %.4g (z-score units)" % (count, fmt, worst))
        if fmt in sitk_of:
            worst, count = max_difference(ours["out"], sitk_of[fmt]["out"], fmt)
            print("max |medimg - SimpleITK| over %d %s outputs: %.4g (z-score units)" % (
                count, fmt, worst))
    gz = [r for r in rows if r["tool"] == "medimg" and r["format"] == "nii.gz"][0]
    print("nii.gz with medimg: read %.0f%% + write %.0f%% of busy time (compute %.0f%%)" % (
        100 * gz["read"] / (gz["read"] + gz["compute"] + gz["write"]),
        100 * gz["write"] / (gz["read"] + gz["compute"] + gz["write"]),
        100 * gz["compute"] / (gz["read"] + gz["compute"] + gz["write"])))


if __name__ == "__main__":
    main()
