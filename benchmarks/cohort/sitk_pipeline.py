"""sitk_pipeline.py MANIFEST OUT_DIR EXT: the cohort benchmark's standard
pipeline as a SimpleITK user writes it, one scan after the other, for the
SimpleITK row of scripts/cohort_bench.sh. The same steps and rules as
medimg_cohort_itk (benchmarks/cohort/itk_pipeline.cpp): DICOMOrient "RAS"
(nibabel's RAS, the ITK program's LPI code: the end-to-end benchmark checks
that the two grids agree), Resample to 1 mm linear (size round(n *
old / new), origin and direction kept), crop + pad to 256^3 around the
centre (pad -1024), clamp to the window [-160, 240], Normalize (z-score,
cast to float32 as the ITK program's output). Threads: SITK_THREADS (ITK's
global default). Prints one line per scan and "sitk summary: {json}" with
the read, compute and write seconds.
"""
import json
import math
import os
import sys
import time

import SimpleITK as sitk


def standard_pipeline(image):
    oriented = sitk.DICOMOrient(image, "RAS")
    # std::round's halves away from zero, as the ITK program and medimg.
    size = [max(1, int(math.floor(n * s / 1.0 + 0.5)))
            for n, s in zip(oriented.GetSize(), oriented.GetSpacing())]
    resampled = sitk.Resample(oriented, size, sitk.Transform(), sitk.sitkLinear,
                              oriented.GetOrigin(), [1.0, 1.0, 1.0], oriented.GetDirection(), 0,
                              oriented.GetPixelID())
    low, high, pad_low, pad_high = [], [], [], []
    for n in size:
        excess, deficit = max(n - 256, 0), max(256 - n, 0)
        low.append(excess // 2)
        high.append(excess - excess // 2)
        pad_low.append(deficit // 2)
        pad_high.append(deficit - deficit // 2)
    cropped = sitk.Crop(resampled, low, high)
    padded = sitk.ConstantPad(cropped, pad_low, pad_high, -1024)
    windowed = sitk.Clamp(padded, padded.GetPixelID(), -160, 240)
    # Normalize makes double from int16; float32 as the ITK program writes.
    return sitk.Cast(sitk.Normalize(windowed), sitk.sitkFloat32)


def main(argv):
    manifest, out_dir, ext = argv
    threads = int(os.environ.get("SITK_THREADS", "0"))
    if threads > 0:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    with open(manifest) as f:
        inputs = [line.split(",")[0] for line in f.read().splitlines()[1:] if line]
    os.makedirs(out_dir, exist_ok=True)
    read = compute = write = 0.0
    start = time.perf_counter()
    for path in inputs:
        t = time.perf_counter()
        image = sitk.ReadImage(path)
        r = time.perf_counter() - t
        t = time.perf_counter()
        result = standard_pipeline(image)
        c = time.perf_counter() - t
        t = time.perf_counter()
        name = os.path.basename(path).split(".")[0] + ext
        sitk.WriteImage(result, os.path.join(out_dir, name))
        w = time.perf_counter() - t
        print("sitk: %s read %.3f s, compute %.3f s, write %.3f s" % (name, r, c, w), flush=True)
        read, compute, write = read + r, compute + c, write + w
    print("sitk summary: " + json.dumps({
        "scans": len(inputs), "read_s": read, "compute_s": compute, "write_s": write,
        "total_s": time.perf_counter() - start,
        "threads": sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
