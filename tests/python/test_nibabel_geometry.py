"""medimg's geometry of real NIfTI files against nibabel, an independent oracle.

nibabel gives the RAS affine A (voxel -> mm). medimg reports LPS: with
F = diag(-1, -1, 1), medimg's origin must be F @ A[:3, 3], its spacing the
column norms of A[:3, :3], its direction F @ A[:3, :3] / spacing, and its
orientation code nibabel's aff2axcodes(A) (a code names physical directions,
the same whatever frame the matrix is written in). Voxel statistics are
checked against numpy (NaN voxels skipped, as medimg does).

Two ITK 5.2 rules (medimg's truth is ITK) differ from nibabel's defaults and
are applied to nibabel's numbers here:
- Which transform: ITK uses the sform when the qform code is unknown, when
  the sform code is SCANNER_ANAT (1), or when both are set and agree;
  otherwise the qform. nibabel's img.affine prefers any sform.
- NIfTI float voxels that are NaN or infinite are read as 0 by ITK's NIfTI
  library (nifti_read_buffer); nibabel keeps them.

Usage: test_nibabel_geometry.py MEDIMG_BINARY SCRATCH_DIR
"""
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


def itk_affine(header):
    qform, qcode = header.get_qform(coded=True)
    sform, scode = header.get_sform(coded=True)
    qcode, scode = int(qcode or 0), int(scode or 0)
    if scode > 0 and (qcode == 0 or scode == 1 or np.allclose(qform, sform, atol=1e-5)):
        return sform
    return qform


def medimg_info(path):
    out = subprocess.run([MEDIMG, "info", "--json", path], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


class NibabelOracle(unittest.TestCase):
    def check_file(self, path, tolerance=1e-5):
        img = nib.load(path)
        affine = itk_affine(img.header)
        info = medimg_info(path)
        with self.subTest(path=path):
            self.assertEqual(info["size"], list(img.shape[:3]) + [1] * (3 - len(img.shape[:3])))
            linear = affine[:3, :3]
            spacing = np.linalg.norm(linear, axis=0)
            np.testing.assert_allclose(info["spacing"], spacing, rtol=tolerance, atol=tolerance)
            np.testing.assert_allclose(info["origin"], RAS_TO_LPS @ affine[:3, 3],
                                       rtol=tolerance, atol=tolerance)
            np.testing.assert_allclose(np.array(info["direction_row_major"]),
                                       RAS_TO_LPS @ linear / spacing, atol=tolerance)
            self.assertEqual(info["orientation"], "".join(nib.aff2axcodes(affine)))
            data = np.asanyarray(img.dataobj)
            if np.issubdtype(data.dtype, np.floating):
                data = np.where(np.isfinite(data), data, 0)
            self.assertEqual(info["min"], float(data.min()))
            self.assertEqual(info["max"], float(data.max()))
            mean = float(data.astype(np.float64).mean())
            self.assertAlmostEqual(info["mean"], mean, delta=1e-9 * max(1.0, abs(mean)))
        return info

    def test_mricron_templates(self):
        for name in ["ch2better.nii.gz", "aal.nii.gz", "ch2.nii.gz", "brodmann.nii.gz",
                     "JHU-WhiteMatter-labels-2mm.nii.gz"]:
            self.check_file(os.path.join(MRICRON, name))

    def test_ch2better_values(self):
        info = self.check_file(os.path.join(MRICRON, "ch2better.nii.gz"))
        self.assertEqual(info["size"], [301, 370, 316])
        self.assertEqual(info["origin"], [75.0, 107.0, -69.5])
        self.assertEqual(info["orientation"], "RAS")
        self.assertEqual(info["pixel_type"], "uint8")

    def test_nibabel_test_files(self):
        for name in ["anatomical.nii", "standard.nii.gz", "reoriented_anat_moved.nii",
                     "resampled_anat_moved.nii"]:
            self.check_file(os.path.join(NIBABEL_DATA, name))

    def test_qform_sform_disagreement_follows_itk(self):
        path = os.path.join(MRICRON, "JHU-WhiteMatter-labels-2mm.nii.gz")
        img = nib.load(path)
        self.assertFalse(np.allclose(img.get_qform(), img.get_sform()))
        info = self.check_file(path)
        self.assertEqual(info["orientation"], "RAI")  # the qform's; nibabel's affine says RAS
        self.assertEqual("".join(nib.aff2axcodes(img.affine)), "RAS")

    def test_nan_voxels_read_as_zero_like_itk(self):
        path = os.path.join(NIBABEL_DATA, "resampled_anat_moved.nii")
        self.assertEqual(int(np.isnan(np.asanyarray(nib.load(path).dataobj)).sum()), 153)
        self.assertEqual(self.check_file(path)["min"], 0.0)

    def test_oblique_real_volume(self):
        # example_nifti2.nii.gz is an oblique, anisotropic NIfTI-2 with two
        # volumes (ITK 5.2 reads NIfTI-1 only); its first volume is saved as
        # NIfTI-1 and must be read as a 3D oblique image.
        src = nib.load(os.path.join(NIBABEL_DATA, "example_nifti2.nii.gz"))
        first = np.asanyarray(src.dataobj)[..., 0]
        for suffix in ["nii.gz", "nii"]:
            path = os.path.join(SCRATCH, "oblique." + suffix)
            out = nib.Nifti1Image(first, src.affine)
            out.set_qform(src.affine, code=1)
            out.set_sform(src.affine, code=1)
            nib.save(out, path)
            info = self.check_file(path)
            direction = np.array(info["direction_row_major"])
            self.assertGreater(np.abs(direction - np.round(direction)).max(), 0.1,
                               "the test volume must be oblique")

    def test_rotated_anisotropic_synthetic(self):
        # An arbitrary rotation and anisotropic spacing, written by nibabel.
        angle = np.deg2rad(23.0)
        rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                        [0, 0, 1]]) @ np.array([[1, 0, 0], [0, np.cos(0.3), -np.sin(0.3)],
                                                [0, np.sin(0.3), np.cos(0.3)]])
        affine = np.eye(4)
        affine[:3, :3] = rot @ np.diag([0.9, 1.7, 3.0])
        affine[:3, 3] = [-40.25, 12.5, 7.75]
        data = np.arange(7 * 6 * 5, dtype=np.int16).reshape(7, 6, 5) - 50
        path = os.path.join(SCRATCH, "rotated.nii.gz")
        nib.save(nib.Nifti1Image(data, affine), path)
        info = self.check_file(path)
        self.assertEqual(info["pixel_type"], "int16")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
