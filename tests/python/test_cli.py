"""The `medimg` command line as a user meets it: info, convert round trips,
the demo, and bad input (one line on stderr naming the file and the
reason, a non-zero exit, and no output file).

Usage: test_cli.py MEDIMG_BINARY SCRATCH_DIR
"""
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import unittest

import nibabel as nib
import numpy as np
from cli_support import (MEDIMG, MRICRON, NIBABEL_DATA, SANITIZED, SANITIZED_REASON, fresh_dir,
                         run)





class Info(unittest.TestCase):
    def test_text_shows_geometry_and_statistics(self):
        result = run("info", os.path.join(MRICRON, "ch2better.nii.gz"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("size:        [301, 370, 316]", result.stdout)
        self.assertIn("spacing:     [0.5, 0.5, 0.5] mm", result.stdout)
        self.assertIn("origin:      [75, 107, -69.5] mm (LPS)", result.stdout)
        self.assertIn("orientation: RAS", result.stdout)
        self.assertIn("pixel type:  uint8", result.stdout)
        self.assertIn("min/max:     0 / 130", result.stdout)

    def test_compressed_file_streams_to_the_same_figures(self):
        """info on a .nii.gz streams it (never holds the image): the same
        text as the .nii's, statistics as numpy's, and a fraction of the
        image's memory."""
        d = fresh_dir("info_streamed")
        img = nib.load(os.path.join(MRICRON, "ch2better.nii.gz"))
        data = np.asanyarray(img.dataobj).astype(np.float32) * np.float32(0.5) - np.float32(3)
        plain, packed = os.path.join(d, "f.nii"), os.path.join(d, "f.nii.gz")
        nib.save(nib.Nifti1Image(data, img.affine), plain)
        nib.save(nib.Nifti1Image(data, img.affine), packed)
        a, b = run("info", plain), run("info", packed)
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertEqual(a.stdout.replace(plain, packed), b.stdout)
        self.assertIn("min/max:     %.10g / %.10g" % (data.min(), data.max()), b.stdout)
        self.assertIn("mean:        %.10g" % data.astype(np.float64).mean(), b.stdout)
        self.assertEqual(json.loads(run("info", "--json", packed).stdout)["mean"],
                         json.loads(run("info", "--json", plain).stdout)["mean"])
        # nibabel writes one gzip member: two threads inflate it (io/detail/gzip_split.hpp);
        # one thread gives the same text.
        one = run("info", packed, env=dict(os.environ, MEDIMG_GZIP_SPLIT="0"))
        self.assertEqual(one.stdout, b.stdout)

    @unittest.skipIf(SANITIZED, SANITIZED_REASON)
    def test_compressed_file_is_never_held(self):
        """Peak memory of info on a .nii.gz of 137 MiB of float: a few MiB."""
        d = fresh_dir("info_streamed_peak")
        img = nib.load(os.path.join(MRICRON, "ch2better.nii.gz"))
        packed = os.path.join(d, "f.nii.gz")
        nib.save(nib.Nifti1Image(np.asanyarray(img.dataobj).astype(np.float32), img.affine),
                 packed)
        timed = subprocess.run(["/usr/bin/time", "-f", "%M", MEDIMG, "info", packed],
                               capture_output=True, text=True)
        self.assertEqual(timed.returncode, 0, timed.stderr)
        self.assertLess(int(timed.stderr.strip().splitlines()[-1]), 64 * 1024)

    @unittest.skipIf(SANITIZED, SANITIZED_REASON)
    def test_read_input_is_given_back_before_the_output_is_written(self):
        """A rotation of a 64 MiB float .nii.gz into a .nii.gz: the input it
        read is freed before the compressing writer starts (its blocks in
        flight about 20 MiB), so the peak is input + output, not input +
        output + the writer's blocks (156-161 MiB before, 137-138 after)."""
        d = fresh_dir("release_input")
        shape = (256, 256, 256)
        data = ((np.arange(np.prod(shape)) % 4096) * 0.25).astype(np.float32).reshape(shape)
        src = os.path.join(d, "in.nii.gz")
        nib.save(nib.Nifti1Image(data, np.eye(4)), src)
        timed = subprocess.run(["/usr/bin/time", "-f", "%M", MEDIMG, "--quiet", "rotate", src,
                                os.path.join(d, "out.nii.gz"), "--axis", "z", "--angle", "10"],
                               capture_output=True, text=True)
        self.assertEqual(timed.returncode, 0, timed.stderr)
        peak_mib = int(timed.stderr.strip().splitlines()[-1]) / 1024
        self.assertLess(peak_mib, 64 + 64 + 16, f"peak {peak_mib:.0f} MiB")

    def test_dicom_file_metadata(self):
        path = os.path.join(os.path.dirname(nib.__file__), "..", "pydicom", "data", "test_files",
                            "CT_small.dcm")
        info = json.loads(run("info", "--json", path).stdout)
        self.assertEqual(info["modality"], "CT")
        self.assertEqual(info["patient_id"], "1CT1")
        self.assertEqual(info["tags"]["0028|1052"], "-1024")
        self.assertEqual(info["min"], 128 - 1024)

    def test_version_and_backend(self):
        self.assertRegex(run("--version").stdout, r"^medimg \d+\.\d+\.\d+")
        result = run("--backend", "--threads", "1", "info", os.path.join(MRICRON, "aal.nii.gz"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"backend: Kokkos::\w+ \(concurrency 1\)")

    def test_threads_fill_the_cpus_pinned_and_give_the_same_results(self):
        """Threads that fill the process's CPUs are pinned one to a CPU
        (core/cpu_pinning.hpp); a smaller team, a bigger one, OMP_PROC_BIND or
        MEDIMG_PIN_THREADS=0 leave them alone. Pinned, every path that starts
        threads or a child (two threads inflating a .nii.gz, the helpers
        faulting an output in, gzip workers, the isolated DICOM reader) gives
        what an unpinned run gives."""
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            self.skipTest("one CPU: nothing to pin")
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_PROC_BIND", "OMP_PLACES")}
        n = str(len(cpus))
        pinned = "host threads pinned to CPUs " + ",".join(map(str, cpus))
        ch2 = os.path.join(MRICRON, "ch2.nii.gz")
        result = run("--backend", "--threads", n, "info", ch2, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(pinned, result.stdout)
        for extra, args in (({}, ["--threads", "1"]), ({}, ["--threads", str(len(cpus) + 1)]),
                            ({"OMP_PROC_BIND": "false"}, ["--threads", n]),
                            ({"MEDIMG_PIN_THREADS": "0"}, ["--threads", n])):
            result = run("--backend", *args, "info", ch2, env=dict(env, **extra))
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertNotIn("pinned", result.stdout, (extra, args))

        d = fresh_dir("pinned")
        img = nib.load(os.path.join(MRICRON, "ch2better.nii.gz"))
        data = np.asanyarray(img.dataobj).astype(np.float32)
        plain, packed = os.path.join(d, "f.nii"), os.path.join(d, "f.nii.gz")
        nib.save(nib.Nifti1Image(data, img.affine), plain)
        nib.save(nib.Nifti1Image(data, img.affine), packed)
        dicom = os.path.join(os.path.dirname(nib.__file__), "..", "pydicom", "data", "test_files",
                             "CT_small.dcm")
        outputs = {}
        for how, extra in (("pinned", {}), ("free", {"MEDIMG_PIN_THREADS": "0"})):
            e = dict(env, **extra)
            texts = [run("--threads", n, "info", f, env=e) for f in (packed, dicom)]
            for t in texts:
                self.assertEqual(t.returncode, 0, t.stderr)
            resampled = os.path.join(d, how + "_1mm.nii")
            converted = os.path.join(d, how + "_c.nii.gz")
            for args in (["resample", plain, resampled, "--spacing", "1,1,1"],
                         ["convert", plain, converted]):
                r = run("--threads", n, *args, env=e)
                self.assertEqual(r.returncode, 0, r.stderr)
            outputs[how] = ([t.stdout.replace(packed, "") for t in texts],
                            np.asanyarray(nib.load(resampled).dataobj),
                            np.asanyarray(nib.load(converted).dataobj))
        self.assertEqual(outputs["pinned"][0], outputs["free"][0])
        self.assertIn("min/max:     0 / 130", outputs["pinned"][0][0])
        np.testing.assert_array_equal(outputs["pinned"][1], outputs["free"][1])
        np.testing.assert_array_equal(outputs["pinned"][2], data)
        np.testing.assert_array_equal(outputs["free"][2], data)


class Modules(unittest.TestCase):
    """ITK/GDCM and HDF5 are run-time modules (io/detail/modules.hpp): the
    medimg binary links neither, a NIfTI-only run never maps them, and a run
    that needs one loads it."""

    @staticmethod
    def loaded_objects(*args):
        env = dict(os.environ, LD_DEBUG="files")
        result = run(*args, env=env)
        return result, result.stderr

    def test_binary_links_no_itk_gdcm_or_hdf5(self):
        libraries = subprocess.run(["ldd", MEDIMG], capture_output=True, text=True).stdout
        for name in ("libITK", "libitk", "gdcm", "hdf5", "libcurl"):
            self.assertNotIn(name, libraries)

    def test_libraries_are_not_looked_for_in_the_current_folder(self):
        # An empty file named as each library the binary and the HDF5 module
        # need, in the folder medimg starts from: a loader that searched it
        # would stop there ("libnifti2.so.2: file too short", exit 127), as
        # it did while CMake's build-tree RUNPATH ended with an empty entry.
        d = fresh_dir("modules_cwd")
        module = os.path.join(os.path.dirname(MEDIMG), "..", "lib", "medimg", "libmedimg_hdf5.so")
        for binary in (MEDIMG, module):
            if not os.path.exists(binary):
                continue
            listing = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
            for name in re.findall(r"^\s*(\S+) =>", listing, re.M):
                open(os.path.join(d, name), "wb").close()
        self.assertTrue(os.path.exists(os.path.join(d, "libc.so.6")))
        result = subprocess.run([MEDIMG, "--version"], cwd=d, capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        result = subprocess.run([MEDIMG, "convert", os.path.join(MRICRON, "aal.nii.gz"), "a.h5"],
                                cwd=d, capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_nifti_run_maps_no_module(self):
        d = fresh_dir("modules_nifti")
        result, trace = self.loaded_objects(
            "convert", os.path.join(MRICRON, "aal.nii.gz"), os.path.join(d, "a.nii"))
        self.assertEqual(result.returncode, 0)
        self.assertNotIn("libmedimg_itk", trace)
        self.assertNotIn("libmedimg_hdf5", trace)
        self.assertNotIn("libITK", trace)

    def test_nrrd_and_hdf5_load_their_module(self):
        d = fresh_dir("modules_load")
        src = os.path.join(MRICRON, "aal.nii.gz")
        result, trace = self.loaded_objects("convert", src, os.path.join(d, "a.nrrd"))
        self.assertEqual(result.returncode, 0)
        self.assertIn("libmedimg_itk.so", trace)
        self.assertNotIn("libmedimg_hdf5", trace)
        result, trace = self.loaded_objects("convert", src, os.path.join(d, "a.h5"))
        self.assertEqual(result.returncode, 0)
        self.assertIn("libmedimg_hdf5.so", trace)
        self.assertNotIn("libmedimg_itk", trace)

    def test_missing_module_is_one_line(self):
        d = fresh_dir("modules_missing")
        env = dict(os.environ, MEDIMG_MODULE_DIR=d)
        out = os.path.join(d, "a.nrrd")
        result = run("convert", os.path.join(MRICRON, "aal.nii.gz"), out, env=env)
        self.assertEqual(result.returncode, 1)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn("ITK module", lines[0])
        self.assertIn("libmedimg_itk.so", lines[0])
        self.assertFalse(os.path.exists(out))


class Convert(unittest.TestCase):
    def test_nifti_nrrd_mha_nifti_round_trip_is_identical(self):
        d = fresh_dir("convert_chain")
        src = os.path.join(MRICRON, "ch2better.nii.gz")
        chain = [src] + [os.path.join(d, n) for n in ("a.nrrd", "b.mha", "c.nii.gz")]
        for a, b in zip(chain, chain[1:]):
            result = run("convert", a, b)
            self.assertEqual(result.returncode, 0, result.stderr)
        first = nib.load(src)
        last = nib.load(chain[-1])
        np.testing.assert_array_equal(np.asanyarray(first.dataobj), np.asanyarray(last.dataobj))
        np.testing.assert_allclose(first.affine, last.affine, atol=1e-6)
        self.assertEqual(last.get_data_dtype(), np.uint8)
        self.assertEqual(json.loads(run("info", "--json", chain[1]).stdout)["origin"],
                         [75.0, 107.0, -69.5])

    def test_type_conversion_rounds_and_clamps(self):
        d = fresh_dir("convert_type")
        data = np.array([-0.5, 0.5, 1.49, 2.5, 300.0, -7.6], dtype=np.float32).reshape(6, 1, 1)
        src = os.path.join(d, "values.nii")
        nib.save(nib.Nifti1Image(data, np.eye(4)), src)
        out = os.path.join(d, "values_u8.nrrd")
        result = run("convert", src, out, "--type", "uint8")
        self.assertEqual(result.returncode, 0, result.stderr)
        back = os.path.join(d, "back.nii")
        self.assertEqual(run("convert", out, back).returncode, 0)
        self.assertEqual(np.asanyarray(nib.load(back).dataobj).ravel().tolist(),
                         [0, 1, 1, 3, 255, 0])


class Demo(unittest.TestCase):
    def test_demo_writes_and_reads_back_the_phantom(self):
        d = fresh_dir("demo")
        result = run("demo", "--out", d)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("0 voxels differ", result.stdout)
        self.assertIn("size:        [128, 128, 48]", result.stdout)
        img = nib.load(os.path.join(d, "phantom.nii.gz"))
        self.assertEqual(img.shape, (128, 128, 48))
        np.testing.assert_allclose(np.linalg.norm(img.affine[:3, :3], axis=0), [0.9, 0.9, 3.0],
                                   rtol=1e-6)
        data = np.asanyarray(img.dataobj)
        self.assertAlmostEqual(float(data.max()), 1.0, places=6)
        self.assertAlmostEqual(float(data[64, 64, 24]), 0.2, places=5)


class Geometric(unittest.TestCase):
    """Each geometric subcommand on real data, checked with nibabel/numpy."""

    SRC = os.path.join(MRICRON, "aal.nii.gz")

    def setUp(self):
        self.dir = fresh_dir("geo_" + self._testMethodName)
        self.img = nib.load(self.SRC)
        self.data = np.asanyarray(self.img.dataobj)

    def out(self, name):
        return os.path.join(self.dir, name)

    def run_ok(self, *args):
        result = run(*args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def test_crop_pad_flip_are_exact(self):
        self.run_ok("crop", self.SRC, self.out("c.nii.gz"), "--start", "10,20,5", "--size", "40,30,20")
        np.testing.assert_array_equal(np.asanyarray(nib.load(self.out("c.nii.gz")).dataobj),
                                      self.data[10:50, 20:50, 5:25])
        np.testing.assert_allclose(nib.load(self.out("c.nii.gz")).affine[:3, 3],
                                   (self.img.affine @ [10, 20, 5, 1])[:3], atol=1e-4)
        self.run_ok("pad", self.SRC, self.out("p.nii.gz"), "--before", "1,2,3", "--after", "0,1,2",
                    "--value", "7")
        padded = np.asanyarray(nib.load(self.out("p.nii.gz")).dataobj)
        self.assertEqual(padded.shape, tuple(np.array(self.data.shape) + [1, 3, 5]))
        np.testing.assert_array_equal(padded[1:, 2:-1, 3:-2], self.data)
        self.assertEqual(int(padded[0, 0, 0]), 7)
        self.run_ok("flip", self.SRC, self.out("f.nii.gz"), "--axis", "y")
        np.testing.assert_array_equal(np.asanyarray(nib.load(self.out("f.nii.gz")).dataobj),
                                      self.data[:, ::-1, :])

    def test_reorient_matches_nibabel(self):
        for code in ["LPS", "PIR", "SAL"]:
            self.run_ok("reorient", self.SRC, self.out(code + ".nii.gz"), "--to", code)
            out = nib.load(self.out(code + ".nii.gz"))
            self.assertEqual("".join(nib.aff2axcodes(out.affine)), code)
            # nibabel's own reorientation of the same data is the oracle.
            transform = nib.orientations.ornt_transform(
                nib.orientations.io_orientation(self.img.affine),
                nib.orientations.axcodes2ornt(tuple(code)))
            expected = nib.orientations.apply_orientation(self.data, transform)
            np.testing.assert_array_equal(np.asanyarray(out.dataobj), expected)

    def test_resample_and_resize_grids(self):
        self.run_ok("resample", self.SRC, self.out("r.nii.gz"), "--spacing", "3,2.5,4",
                    "--interp", "nearest")
        r = nib.load(self.out("r.nii.gz"))
        zooms = self.img.header.get_zooms()
        self.assertEqual(r.shape, tuple(max(1, round(n * z / s)) for n, z, s in
                                        zip(self.data.shape, zooms, (3, 2.5, 4))))
        self.assertTrue(set(np.unique(np.asanyarray(r.dataobj))) <= set(np.unique(self.data)))
        self.run_ok("resample", self.SRC, self.out("like.nii.gz"), "--like",
                    os.path.join(NIBABEL_DATA, "anatomical.nii"), "--interp", "nearest")
        self.assertEqual(nib.load(self.out("like.nii.gz")).shape, (33, 41, 25))
        self.run_ok("resize", self.SRC, self.out("z.nii.gz"), "--size", "45,50,40")
        self.assertEqual(nib.load(self.out("z.nii.gz")).shape, (45, 50, 40))

    def test_rotate_scale_translate_affine(self):
        self.run_ok("rotate", self.SRC, self.out("rot.nii.gz"), "--axis", "z", "--angle", "15",
                    "--interp", "nearest", "--expand")
        rot = nib.load(self.out("rot.nii.gz"))
        self.assertGreater(rot.shape[0], self.data.shape[0])
        self.assertEqual(set(np.unique(np.asanyarray(rot.dataobj))), set(np.unique(self.data)))
        self.run_ok("scale", self.SRC, self.out("s.nii.gz"), "--factor", "1", "--interp", "linear")
        np.testing.assert_array_equal(np.asanyarray(nib.load(self.out("s.nii.gz")).dataobj),
                                      self.data)
        self.run_ok("translate", self.SRC, self.out("t.nii.gz"), "--offset", "2,-4,6")
        t = nib.load(self.out("t.nii.gz"))
        # LPS offset (2, -4, 6) is RAS (-2, 4, 6).
        np.testing.assert_allclose(t.affine[:3, 3], self.img.affine[:3, 3] + [-2, 4, 6], atol=1e-4)
        self.run_ok("affine", self.SRC, self.out("a.nii.gz"), "--matrix",
                    "1,0,0,0,0,1,0,0,0,0,1,0", "--interp", "nearest")
        np.testing.assert_array_equal(np.asanyarray(nib.load(self.out("a.nii.gz")).dataobj),
                                      self.data)


class PlainNiftiInput(unittest.TestCase):
    """A plain .nii input is mapped, not read (its page-cache pages are the
    image's voxels): the file is left as it was, and a command that writes
    over its own input gives what it gives writing elsewhere."""

    def test_commands_over_their_own_input(self):
        d = fresh_dir("plain_nifti_input")
        img = nib.load(os.path.join(MRICRON, "aal.nii.gz"))
        data = np.asanyarray(img.dataobj)
        src = os.path.join(d, "in.nii")
        nib.save(img, src)
        with open(src, "rb") as f:
            original = f.read()
        info = run("info", src)
        self.assertEqual(info.returncode, 0, info.stderr)
        self.assertIn("mean:        %.10g" % data.astype(np.float64).mean(), info.stdout)
        for args in (["flip", "--axis", "y"], ["convert"],
                     ["rotate", "--axis", "z", "--angle", "10", "--interp", "linear"]):
            elsewhere = os.path.join(d, "out.nii")
            result = run(args[0], src, elsewhere, *args[1:])
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(src, "rb") as f:
                self.assertEqual(f.read(), original, args)
            in_place = os.path.join(d, "in_place.nii")
            shutil.copy(src, in_place)
            result = run(args[0], in_place, in_place, *args[1:])
            self.assertEqual(result.returncode, 0, result.stderr)
            a, b = nib.load(elsewhere), nib.load(in_place)
            np.testing.assert_array_equal(np.asanyarray(a.dataobj), np.asanyarray(b.dataobj))
            np.testing.assert_array_equal(a.affine, b.affine)
            if args[0] == "flip":
                np.testing.assert_array_equal(np.asanyarray(b.dataobj), data[:, ::-1, :])
            if args[0] == "convert":
                np.testing.assert_array_equal(np.asanyarray(b.dataobj), data)


class MappedNiftiOutput(unittest.TestCase):
    """A geometric command's (and a pipeline's last step's) .nii output is
    the file's own mapping (the kernel writes its page-cache pages): the file
    is byte for byte what reading and writing give (MEDIMG_MAP_INPUT=0,
    MEDIMG_MAP_OUTPUT=0), over an existing larger or smaller file too, in
    NIfTI-1 and -2, with no temporary left."""

    def test_mapped_equals_written(self):
        d = fresh_dir("mapped_nifti_output")
        img = nib.load(os.path.join(MRICRON, "aal.nii.gz"))
        src = os.path.join(d, "in.nii")
        nib.save(img, src)
        written_env = dict(os.environ, MEDIMG_MAP_OUTPUT="0", MEDIMG_MAP_INPUT="0")
        steps = []
        for n, chain in enumerate(([{"op": "reorient", "orientation": "RAS"},
                                    {"op": "resample_to_spacing", "spacing": [1.5, 1.5, 2]},
                                    {"op": "z_score"}],
                                   [{"op": "flip", "axis": "y"},
                                    {"op": "resample_to_spacing", "spacing": [2, 2, 2]},
                                    {"op": "crop_or_pad", "size": [40, 50, 30]}])):
            steps.append(os.path.join(d, "steps%d.json" % n))
            with open(steps[-1], "w") as f:
                json.dump({"medimg_pipeline": 1, "steps": chain}, f)
        cases = (["pipeline", "--steps", steps[0]], ["pipeline", "--steps", steps[1]],
                 ["rotate", "--axis", "z", "--angle", "10", "--interp", "linear"],
                 ["rotate", "--axis", "x", "--angle", "-7", "--interp", "bspline"],
                 ["resample", "--spacing", "1.5,2,2.5"],
                 ["crop", "--start", "3,4,5", "--size", "20,30,40"],
                 ["pad", "--before", "1,2,3", "--after", "3,2,1"],
                 ["flip", "--axis", "x"])
        for args in cases:
            for version in ([], ["--nifti2"]):
                mapped = os.path.join(d, "mapped.nii")
                written = os.path.join(d, "written.nii")
                result = run(*version, args[0], src, mapped, *args[1:])
                self.assertEqual(result.returncode, 0, result.stderr)
                result = run(*version, args[0], src, written, *args[1:], env=written_env)
                self.assertEqual(result.returncode, 0, result.stderr)
                with open(mapped, "rb") as a, open(written, "rb") as b:
                    self.assertEqual(a.read(), b.read(), args + version)
                self.assertEqual(nib.load(mapped).header["sizeof_hdr"],
                                 540 if version else 348)
                self.assertEqual([f for f in os.listdir(d) if "medimg-tmp" in f], [])


class BadInput(unittest.TestCase):
    """Each case: exit code 1, exactly one stderr line, no output file."""

    def expect_failure(self, args, out, reason):
        result = run(*args)
        self.assertEqual(result.returncode, 1, result.stdout)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("medimg: error: "), lines[0])
        self.assertIn(reason, lines[0])
        if out is not None:
            self.assertFalse(os.path.exists(out), out + " must not exist")
            folder = os.path.dirname(out) or "."
            if os.path.isdir(folder):
                self.assertEqual([f for f in os.listdir(folder) if "medimg-tmp" in f], [])
        return lines[0]

    def setUp(self):
        self.dir = fresh_dir("bad_" + self._testMethodName)
        self.out = os.path.join(self.dir, "out.nii.gz")

    def write_good_nifti(self):
        data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
        path = os.path.join(self.dir, "good.nii")
        nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0])), path)
        return path

    def test_missing_file(self):
        path = os.path.join(self.dir, "nope.nii")
        line = self.expect_failure(["convert", path, self.out], self.out, "no such file")
        self.assertIn(path, line)

    def test_folder_without_dicom(self):
        with open(os.path.join(self.dir, "readme.txt"), "w") as f:
            f.write("nothing here\n")
        self.expect_failure(["convert", self.dir, self.out], self.out,
                            "folder holds no DICOM series")

    def test_truncated_nifti_gz(self):
        good = self.write_good_nifti()
        blob = gzip.compress(open(good, "rb").read())
        path = os.path.join(self.dir, "truncated.nii.gz")
        open(path, "wb").write(blob[: len(blob) // 2])
        self.expect_failure(["convert", path, self.out], self.out, "truncated")
        self.expect_failure(["info", path], None, "truncated.nii.gz")

    def test_bad_spacing_in_header(self):
        good = open(self.write_good_nifti(), "rb").read()
        for name, value, shown in [("zero", 0.0, "pixdim[1] is 0"), ("neg", -2.0, "pixdim[1] is -2"),
                                   ("nan", float("nan"), "pixdim[1] is nan")]:
            bad = bytearray(good)
            bad[80:84] = struct.pack("<f", value)
            bad[254:256] = struct.pack("<h", 0)  # no sform: the qform uses pixdim
            path = os.path.join(self.dir, name + ".nii")
            open(path, "wb").write(bytes(bad))
            self.expect_failure(["convert", path, self.out], self.out, shown)

    def test_unsupported_pixel_type(self):
        path = os.path.join(self.dir, "uint32.nii")
        nib.save(nib.Nifti1Image(np.zeros((2, 2, 2), np.uint32), np.eye(4)), path)
        self.expect_failure(["convert", path, self.out], self.out, "voxels of type UINT32")
        self.expect_failure(["convert", os.path.join(MRICRON, "aal.nii.gz"), self.out,
                             "--type", "int64"], self.out, "unsupported pixel type 'int64'")

    def test_non_image_file(self):
        path = os.path.join(self.dir, "notes.txt")
        open(path, "w").write("hello\n")
        self.expect_failure(["convert", path, self.out], self.out, "not an image")

    def test_nifti2_is_read(self):
        path = os.path.join(self.dir, "volume.nii")
        data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
        nib.save(nib.Nifti2Image(data, np.diag([2.0, 3.0, 4.0, 1.0])), path)
        result = run("convert", path, self.out)
        self.assertEqual(result.returncode, 0, result.stderr)
        back = nib.load(self.out)
        np.testing.assert_array_equal(np.asanyarray(back.dataobj), data)
        np.testing.assert_allclose(back.affine, np.diag([2.0, 3.0, 4.0, 1.0]), atol=1e-6)

    def test_no_dicom_input_ends_the_process(self):
        # Every file of pydicom's test data, its whole folder and every folder
        # under dicomdirtests: a result or exactly one error line, never a
        # signal (GDCM's live asserts run in medimg's child process).
        import pydicom
        root = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
        paths = [root] + [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]
        paths += [d for d, _, _ in os.walk(os.path.join(root, "dicomdirtests"))]
        aborted_in_child = 0
        for path in paths:
            with self.subTest(path=os.path.relpath(path, root)):
                result = run("--quiet", "info", "--json", path)
                self.assertIn(result.returncode, (0, 1), result.stderr)
                if result.returncode == 0:
                    json.loads(result.stdout)  # valid JSON, UTF-8 throughout
                    self.assertEqual(result.stderr, "")
                else:
                    lines = result.stderr.strip().splitlines()
                    self.assertEqual(len(lines), 1, result.stderr)
                    self.assertTrue(lines[0].startswith("medimg: error: "), lines[0])
                    aborted_in_child += "aborted while reading" in lines[0]
        # rtdose_1frame, rtdose_expb_1frame, rtdose_rle_1frame read alone (GDCM
        # asserted on DICOMDIR-nooffset too; the length walk refuses it first);
        # in a folder the scan skips them (and the rest) by name.
        self.assertGreaterEqual(aborted_in_child, 3)
        for folder, reason in [(root, "FrameIncrementPointer without NumberOfFrames"),
                               # DICOMDIR-nooffset: found before GDCM (which asserted)
                               (os.path.join(root, "dicomdirtests"),
                                "damaged: element (FFFE,E000) declares 248 bytes, 224 are left")]:
            listing = json.loads(run("--quiet", "info", "--json", folder).stdout)
            reasons = [s["reason"] for s in listing["skipped"]]
            self.assertTrue(any(reason in r for r in reasons), reasons)

    def test_four_dimensional(self):
        self.expect_failure(["convert", os.path.join(NIBABEL_DATA, "example4d.nii.gz"), self.out],
                            self.out, "4D image")

    def test_bad_output_path(self):
        src = os.path.join(MRICRON, "aal.nii.gz")
        self.expect_failure(["convert", src, os.path.join(self.dir, "x.png")],
                            os.path.join(self.dir, "x.png"), "unsupported output format")
        missing = os.path.join(self.dir, "no", "such", "dir", "x.nii")
        self.expect_failure(["convert", src, missing], missing, "does not exist")

    def test_failed_write_keeps_existing_output(self):
        # The destination is a folder: the write succeeds, the rename fails;
        # the folder is untouched and no temporary file remains.
        dest = os.path.join(self.dir, "taken.nii")
        os.makedirs(os.path.join(dest, "keep"))
        self.expect_failure(["convert", os.path.join(MRICRON, "aal.nii.gz"), dest], None,
                            "cannot write")
        self.assertTrue(os.path.isdir(os.path.join(dest, "keep")))
        self.assertEqual(sorted(os.listdir(self.dir)), ["taken.nii"])

    def test_geometric_arguments(self):
        src = os.path.join(MRICRON, "aal.nii.gz")
        cases = [
            (["crop", src, self.out, "--start", "175,0,0", "--size", "10,10,10"], "lies outside the image"),
            (["crop", src, self.out, "--start", "0,0,0", "--size", "0,10,10"], "must be >= 1"),
            (["resample", src, self.out, "--spacing", "1,0,1"], "must be finite and > 0"),
            (["resample", src, self.out, "--spacing", "1,-2,1"], "must be finite and > 0"),
            (["resample", src, self.out, "--spacing", "1,2"], "needs 3"),
            (["scale", src, self.out, "--factor", "0"], "factor"),
            (["scale", src, self.out, "--factor", "-1,1,1"], "factor"),
            (["reorient", src, self.out, "--to", "ABC"], "orientation code 'ABC'"),
            (["rotate", src, self.out, "--axis", "z", "--angle", "nan"], "not a finite number"),
            (["rotate", src, self.out, "--axis", "w", "--angle", "3"], "unknown axis"),
            (["resize", src, self.out, "--size", "0,5,5"], "must be >= 1"),
            (["rotate", src, self.out, "--axis", "z", "--angle", "3", "--interp", "sinc"],
             "unknown interpolator"),
            (["affine", src, self.out, "--matrix", "1,0,0,0,0,1,0,0"], "needs 12"),
        ]
        for args, reason in cases:
            with self.subTest(args=args):
                self.expect_failure(args, self.out, reason)

    def test_usage_errors_exit_non_zero(self):
        self.assertNotEqual(run().returncode, 0)
        self.assertNotEqual(run("convert", "only-one-arg").returncode, 0)
        self.assertNotEqual(run("--threads", "0", "info", "x").returncode, 0)


class Register(unittest.TestCase):
    """medimg register on a small real problem: ch2better at 3 mm, rotated and
    shifted by a known rigid transform with `medimg affine`; the .tfm is
    read back and compared with the inverse motion."""

    @classmethod
    def setUpClass(cls):
        cls.dir = fresh_dir("register")
        cls.fixed = os.path.join(cls.dir, "fixed.nii.gz")
        cls.moving = os.path.join(cls.dir, "moving.nii.gz")
        src = os.path.join(MRICRON, "ch2better.nii.gz")
        as_float = os.path.join(cls.dir, "float.nii.gz")
        for args in (["convert", src, as_float, "--type", "float"],
                     ["resample", as_float, cls.fixed, "--spacing", "3,3,3"]):
            result = run(*args)
            assert result.returncode == 0, result.stderr
        img = nib.load(cls.fixed)
        # Rotation about z by 10 degrees through the grid centre, plus a shift (mm, LPS).
        n = np.array(img.shape, dtype=float)
        ras = img.affine @ np.r_[(n - 1) / 2, 1]
        cls.center = ras[:3] * [-1, -1, 1]
        a = np.radians(10.0)
        cls.rotation = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
        cls.shift = np.array([6.0, -4.0, 3.0])
        matrix = ",".join("%.12g" % v for r in range(3)
                          for v in list(cls.rotation[r]) + [cls.shift[r]])
        result = run("affine", cls.fixed, cls.moving, "--matrix=" + matrix,
                     "--center=" + ",".join("%.12g" % v for v in cls.center), "--interp", "bspline")
        assert result.returncode == 0, result.stderr

    def read_tfm(self, path):
        fields = {}
        with open(path) as f:
            text = f.read()
        self.assertTrue(text.startswith("#Insight Transform File V1.0"))
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                key, value = line.split(":", 1)
                fields[key.strip()] = value.split()
        return fields

    def test_rigid_mse_recovers_the_motion(self):
        tfm = os.path.join(self.dir, "rigid.tfm")
        out = os.path.join(self.dir, "back.nii.gz")
        result = run("register", self.fixed, self.moving, "--transform", "rigid", "--metric", "mse",
                     "--out-transform", tfm, "--out", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"rigid level 1/3 iteration +1 +metric")
        self.assertIn("stopped: ", result.stdout)
        fields = self.read_tfm(tfm)
        self.assertEqual(fields["Transform"], ["Euler3DTransform_double_3_3"])
        p = np.array(fields["Parameters"], dtype=float)
        c = np.array(fields["FixedParameters"][:3], dtype=float)
        # The motion maps moving-grid points to fixed points; registration finds its inverse,
        # written about the fixed image's centre c.
        self.assertAlmostEqual(p[2], np.radians(-10.0), delta=np.radians(0.5))
        self.assertLess(abs(p[0]) + abs(p[1]), np.radians(0.5))
        r_t = self.rotation.T
        truth_t = -r_t @ self.shift + r_t @ (c - self.center) + self.center - c
        self.assertLess(np.abs(p[3:] - truth_t).max(), 0.5)
        # The resampled moving image lies on the fixed grid.
        self.assertEqual(nib.load(out).shape, nib.load(self.fixed).shape)

    def test_bad_arguments_write_nothing(self):
        tfm = os.path.join(self.dir, "never.tfm")
        cases = [
            (["--metric", "cosine"], "unknown metric"),
            (["--transform", "bspline"], "unknown transform"),
            (["--optimizer", "adam"], "unknown optimizer"),
            (["--levels", "0"], "levels"),
        ]
        for extra, reason in cases:
            with self.subTest(extra=extra):
                result = run("register", self.fixed, self.moving, "--out-transform", tfm, *extra)
                self.assertEqual(result.returncode, 1)
                self.assertIn(reason, result.stderr)
                self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
                self.assertFalse(os.path.exists(tfm))
        result = run("register", self.fixed, self.moving, "--out-transform",
                     os.path.join(self.dir, "t.nii"))
        self.assertEqual(result.returncode, 1)
        self.assertIn(".tfm", result.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
