"""Resource limits (issue 19, docs/RELIABILITY.md): a full disk, a file-size
limit and an unwritable output folder give one-line errors, exit 1 and no
partial or temporary file; a batch refuses to start when the output folder
cannot hold its outputs.

The full disk is a 1 MiB tmpfs mounted for the test and the unwritable
folder an immutable one (chattr +i); both need root, which CI has. Without
root the folder is made read-only with chmod and the tmpfs cases are
skipped (the file-size limit case still writes past a limit).

Usage: test_limits.py MEDIMG_BINARY SCRATCH_DIR
"""
import csv
import json
import os
import resource
import subprocess
import sys
import unittest

import nibabel as nib
import numpy as np
from cli_support import MEDIMG, fresh_dir, run

FORMATS = [".nii", ".nii.gz", ".nrrd", ".mha", ".h5"]


def make_input(d, name, shape, seed):
    """Noise, so that gzip cannot shrink the outputs below the tmpfs."""
    data = np.random.default_rng(seed).normal(100, 30, shape).astype(np.float32)
    path = os.path.join(d, name)
    nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.0, 1.5, 1.0])), path)
    return path


def listing(d):
    return sorted(os.path.relpath(os.path.join(p, n), d)
                  for p, _, names in os.walk(d) for n in names)


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = fresh_dir("limits")
        # 1.5 MiB of float32: larger than the 1 MiB disk in every format.
        cls.big = make_input(cls.dir, "big.nii", (96, 64, 64), 1)
        cls.full = os.path.join(cls.dir, "full")
        os.makedirs(cls.full)
        cls.mounted = os.geteuid() == 0 and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "medimg-test-full", cls.full],
            capture_output=True).returncode == 0

    @classmethod
    def tearDownClass(cls):
        if cls.mounted:
            subprocess.run(["umount", cls.full], check=True)

    def one_line_error(self, r, *words):
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        for w in words:
            self.assertIn(w, lines[0])
        return lines[0]

    def empty_disk(self):
        for name in listing(self.full):
            os.remove(os.path.join(self.full, name))

    def test_full_disk_every_format(self):
        if not self.mounted:
            self.skipTest("mounting a tmpfs needs root")
        for ext in FORMATS:
            self.empty_disk()
            out = os.path.join(self.full, "out" + ext)
            line = self.one_line_error(run("convert", self.big, out), out)
            self.assertRegex(line, "No space left on device|disk is full|space", ext)
            self.assertEqual(listing(self.full), [], ext)

    def test_disk_that_fills_while_writing(self):
        if not self.mounted:
            self.skipTest("mounting a tmpfs needs root")
        # Compressed outputs pass the check before the write (deflate's best
        # ratio), then noise fills the disk: the writer's own error path.
        for ext in [".nii.gz", ".nrrd", ".mha", ".h5"]:
            self.empty_disk()
            out = os.path.join(self.full, "out" + ext)
            line = self.one_line_error(run("convert", self.big, out, "--compress"), out)
            self.assertRegex(line, "No space left on device", ext)
            self.assertEqual(listing(self.full), [], ext)

    def test_file_size_limit(self):
        limit = 1 << 20
        for ext in FORMATS:
            out = os.path.join(self.dir, "limited" + ext)
            r = subprocess.run([MEDIMG, "convert", self.big, out], capture_output=True, text=True,
                               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE,
                                                                     (limit, limit)))
            line = self.one_line_error(r, out)
            self.assertRegex(line, "File too large|size limit|too large", ext)
            self.assertEqual([f for f in listing(self.dir) if "limited" in f], [], ext)

    def test_mapped_nii_output(self):
        """A geometric command maps its .nii output (NiftiOutputMapping): a
        full disk, the file-size limit and a locked folder are the same one
        line as a written output's, with nothing left."""
        if self.mounted:
            self.empty_disk()
            out = os.path.join(self.full, "flipped.nii")
            line = self.one_line_error(run("flip", self.big, out, "--axis", "x"), out)
            self.assertRegex(line, "No space left on device")
            self.assertEqual(listing(self.full), [])
        limit = 1 << 20
        out = os.path.join(self.dir, "limited_flip.nii")
        r = subprocess.run([MEDIMG, "flip", self.big, out, "--axis", "x"], capture_output=True,
                           text=True, preexec_fn=lambda: resource.setrlimit(
                               resource.RLIMIT_FSIZE, (limit, limit)))
        self.assertRegex(self.one_line_error(r, out), "File too large")
        self.assertEqual([f for f in listing(self.dir) if "limited_flip" in f], [])
        locked = self.unwritable(os.path.join(self.dir, "locked_flip"))
        out = os.path.join(locked, "out.nii")
        self.one_line_error(run("flip", self.big, out, "--axis", "x"), out)
        self.assertEqual(listing(locked), [])

    def unwritable(self, path):
        os.makedirs(path, exist_ok=True)
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i", path], check=True)
            self.addCleanup(subprocess.run, ["chattr", "-i", path], check=True)
        else:
            os.chmod(path, 0o555)
            self.addCleanup(os.chmod, path, 0o755)
        return path

    def test_unwritable_output_folder(self):
        locked = self.unwritable(os.path.join(self.dir, "locked"))
        for ext in FORMATS:
            out = os.path.join(locked, "out" + ext)
            self.one_line_error(run("convert", self.big, out), out)
        self.assertEqual(listing(locked), [])
        # A batch whose output folder cannot be made.
        manifest = os.path.join(self.dir, "one.csv")
        with open(manifest, "w") as f:
            f.write("input\n%s\n" % self.big)
        steps = os.path.join(self.dir, "steps.json")
        with open(steps, "w") as f:
            json.dump({"medimg_pipeline": 1, "steps": [{"op": "flip", "axis": "x"}]}, f)
        r = run("batch", "--manifest", manifest, "--steps", steps, "--out-dir",
                os.path.join(locked, "out"))
        self.one_line_error(r, os.path.join(locked, "out"))
        self.assertEqual(listing(locked), [])

    def batch_into_full_disk(self, extension, items):
        self.empty_disk()
        manifest = os.path.join(self.dir, "cohort%s.csv" % extension)
        with open(manifest, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["input", "output"])
            for i in range(items):
                w.writerow([make_input(self.dir, "item%d.nii" % i, (64, 64, 40), 10 + i),
                            "item%d%s" % (i, extension)])
        steps = os.path.join(self.dir, "steps.json")
        with open(steps, "w") as f:
            json.dump({"medimg_pipeline": 1, "steps": [{"op": "flip", "axis": "x"}]}, f)
        return run("batch", "--manifest", manifest, "--steps", steps, "--out-dir", self.full,
                   "--format", extension, "--progress-interval", "0")

    def test_batch_refuses_when_the_outputs_cannot_fit(self):
        if not self.mounted:
            self.skipTest("mounting a tmpfs needs root")
        # Three uncompressed outputs of 640 KiB on a 1 MiB disk.
        r = self.batch_into_full_disk(".nii", 3)
        line = self.one_line_error(r, "batch refuses to start", self.full, "free")
        self.assertIn("3 outputs", line)
        self.assertEqual(listing(self.full), [])

    def test_batch_that_fills_the_disk(self):
        if not self.mounted:
            self.skipTest("mounting a tmpfs needs root")
        # Compressed noise passes the plan (gzip's best ratio) but fills the
        # disk: the items that fit are complete, the others fail at "write",
        # and no temporary file is left.
        r = self.batch_into_full_disk(".nii.gz", 4)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertNotIn("medimg-tmp", " ".join(listing(self.full)))
        written = [n for n in listing(self.full) if n.endswith(".nii.gz")]
        self.assertLess(len(written), 4)
        for name in written:
            image = nib.load(os.path.join(self.full, name))
            self.assertEqual(np.asanyarray(image.dataobj).shape, (64, 64, 40))
        self.assertIn("No space left on device", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
