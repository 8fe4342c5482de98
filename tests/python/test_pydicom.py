"""medimg's reading of single DICOM files against pydicom, an independent oracle.

Every file of pydicom's test data (test_files, charset_files) and of
nibabel's DICOM test data (nicom/tests/data, gzipped ones inflated first) is
read with `medimg info --json` and `medimg convert` to NIfTI. Each either
loads or is refused with exactly one line; on success stderr holds nothing
but medimg `warning:` lines (no GDCM, OpenJPEG or ITK chatter).

What loads must agree with the file as pydicom reads it: size Columns x Rows
x NumberOfFrames; origin ImagePositionPatient (LPS, as DICOM), i and j
directions ImageOrientationPatient's row and column, in-plane spacing
PixelSpacing (column spacing along i) where those tags are present; voxels
pydicom's pixel_array after the modality LUT (RescaleSlope/Intercept),
where pydicom can decode them.
Usage: test_pydicom.py MEDIMG_BINARY SCRATCH_DIR
"""
import glob
import gzip
import json
import os
import shutil
import sys
import unittest

import nibabel as nib
import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut

sys.path.insert(0, os.path.dirname(__file__))
from cli_support import NIBABEL_DATA, SCRATCH, run  # noqa: E402

PYDICOM_DATA = os.path.join(os.path.dirname(pydicom.__file__), "data")
NICOM_DATA = os.path.join(os.path.dirname(nib.__file__), "nicom", "tests", "data")


def dicom_files():
    """Every file of the three folders (gzipped nicom files inflated)."""
    files = sorted(glob.glob(os.path.join(PYDICOM_DATA, "test_files", "*")))
    files += sorted(glob.glob(os.path.join(PYDICOM_DATA, "charset_files", "*")))
    inflated = os.path.join(SCRATCH, "nicom")
    shutil.rmtree(inflated, ignore_errors=True)
    os.makedirs(inflated)
    for path in sorted(glob.glob(os.path.join(NICOM_DATA, "*"))):
        if path.endswith(".gz"):
            target = os.path.join(inflated, os.path.basename(path)[:-3])
            with gzip.open(path, "rb") as src, open(target, "wb") as dst:
                dst.write(src.read())
            files.append(target)
        else:
            files.append(path)
    return [f for f in files if os.path.isfile(f)]


def pydicom_voxels(ds):
    """pydicom's voxels after the modality LUT as (i, j, k), or None when
    pydicom cannot decode them here."""
    try:
        array = apply_modality_lut(ds.pixel_array, ds)
    except Exception:  # no decoder for this transfer syntax, or no pixels
        return None
    if array.ndim == 2:
        array = array[np.newaxis]
    return np.transpose(array, (2, 1, 0)).astype(np.float64)


class PydicomOracle(unittest.TestCase):
    def test_every_file_loads_as_pydicom_reads_it_or_is_refused_in_one_line(self):
        compared = {"geometry": 0, "voxels": 0, "refused": 0}
        out = os.path.join(SCRATCH, "out.nii")
        for path in dicom_files():
            with self.subTest(path=os.path.relpath(path, os.path.dirname(PYDICOM_DATA))):
                result = run("info", "--json", path)
                self.assertIn(result.returncode, (0, 1), result.stderr)
                lines = result.stderr.strip().splitlines()
                if result.returncode == 1:
                    self.assertEqual(len(lines), 1, result.stderr)
                    self.assertTrue(lines[0].startswith("medimg: error: "), lines[0])
                    compared["refused"] += 1
                    continue
                for line in lines:
                    self.assertTrue(line.startswith("warning: "), result.stderr)
                info = json.loads(result.stdout)
                ds = pydicom.dcmread(path, force=True)
                frames = int(ds.get("NumberOfFrames", 1) or 1)
                self.assertEqual(info["size"], [ds.Columns, ds.Rows, frames])
                direction = np.array(info["direction_row_major"])
                if "ImagePositionPatient" in ds:
                    np.testing.assert_allclose(info["origin"],
                                               [float(v) for v in ds.ImagePositionPatient],
                                               atol=1e-4)
                if "ImageOrientationPatient" in ds:
                    iop = [float(v) for v in ds.ImageOrientationPatient]
                    np.testing.assert_allclose(direction[:, 0], iop[:3], atol=1e-4)
                    np.testing.assert_allclose(direction[:, 1], iop[3:], atol=1e-4)
                    compared["geometry"] += 1
                if "PixelSpacing" in ds:
                    np.testing.assert_allclose(
                        info["spacing"][:2],
                        [float(ds.PixelSpacing[1]), float(ds.PixelSpacing[0])], rtol=1e-6)
                expected = pydicom_voxels(ds)
                if expected is None:
                    continue
                converted = run("--quiet", "convert", path, out)
                self.assertEqual(converted.returncode, 0, converted.stderr)
                got = np.asanyarray(nib.load(out).dataobj).astype(np.float64)
                self.assertEqual(got.shape[:3], expected.shape)
                np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=1e-6,
                                           atol=1e-6)
                compared["voxels"] += 1
        print("compared:", compared, file=sys.stderr)
        # Guards against a loop that silently compares nothing.
        self.assertGreaterEqual(compared["geometry"], 10)
        self.assertGreaterEqual(compared["voxels"], 20)
        self.assertGreaterEqual(compared["refused"], 30)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
