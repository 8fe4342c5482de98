"""medimg's reading of real NIfTI files against nibabel, an independent oracle.

nibabel gives the RAS affine A (voxel -> mm). medimg reports LPS: with
F = diag(-1, -1, 1), medimg's origin must be F @ A[:3, 3], its spacing the
column norms of A[:3, :3], its direction F @ A[:3, :3] / spacing, and its
orientation code nibabel's aff2axcodes(A).

medimg follows nibabel's rule (the sform when its code > 0, else the qform
when its code > 0), so A is nibabel's img.affine. Where both codes are 0
(and for Analyze 7.5) nibabel departs from the NIfTI standard on purpose (x
flipped, origin at the centre); medimg keeps the standard's method 1:
A = diag(pixdim), origin 0, checked here as such. Voxels: nibabel's scaled
data, NaN and Inf kept (medimg's statistics skip non-finite voxels).

Every NIfTI/Analyze file of nibabel's test data and every mricron template
is read: a 3D one must match, one with several volumes must be refused with
one line. Usage: test_nibabel_geometry.py MEDIMG_BINARY SCRATCH_DIR
"""
import glob
import gzip
import json
import os
import subprocess
import sys
import unittest

import nibabel as nib
import numpy as np

MEDIMG = sys.argv[1] if len(sys.argv) > 1 else "medimg"
SCRATCH = sys.argv[2] if len(sys.argv) > 2 else "."
MRICRON = "/usr/share/mricron/templates"
NIBABEL_DATA = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def run(*args):
    return subprocess.run([MEDIMG, *args], capture_output=True, text=True)


def codes(header):
    try:
        return int(header["sform_code"]), int(header["qform_code"])
    except (KeyError, ValueError):
        return 0, 0  # Analyze 7.5


def expected_affine(img):
    sform_code, qform_code = codes(img.header)
    if sform_code > 0 or qform_code > 0:
        return img.affine
    affine = np.eye(4)  # NIfTI-1 method 1
    zooms = list(img.header.get_zooms()[:3]) + [1.0] * 3
    affine[:3, :3] = np.diag(zooms[:3])
    return affine


def volume_files():
    names = sorted(glob.glob(os.path.join(NIBABEL_DATA, "*.nii")) +
                   glob.glob(os.path.join(NIBABEL_DATA, "*.nii.gz")) +
                   glob.glob(os.path.join(NIBABEL_DATA, "*.hdr")) +
                   glob.glob(os.path.join(MRICRON, "*.nii.gz")))
    volumes = []
    for name in names:
        try:
            img = nib.load(name)
        except Exception:
            continue  # CIFTI and others nibabel itself does not open as a volume
        if isinstance(img, (nib.Nifti1Image, nib.Nifti1Pair, nib.AnalyzeImage)):
            volumes.append((name, img))
    return volumes


class NibabelOracle(unittest.TestCase):
    def check_geometry(self, info, img, tolerance=1e-4):
        affine = expected_affine(img)
        shape = list(img.shape[:3]) + [1] * (3 - len(img.shape[:3]))
        self.assertEqual(info["size"], shape)
        linear = affine[:3, :3]
        spacing = np.linalg.norm(linear, axis=0)
        np.testing.assert_allclose(info["spacing"], spacing, rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(info["origin"], RAS_TO_LPS @ affine[:3, 3], atol=tolerance)
        np.testing.assert_allclose(np.array(info["direction_row_major"]),
                                   RAS_TO_LPS @ linear / spacing, atol=tolerance)
        self.assertEqual(info["orientation"], "".join(nib.aff2axcodes(affine)))

    def check_voxels(self, info, img):
        data = np.asanyarray(img.dataobj)
        finite = data[np.isfinite(data)]
        self.assertEqual(info["min"], float(finite.min()))
        self.assertEqual(info["max"], float(finite.max()))
        mean = float(finite.astype(np.float64).mean())
        self.assertAlmostEqual(info["mean"], mean, delta=1e-9 * max(1.0, abs(mean)))

    def test_every_volume_matches_nibabel_or_is_refused(self):
        checked = refused = 0
        for path, img in volume_files():
            with self.subTest(path=os.path.basename(path)):
                result = run("info", "--json", path)
                if path.endswith(".hdr") and not os.path.exists(path[:-4] + ".img"):
                    # Debian ships some pairs' headers only: a one-line refusal,
                    # then the header is checked beside a made-up .img.
                    self.assertEqual(result.returncode, 1)
                    self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
                    self.assertIn("voxel file", result.stderr)
                    path = os.path.join(SCRATCH, os.path.basename(path))
                    with open(path, "wb") as f:
                        f.write(img.header.binaryblock)
                    offset = int(img.header.get_data_offset()) if hasattr(
                        img.header, "get_data_offset") else 0
                    nbytes = int(np.prod(img.shape)) * img.get_data_dtype().itemsize
                    with open(path[:-4] + ".img", "wb") as f:
                        f.write(bytes(offset + nbytes))
                    img = nib.load(path)
                    result = run("info", "--json", path)
                volumes = int(np.prod(img.shape[3:])) if len(img.shape) > 3 else 1
                if volumes > 1:
                    self.assertEqual(result.returncode, 1)
                    self.assertEqual(result.stdout, "")
                    self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
                    self.assertIn("4D image", result.stderr)
                    refused += 1
                    continue
                self.assertEqual(result.returncode, 0, result.stderr)
                info = json.loads(result.stdout)
                self.check_geometry(info, img)
                self.check_voxels(info, img)
                # Nothing on stderr but one warning when the two transforms differ.
                lines = result.stderr.splitlines()
                if info.get("nifti", {}).get("differ"):
                    self.assertEqual(len(lines), 1, result.stderr)
                    self.assertTrue(lines[0].startswith("warning: "), lines[0])
                else:
                    self.assertEqual(lines, [])
                checked += 1
        print(f"\n{checked} volumes equal nibabel's, {refused} with several volumes refused")
        self.assertGreaterEqual(checked, 20)
        self.assertGreaterEqual(refused, 3)

    def test_atlases_ITK_5_2_placed_elsewhere(self):
        # The six mricron templates ITK 5.2's rule (qform unless sform code 1)
        # put elsewhere: flipped, or shifted by 112-126 mm.
        for name in ["jhu189.nii.gz", "JHU-WhiteMatter-labels-1mm.nii.gz",
                     "JHU-WhiteMatter-labels-2mm.nii.gz", "AICHAmc.nii.gz",
                     "HarvardOxford-cort-maxprob-thr0-1mm.nii.gz", "natbrainlab.nii.gz"]:
            path = os.path.join(MRICRON, name)
            with self.subTest(name=name):
                img = nib.load(path)
                info = json.loads(run("info", "--json", path).stdout)
                self.assertEqual(info["nifti"]["used"], "sform")
                self.assertTrue(info["nifti"]["differ"])
                np.testing.assert_allclose(info["nifti"]["qform_ras"], img.get_qform()[:3],
                                           atol=1e-4)
                np.testing.assert_allclose(info["nifti"]["sform_ras"], img.get_sform()[:3],
                                           atol=1e-4)
                self.check_geometry(info, img)
                # --nifti-xform qform places it by the qform instead.
                qinfo = json.loads(run("--nifti-xform", "qform", "info", "--json", path).stdout)
                np.testing.assert_allclose(qinfo["origin"],
                                           RAS_TO_LPS @ img.get_qform()[:3, 3], atol=1e-4)

    def test_ch2better_values(self):
        info = json.loads(run("info", "--json", os.path.join(MRICRON, "ch2better.nii.gz")).stdout)
        self.assertEqual(info["size"], [301, 370, 316])
        self.assertEqual(info["origin"], [75.0, 107.0, -69.5])
        self.assertEqual(info["orientation"], "RAS")
        self.assertEqual(info["pixel_type"], "uint8")

    def test_nan_voxels_are_kept(self):
        src = os.path.join(NIBABEL_DATA, "resampled_anat_moved.nii")
        self.assertEqual(int(np.isnan(np.asanyarray(nib.load(src).dataobj)).sum()), 153)
        out = os.path.join(SCRATCH, "nan_kept.nii")
        self.assertEqual(run("convert", src, out).returncode, 0)
        self.assertEqual(int(np.isnan(np.asanyarray(nib.load(out).dataobj)).sum()), 153)

    def test_round_trips_keep_voxels_geometry_and_codes(self):
        for src in [os.path.join(MRICRON, "JHU-WhiteMatter-labels-2mm.nii.gz"),
                    os.path.join(NIBABEL_DATA, "anatomical.nii"),
                    os.path.join(MRICRON, "inia19-t1-brain.nii.gz")]:
            img = nib.load(src)
            for args, suffix in [([], "nii"), (["--compression-level", "1"], "nii.gz"),
                                 (["--compression-level", "6"], "nii.gz"),
                                 (["--compression-level", "9"], "nii.gz"),
                                 (["--nifti2"], "nii"), (["--nifti2"], "nii.gz")]:
                out = os.path.join(SCRATCH, f"rt_{len(args)}_{''.join(args)}."
                                   + os.path.basename(src).split(".")[0] + "." + suffix)
                with self.subTest(src=os.path.basename(src), args=args, suffix=suffix):
                    result = run(*args, "convert", src, out)
                    self.assertEqual(result.returncode, 0, result.stderr)
                    if suffix == "nii.gz":
                        self.assertEqual(subprocess.run(["gzip", "-t", out]).returncode, 0)
                    back = nib.load(out)
                    self.assertIsInstance(back, nib.Nifti2Image if "--nifti2" in args
                                          else nib.Nifti1Image)
                    np.testing.assert_array_equal(np.asanyarray(back.dataobj),
                                                  np.asanyarray(img.dataobj))
                    np.testing.assert_allclose(back.affine, img.affine, atol=1e-4)
                    self.assertEqual(codes(back.header)[0], codes(img.header)[0] or 1)

    def test_rotated_anisotropic_synthetic(self):
        angle = np.deg2rad(23.0)
        rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                        [0, 0, 1]]) @ np.array([[1, 0, 0], [0, np.cos(0.3), -np.sin(0.3)],
                                                [0, np.sin(0.3), np.cos(0.3)]])
        affine = np.eye(4)
        affine[:3, :3] = rot @ np.diag([0.9, 1.7, 3.0])
        affine[:3, 3] = [-40.25, 12.5, 7.75]
        data = np.arange(7 * 6 * 5, dtype=np.int16).reshape(7, 6, 5) - 50
        for cls, suffix in [(nib.Nifti1Image, "nii.gz"), (nib.Nifti2Image, "nii"),
                            (nib.Nifti1Pair, "hdr")]:
            path = os.path.join(SCRATCH, "rotated." + suffix)
            nib.save(cls(data, affine), path)
            info = json.loads(run("info", "--json", path).stdout)
            img = nib.load(path)
            self.check_geometry(info, img)
            self.check_voxels(info, img)

    def test_units_scaling_and_one_line_refusals(self):
        data = (np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6) - 30)
        affine = np.diag([0.5, 0.75, 2.0, 1.0])
        affine[:3, 3] = [3.0, -4.0, 5.0]
        img = nib.Nifti1Image(data, affine)
        img.header.set_xyzt_units("micron")
        path = os.path.join(SCRATCH, "micron.nii")
        nib.save(img, path)
        with open(path, "r+b") as f:  # scl_slope 0 (no scaling), scl_inter 7
            f.seek(112)
            f.write(np.array([0.0, 7.0], dtype=np.float32).tobytes())
        info = json.loads(run("info", "--json", path).stdout)
        np.testing.assert_allclose(info["spacing"], [0.0005, 0.00075, 0.002])
        np.testing.assert_allclose(info["origin"], [-0.003, 0.004, 0.005])
        self.assertEqual(info["pixel_type"], "int16")
        self.assertEqual(info["min"], -30.0)
        img.header.set_xyzt_units("mm")
        img.header.set_slope_inter(2.0, 7.0)
        scaled = os.path.join(SCRATCH, "scaled.nii")
        nib.save(img, scaled)
        info = json.loads(run("info", "--json", scaled).stdout)
        self.assertEqual(info["pixel_type"], "float32")
        self.assertEqual(info["min"], float(np.asanyarray(nib.load(scaled).dataobj).min()))

        good = open(path, "rb").read()
        bad_magic = good[:344] + b"xx1\0" + good[348:]
        negative = bytearray(good)
        negative[44:46] = np.int16(-1).tobytes()  # dim[2]
        cases = {"magic.nii": (bad_magic, "no NIfTI magic"),
                 "negative.nii": (bytes(negative), "dim[2] is -1"),
                 "short.nii": (good[:-10], "the voxels need"),
                 "short.nii.gz": (gzip.compress(good)[:-30], "truncated")}
        for name, (content, reason) in cases.items():
            with self.subTest(case=name):
                bad = os.path.join(SCRATCH, name)
                with open(bad, "wb") as f:
                    f.write(content)
                result = run("convert", bad, os.path.join(SCRATCH, "never.nii"))
                self.assertEqual(result.returncode, 1)
                self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
                self.assertIn(reason, result.stderr)
                self.assertFalse(os.path.exists(os.path.join(SCRATCH, "never.nii")))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
