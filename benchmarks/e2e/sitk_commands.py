"""sitk_commands.py COMMAND ARGS: medimg's CLI commands as a SimpleITK user
writes them, for the end-to-end benchmark (bench_e2e.py). The commands and
their arguments are medimg_e2e_itk's (benchmarks/e2e/itk_commands.cpp); the
grid rules are medimg's. Threads: SITK_THREADS (ITK's global default).
"""
import math
import os
import sys

import SimpleITK as sitk

INTERP = {"nearest": sitk.sitkNearestNeighbor, "linear": sitk.sitkLinear,
          "bspline": sitk.sitkBSpline}


def resample_to_spacing(image, spacing, interp):
    # std::round's halves away from zero, as medimg and the ITK program
    # (Python's round() would take 712.5 to 712).
    size = [max(1, int(math.floor(n * s / spacing + 0.5)))
            for n, s in zip(image.GetSize(), image.GetSpacing())]
    return sitk.Resample(image, size, sitk.Transform(), INTERP[interp], image.GetOrigin(),
                         [spacing] * 3, image.GetDirection(), 0, image.GetPixelID())


def main(argv):
    threads = int(os.environ.get("SITK_THREADS", "0"))
    if threads > 0:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    command, src = argv[0], argv[1]
    image = sitk.ReadImage(src)
    if command == "info":
        stats = sitk.StatisticsImageFilter()
        stats.Execute(image)
        print("size", *image.GetSize(), "min", stats.GetMinimum(), "max", stats.GetMaximum(),
              "mean", stats.GetMean())
        return 0
    out = argv[2]
    if command == "convert":
        result = image
    elif command == "resample":
        result = resample_to_spacing(image, float(argv[3]), argv[4])
    elif command == "rotate":
        axis, degrees = int(argv[3]), float(argv[4])
        direction = image.GetDirection()
        column = [direction[3 * r + axis] for r in range(3)]
        middle = [0.5 * (n - 1) for n in image.GetSize()]
        transform = sitk.VersorRigid3DTransform()
        transform.SetCenter(image.TransformContinuousIndexToPhysicalPoint(middle))
        transform.SetRotation(column, -math.radians(degrees))
        result = sitk.Resample(image, image, transform, INTERP[argv[5]], 0, image.GetPixelID())
    elif command == "reorient":
        result = sitk.DICOMOrient(image, "RAS")
    elif command == "crop":
        index = [int(v) for v in argv[3:6]]
        size = [int(v) for v in argv[6:9]]
        result = sitk.RegionOfInterest(image, size, index)
    elif command == "pipeline":
        oriented = sitk.DICOMOrient(image, "RAS")
        del image
        resampled = resample_to_spacing(oriented, 1.0, "linear")
        del oriented
        result = sitk.Normalize(sitk.Cast(resampled, sitk.sitkFloat32))
    else:
        print("sitk_commands: unknown command", command, file=sys.stderr)
        return 2
    sitk.WriteImage(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
