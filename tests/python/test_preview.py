"""`medimg preview`: three panels with the physical aspect ratio, in the
radiological convention whatever the voxel order on disk, label overlays in
colour, and clear errors. PIL reads the PNG.

Usage: test_preview.py MEDIMG_BINARY SCRATCH_DIR
"""
import math
import os
import sys
import unittest

import nibabel as nib
import numpy as np
from cli_support import MRICRON, fresh_dir, run
from PIL import Image

SIZE = (60, 50, 20)
SPACING = (1.0, 1.2, 4.0)


def world_content(x, y, z):
    """Right hemisphere 200, left 100; anterior +50; superior +25 (RAS mm)."""
    return 100.0 + 100.0 * (x > 0) + 50.0 * (y > 10) + 25.0 * (z > 10)


def save_volume(path, flip_to_lps):
    """The same world content stored RAS (nibabel's default) or L-P-S ordered."""
    n = np.array(SIZE)
    sp = np.array(SPACING)
    centre = (n - 1) / 2 * sp
    affine = np.diag([*SPACING, 1.0])
    affine[:3, 3] = -centre
    if flip_to_lps:
        affine[:3, :3] = np.diag([-SPACING[0], -SPACING[1], SPACING[2]])
        affine[:3, 3] = [centre[0], centre[1], -centre[2]]
    i, j, k = np.meshgrid(*[np.arange(s) for s in SIZE], indexing="ij")
    world = affine @ np.stack([i, j, k, np.ones_like(i)]).reshape(4, -1)
    data = world_content(*world[:3]).reshape(SIZE).astype(np.int16)
    nib.save(nib.Nifti1Image(data, affine), path)


class Preview(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = fresh_dir("preview")
        cls.ras = os.path.join(cls.dir, "ras.nii.gz")
        cls.lps = os.path.join(cls.dir, "lps.nii.gz")
        save_volume(cls.ras, False)
        save_volume(cls.lps, True)

    def render(self, source, name, *extra):
        out = os.path.join(self.dir, name)
        r = run("preview", source, out, "--window", "150,300", "--size", "100", *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("radiological", r.stdout)
        return np.asarray(Image.open(out).convert("RGB")).astype(int)

    def test_panels_have_the_physical_aspect_ratio(self):
        picture = self.render(self.ras, "ras.png")
        ext = [(n - 1) * s + min(SPACING) for n, s in zip(SIZE, SPACING)]
        pixel = max(ext) / 100
        w = [math.ceil(e / pixel) for e in ext]
        # axial x by y, coronal x by z, sagittal y by z, 4-pixel gaps.
        self.assertEqual(picture.shape[1], w[0] + w[0] + w[1] + 8)
        self.assertEqual(picture.shape[0], max(w[1], w[2]))

    def test_radiological_convention_whatever_the_voxel_order(self):
        ras = self.render(self.ras, "ras.png")
        lps = self.render(self.lps, "lps.png")
        self.assertLessEqual(np.abs(ras - lps).max(), 1)
        ext = [(n - 1) * s + min(SPACING) for n, s in zip(SIZE, SPACING)]
        pixel = max(ext) / 100
        wx, wy, wz = [math.ceil(e / pixel) for e in ext]
        height = ras.shape[0]
        grey = ras[:, :, 0]
        # Axial panel: patient right (200) on the picture's left.
        top = (height - wy) // 2
        axial = grey[top:top + wy, :wx]
        self.assertGreater(axial[:, : wx // 4].mean(), axial[:, -wx // 4:].mean() + 60)
        # Anterior (+50) is up.
        self.assertGreater(axial[: wy // 5, :].mean(), axial[-wy // 5:, :].mean() + 30)
        # Coronal: superior (+25) up, right on the left.
        top = (height - wz) // 2
        coronal = grey[top:top + wz, wx + 4:2 * wx + 4]
        self.assertGreater(coronal[: wz // 5, :].mean(), coronal[-wz // 5:, :].mean() + 15)
        self.assertGreater(coronal[:, : wx // 4].mean(), coronal[:, -wx // 4:].mean() + 60)
        # Sagittal: anterior (+50) on the left.
        sagittal = grey[top:top + wz, 2 * wx + 8:]
        self.assertGreater(sagittal[:, : wy // 5].mean(), sagittal[:, -wy // 5:].mean() + 30)

    def test_labels_are_overlaid_in_colour(self):
        plain = self.render(os.path.join(MRICRON, "ch2.nii.gz"), "ch2.png")
        self.assertEqual(np.abs(plain[:, :, 0] - plain[:, :, 1]).max(), 0)
        overlaid = self.render(os.path.join(MRICRON, "ch2.nii.gz"), "ch2_aal.png",
                               "--overlay", os.path.join(MRICRON, "aal.nii.gz"))
        coloured = np.abs(overlaid[:, :, 0] - overlaid[:, :, 1]) > 10
        self.assertGreater(coloured.mean(), 0.1)

    def test_bad_input(self):
        out = os.path.join(self.dir, "x.jpg")
        r = run("preview", self.ras, out)
        self.assertEqual(r.returncode, 1)
        self.assertIn("a preview is written as .png", r.stderr)
        out = os.path.join(self.dir, "x.png")
        r = run("preview", self.ras, out, "--window", "10,0")
        self.assertIn("window width must be positive", r.stderr)
        self.assertFalse(os.path.exists(out))
        r = run("preview", os.path.join(self.dir, "missing.nii"), out)
        self.assertIn("no such file", r.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
