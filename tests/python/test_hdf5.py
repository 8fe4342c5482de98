"""HDF5 files as other tools see them: h5py reads what `medimg convert`
writes (array (z, y, x) equal to the NIfTI voxels, geometry attributes in
LPS equal to nibabel's affine converted), medimg reads a file laid out as
MedImages.jl writes it (group/study_uid, integer image_type), and bad
HDF5 input gets one clear line and no output.

Usage: test_hdf5.py MEDIMG_BINARY SCRATCH_DIR
"""
import json
import os
import sys
import unittest

import h5py
import nibabel as nib
import numpy as np
from cli_support import MRICRON, NIBABEL_DATA, fresh_dir, run

LPS = np.diag([-1.0, -1.0, 1.0])




def oblique_nifti(path):
    """anatomical.nii's voxels on an oblique anisotropic grid."""
    data = np.asanyarray(nib.load(os.path.join(NIBABEL_DATA, "anatomical.nii")).dataobj)
    a, b = np.radians(17.0), np.radians(-23.0)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rz = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rz @ rx @ np.diag([0.9, 1.3, 2.7])
    affine[:3, 3] = [-31.5, 12.25, 40.0]
    img = nib.Nifti1Image(data.astype(np.int16), affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nib.save(img, path)
    return data.astype(np.int16), affine


class H5pyReadsMedimg(unittest.TestCase):
    def test_convert_writes_the_documented_layout(self):
        d = fresh_dir("h5py_reads")
        data, affine = oblique_nifti(os.path.join(d, "oblique.nii.gz"))
        out = os.path.join(d, "scan.h5") + ":/cohort/scan1"
        result = run("convert", os.path.join(d, "oblique.nii.gz"), out)
        self.assertEqual(result.returncode, 0, result.stderr)
        with h5py.File(os.path.join(d, "scan.h5"), "r") as f:
            ds = f["/cohort/scan1"]
            self.assertEqual(ds.dtype, np.int16)
            self.assertEqual(ds.shape, data.shape[::-1])
            np.testing.assert_array_equal(ds[()], data.transpose(2, 1, 0))
            self.assertEqual(ds.chunks[1:], data.shape[1::-1])  # whole planes
            spacing = np.linalg.norm(affine[:3, :3], axis=0)
            direction = LPS @ affine[:3, :3] / spacing
            # NIfTI keeps its header in float32.
            np.testing.assert_allclose(ds.attrs["spacing"], spacing, atol=1e-5)
            np.testing.assert_allclose(ds.attrs["origin"], LPS @ affine[:3, 3], atol=1e-4)
            np.testing.assert_allclose(ds.attrs["direction_row_major"].reshape(3, 3), direction,
                                       atol=1e-5)
            np.testing.assert_array_equal(ds.attrs["direction"], ds.attrs["direction_row_major"])
            self.assertEqual(ds.attrs["image_type"], -1)
            meta = json.loads(ds.attrs["metadata"])
            self.assertEqual(meta["modality"], "Other")
            self.assertEqual(meta["tags"]["nifti|qform_code"], "1")

    def test_h5_to_nifti_round_trip(self):
        d = fresh_dir("round_trip")
        src = os.path.join(MRICRON, "aal.nii.gz")
        self.assertEqual(run("convert", src, os.path.join(d, "a.h5")).returncode, 0)
        result = run("convert", os.path.join(d, "a.h5"), os.path.join(d, "back.nii.gz"))
        self.assertEqual(result.returncode, 0, result.stderr)
        original, back = nib.load(src), nib.load(os.path.join(d, "back.nii.gz"))
        np.testing.assert_array_equal(np.asanyarray(back.dataobj), np.asanyarray(original.dataobj))
        np.testing.assert_allclose(back.affine, original.affine, atol=1e-5)

    def test_compressed(self):
        d = fresh_dir("gzip")
        src = os.path.join(MRICRON, "ch2better.nii.gz")
        self.assertEqual(run("convert", src, os.path.join(d, "c.h5"), "--compress").returncode, 0)
        with h5py.File(os.path.join(d, "c.h5"), "r") as f:
            self.assertEqual(f["/image"].compression, "gzip")
            np.testing.assert_array_equal(
                f["/image"][()], np.asanyarray(nib.load(src).dataobj).transpose(2, 1, 0))


class MedimgReadsMedImagesJl(unittest.TestCase):
    def test_medimages_jl_layout(self):
        """Group + dataset named by the study UID, integer enums, JSON metadata."""
        d = fresh_dir("medimages_jl")
        path = os.path.join(d, "medimages.h5")
        voxels = np.arange(6 * 5 * 4, dtype=np.float32).reshape(4, 5, 6)  # Julia (6, 5, 4)
        with h5py.File(path, "w") as f:
            ds = f.create_group("ct_scans").create_dataset("1.2.840.99", data=voxels)
            ds.attrs["origin"] = [10.0, -20.0, 30.0]
            ds.attrs["spacing"] = [0.8, 0.8, 2.5]
            ds.attrs["direction"] = [0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
            ds.attrs["image_type"] = 2
            ds.attrs["image_subtype"] = 0
            ds.attrs["patient_id"] = "P-17"
            ds.attrs["series_uid"] = "1.2.840.99.1"
            ds.attrs["date_of_saving"] = "2024-01-01T00:00:00"
            ds.attrs["metadata"] = json.dumps({"scanner": "X"})
        info = json.loads(run("info", "--json", path).stdout)
        self.assertEqual(info["size"], [6, 5, 4])
        self.assertEqual(info["pixel_type"], "float32")
        self.assertEqual(info["spacing"], [0.8, 0.8, 2.5])
        self.assertEqual(info["origin"], [10.0, -20.0, 30.0])
        self.assertEqual(info["direction_row_major"], [[0, 1, 0], [-1, 0, 0], [0, 0, 1]])
        self.assertEqual(info["modality"], "CT")
        self.assertEqual(info["subtype"], "CT")
        self.assertEqual(info["patient_id"], "P-17")
        self.assertEqual(info["study_uid"], "1.2.840.99")
        self.assertEqual(info["series_uid"], "1.2.840.99.1")
        self.assertEqual(info["max"], 119.0)
        self.assertEqual(info["tags"]["scanner"], "X")
        out = os.path.join(d, "out.nii")
        self.assertEqual(run("convert", path + ":/ct_scans/1.2.840.99", out).returncode, 0)
        np.testing.assert_array_equal(np.asanyarray(nib.load(out).dataobj),
                                      voxels.transpose(2, 1, 0))


    def test_attributes_that_are_numbers_or_neither(self):
        """A number where text is expected (a patient id a script stored as an
        integer) is kept as its text; an attribute of another kind is left out
        with one warning line naming it, and the image is read."""
        d = fresh_dir("h5_attribute_kinds")
        path = os.path.join(d, "scan.h5")
        voxels = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
        with h5py.File(path, "w") as f:
            ds = f.create_dataset("scan", data=voxels)
            ds.attrs["spacing"] = [1.0, 1.0, 2.0]
            ds.attrs["patient_id"] = np.int64(1234567)
            ds.attrs["series_uid"] = np.float64(1.5)
            ds.attrs["study_uid"] = np.array([1, 2, 3], dtype=np.int32)
        r = run("info", "--json", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        self.assertEqual(info["patient_id"], "1234567")
        self.assertEqual(info["series_uid"], "1.5")
        self.assertEqual(info["study_uid"], "")
        self.assertEqual(info["max"], 119.0)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertEqual(lines[0], "warning: '" + path + "': attribute 'study_uid' of dataset"
                         " '/scan' holds several numbers: left out")
        # The same file converted: the warning once, the kept text in the output.
        out = os.path.join(d, "out.h5")
        r = run("convert", path, out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        with h5py.File(out, "r") as f:
            written = next(iter(f.values()))
            self.assertEqual(written.attrs["patient_id"], "1234567")


class BadHdf5(unittest.TestCase):
    def expect_error(self, args, needle, output):
        result = run(*args)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(needle, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertFalse(os.path.exists(output))

    def test_missing_dataset_several_datasets_and_truncated_file(self):
        d = fresh_dir("bad")
        path = os.path.join(d, "two.h5")
        with h5py.File(path, "w") as f:
            f["a"] = np.zeros((2, 3, 4), dtype=np.uint8)
            f["b"] = np.zeros((2, 3, 4), dtype=np.uint8)
        out = os.path.join(d, "out.nii")
        self.expect_error(["convert", path + ":/c", out], "no such dataset", out)
        self.expect_error(["convert", path, out], "several datasets (/a, /b)", out)
        with open(path, "rb") as f:
            head = f.read(1500)
        with open(os.path.join(d, "cut.h5"), "wb") as f:
            f.write(head)
        self.expect_error(["convert", os.path.join(d, "cut.h5"), out], "cut.h5", out)
        with h5py.File(os.path.join(d, "complex.h5"), "w") as f:
            f["x"] = np.zeros((2, 3, 4), dtype=np.complex64)
        self.expect_error(["convert", os.path.join(d, "complex.h5"), out], "voxel type", out)
        missing = os.path.join(d, "nofolder", "x.h5")
        self.expect_error(["convert", os.path.join(MRICRON, "aal.nii.gz"), missing],
                          "does not exist", missing)

    def test_dataset_larger_than_what_the_file_stores(self):
        # HDF5 reads chunks never written as the fill value: refused before
        # reading (a fuzzed 16 KiB file described 135 GB this way).
        d = fresh_dir("sparse")
        path = os.path.join(d, "sparse.h5")
        with h5py.File(path, "w") as f:
            image = f.create_dataset("image", shape=(100000, 64, 64), dtype=np.int16,
                                     chunks=(1, 64, 64))
            image[0] = 1
        out = os.path.join(d, "out.nii")
        self.expect_error(["convert", path, out],
                          "the file stores 8192 bytes of the 819200000 its voxels need", out)
        result = run("info", path)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("chunks never written", result.stderr)

    def test_global_heap_that_hdf5_reads_for_ever(self):
        # HDF5 1.10 never finishes a global heap collection whose free-space
        # object has size 0 (the fuzz corpus' looping files): every read
        # took the 60 s header limit. Found before HDF5 opens the file now,
        # in the collection medimg's writer puts at the end (the metadata
        # attribute) and in h5py's string attributes.
        import struct
        import time
        d = fresh_dir("heap")
        written = os.path.join(d, "written.h5")
        result = run("convert", os.path.join(MRICRON, "ch2.nii.gz"), written)
        self.assertEqual(result.returncode, 0, result.stderr)
        with h5py.File(os.path.join(d, "strings.h5"), "w") as f:
            image = f.create_dataset("image", data=np.zeros((4, 5, 6), dtype=np.float32))
            image.attrs["metadata"] = "x" * 200  # a variable-length string
        for name in ("written.h5", "strings.h5"):
            with open(os.path.join(d, name), "rb") as f:
                data = bytearray(f.read())
            at = data.find(b"GCOL")
            self.assertGreater(at, 0, name)
            # Walk to the free-space object (index 0) and zero its size.
            p = 16
            while struct.unpack_from("<H", data, at + p)[0] != 0:
                size = struct.unpack_from("<Q", data, at + p + 8)[0]
                p += 16 + (size + 7) // 8 * 8
            struct.pack_into("<Q", data, at + p + 8, 0)
            damaged = os.path.join(d, "loop_" + name)
            with open(damaged, "wb") as f:
                f.write(bytes(data))
            out = os.path.join(d, "out_" + name + ".nii")
            start = time.monotonic()
            self.expect_error(["convert", damaged, out],
                              "damaged HDF5 file: the global heap collection at byte %d has a "
                              "free-space object of 0 bytes" % at, out)
            result = run("info", damaged)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn("reads that collection for ever", result.stderr)
            self.assertLess(time.monotonic() - start, 10.0)
            # The sound file still reads.
            self.assertEqual(run("info", os.path.join(d, name)).returncode, 0)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
