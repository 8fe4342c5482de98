"""The `medimg` command line under mpiexec: every geometric command run on
2, 3 and 4 ranks writes the same voxels (bit for bit) and geometry as on one
process, with NIfTI or HDF5 in and out; `demo --distributed` checks itself;
bad input fails on every rank with one line from rank 0 and no output.

Usage: test_mpi_cli.py MEDIMG_BINARY SCRATCH_DIR MPIEXEC
"""
import os
import subprocess
import sys
import unittest

import h5py
import nibabel as nib
import numpy as np
from cli_support import MEDIMG, NIBABEL_DATA, fresh_dir

MPIEXEC = sys.argv[3] if len(sys.argv) > 3 else "mpiexec"
# KOKKOS_DISABLE_WARNINGS: with more ranks than cores every rank prints
# Kokkos' oversubscription warning to stderr in pieces, and mpiexec can splice
# them into the middle of rank 0's one error line (seen in a fresh-clone CI
# run), which the tests below parse.
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1", OMP_PROC_BIND="false",
           OMPI_MCA_btl_vader_single_copy_mechanism="none", KOKKOS_DISABLE_WARNINGS="1")


def medimg(ranks, *args):
    command = [MEDIMG, *args] if ranks == 1 else [MPIEXEC, "-n", str(ranks), MEDIMG, *args]
    return subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=300)



def read(path):
    """Voxels (x, y, z) and the grid of a NIfTI or HDF5 output."""
    if ".h5" in path:
        file, dataset = path.split(":")
        with h5py.File(file, "r") as f:
            d = f[dataset]
            grid = [d.attrs[k].tolist() for k in ("origin", "spacing", "direction_row_major")]
            return d[()].transpose(2, 1, 0), grid
    img = nib.load(path)
    return np.asanyarray(img.dataobj), img.affine.tolist()


def oblique_input(folder):
    data = np.asanyarray(nib.load(os.path.join(NIBABEL_DATA, "anatomical.nii")).dataobj)
    a = np.radians(21.0)
    affine = np.eye(4)
    affine[:3, :3] = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0],
                               [-np.sin(a), 0, np.cos(a)]]) @ np.diag([1.1, 0.9, 2.5])
    affine[:3, 3] = [-20.0, 15.5, 33.0]
    path = os.path.join(folder, "oblique.nii.gz")
    img = nib.Nifti1Image(data.astype(np.float32), affine)
    img.set_qform(affine, code=1)
    nib.save(img, path)
    h5 = os.path.join(folder, "oblique.h5") + ":/scan"
    assert medimg(1, "convert", path, h5).returncode == 0
    return path, h5


COMMANDS = [
    ["rotate", "--axis", "x", "--angle", "90", "--interp", "bspline"],
    ["rotate", "--axis", "z", "--angle", "-17", "--expand"],
    ["resample", "--spacing", "0.7,1.3,1.1", "--interp", "bspline"],
    ["reorient", "--to", "SLA"],
    ["crop", "--start", "3,4,2", "--size", "20,25,7"],
    ["pad", "--before", "1,2,3", "--after", "3,0,2", "--value", "-5"],
    ["flip", "--axis", "z"],
    ["scale", "--factor", "0.8,1.2,1.1", "--interp", "nearest"],
    ["resize", "--size", "40,30,17"],
    ["translate", "--offset", "2.5,-1.25,4", "--resample"],
    ["affine", "--matrix", "0.95,0.1,0,1.5,-0.08,1.05,0.1,-2,0.02,-0.05,0.98,0.5"],
]


class DistributedCommands(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = fresh_dir("mpi_cli")
        cls.nifti, cls.h5 = oblique_input(cls.dir)

    def check(self, command, ranks, source, suffix):
        name = "_".join(command[:1] + [c.strip("-") for c in command[1:3]])
        single = os.path.join(self.dir, name + "_1" + suffix)
        multi = os.path.join(self.dir, name + "_%d" % ranks + suffix)
        if ".h5" in suffix:
            single, multi = single + ":/out", multi + ":/out"
        if not os.path.exists(single.split(":")[0]):
            r = medimg(1, command[0], source, single, *command[1:])
            self.assertEqual(r.returncode, 0, r.stderr)
        r = medimg(ranks, command[0], source, multi, *command[1:])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("on %d MPI ranks" % ranks, r.stdout)
        a, grid_a = read(single)
        b, grid_b = read(multi)
        self.assertEqual(a.dtype, b.dtype)
        self.assertEqual(grid_a, grid_b, name)
        np.testing.assert_array_equal(a, b, err_msg="%s at %d ranks" % (name, ranks))

    def test_nifti_in_nifti_out(self):
        for command in COMMANDS:
            for ranks in (2, 3):
                with self.subTest(command=command[0], ranks=ranks):
                    self.check(command, ranks, self.nifti, ".nii.gz")

    def test_hdf5_in_hdf5_out(self):
        for command in COMMANDS:
            for ranks in (2, 4):
                with self.subTest(command=command[0], ranks=ranks):
                    self.check(command, ranks, self.h5, ".h5")


class DistributedConvert(unittest.TestCase):
    def test_convert_with_type_equals_one_rank(self):
        d = fresh_dir("mpi_convert")
        nifti, _ = oblique_input(d)
        one, three = os.path.join(d, "one.h5") + ":/c", os.path.join(d, "three.h5") + ":/c"
        self.assertEqual(medimg(1, "convert", nifti, one, "--type", "int16").returncode, 0)
        r = medimg(3, "convert", nifti, three, "--type", "int16")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("on 3 MPI ranks", r.stdout)
        a, grid_a = read(one)
        b, grid_b = read(three)
        self.assertEqual(b.dtype, np.int16)
        self.assertEqual(grid_a, grid_b)
        np.testing.assert_array_equal(a, b)


class RegisterUnderMpiexec(unittest.TestCase):
    def test_runs_once_on_rank_zero(self):
        d = fresh_dir("mpi_register")
        nifti, _ = oblique_input(d)
        tfm = os.path.join(d, "t.tfm")
        r = medimg(2, "register", nifti, nifti, "--levels", "1", "--iterations", "5",
                   "--out-transform", tfm)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("register: runs on rank 0 of 2", r.stdout)
        self.assertEqual(r.stdout.count(" parameters:"), 1)  # one registration ran
        self.assertTrue(os.path.exists(tfm))


class DistributedDemo(unittest.TestCase):
    def test_demo_checks_itself(self):
        d = fresh_dir("mpi_demo")
        r = medimg(3, "demo", "--distributed", "--out", d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("k-slabs over 3 MPI rank(s)", r.stdout)
        self.assertIn("identical to the single-process one: yes (bit for bit)", r.stdout)
        self.assertEqual(r.stdout.count("1. synthesising"), 1)  # rank 0 only
        self.assertTrue(os.path.exists(os.path.join(d, "phantom_pipeline.h5")))


class DistributedBadInput(unittest.TestCase):
    def expect_error(self, args, needle, output):
        r = medimg(3, *args)
        self.assertNotEqual(r.returncode, 0)
        errors = [l for l in r.stderr.splitlines() if l.startswith("medimg:")]
        self.assertEqual(len(errors), 1, r.stderr)
        self.assertIn(needle, errors[0])
        self.assertFalse(os.path.exists(output.split(":")[0]))

    def test_missing_dataset_file_and_folder(self):
        d = fresh_dir("mpi_bad")
        nifti, h5 = oblique_input(d)
        out = os.path.join(d, "out.h5")
        self.expect_error(["rotate", h5.split(":")[0] + ":/nope", out, "--axis", "z",
                           "--angle", "5"], "no such dataset", out)
        self.expect_error(["rotate", os.path.join(d, "none.nii.gz"), out, "--axis", "z",
                           "--angle", "5"], "none.nii.gz", out)
        missing = os.path.join(d, "nofolder", "x.h5")
        self.expect_error(["flip", nifti, missing, "--axis", "x"], "does not exist", missing)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
