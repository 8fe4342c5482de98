"""`medimg batch` over a small real cohort (MNI templates, nibabel's
anatomical.nii on an oblique grid, a CT DICOM folder, an HDF5 file) with
deliberately bad items (a truncated .nii.gz, an empty folder, a text file):
later items reuse the memory of earlier ones (page faults per item);
the good items are written and equal `medimg pipeline` on each, the bad
ones are reported with their step and message, the exit code is 1; report
.json/.csv/.html; --resume skips complete outputs and redoes corrupt ones;
memory refusal; bad manifests; and under mpiexec at 1, 2 and 4 ranks the
outputs are byte-identical.

Usage: test_batch.py MEDIMG_BINARY SCRATCH_DIR [MPIEXEC]
"""
import csv
import json
import os
import pty
import shutil
import subprocess
import sys
import unittest

import nibabel as nib
import numpy as np
from cli_support import MRICRON, NIBABEL_DATA, SANITIZED, SANITIZED_REASON, fresh_dir, run, MEDIMG

MPIEXEC = sys.argv[3] if len(sys.argv) > 3 else None
CT_SMALL = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"
STEPS = {"medimg_pipeline": 1, "steps": [
    {"op": "reorient", "orientation": "RAS"},
    {"op": "resample_to_spacing", "spacing": [1.5, 1.5, 1.5], "interp": "linear"},
    {"op": "crop_or_pad", "size": [64, 72, 60]},
    {"op": "percentile_clip", "low": 0.5, "high": 99.5},
    {"op": "z_score", "over": "nonzero"}]}
GOOD = ["ch2", "ch2bet", "oblique", "ct_folder", "h5"]
BAD = {"truncated": "read", "empty_folder": "read", "notes": "read"}
MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none", OMP_NUM_THREADS="1")


def make_cohort(d):
    """Files of the cohort and the manifest listing them (with a modality)."""
    inputs = {}
    inputs["ch2"] = os.path.join(MRICRON, "ch2.nii.gz")
    inputs["ch2bet"] = os.path.join(MRICRON, "ch2bet.nii.gz")
    data = np.asanyarray(nib.load(os.path.join(NIBABEL_DATA, "anatomical.nii")).dataobj)
    a = np.radians(20.0)
    affine = np.eye(4)
    affine[:3, :3] = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0],
                               [0, 0, 1]]) @ np.diag([2.0, 2.5, 3.5])
    inputs["oblique"] = os.path.join(d, "oblique.nii")
    nib.save(nib.Nifti1Image(data.astype(np.int16), affine), inputs["oblique"])
    folder = os.path.join(d, "ct_folder")
    os.makedirs(folder)
    shutil.copy(CT_SMALL, folder)
    inputs["ct_folder"] = folder
    inputs["h5"] = os.path.join(d, "h5.h5")
    assert run("--quiet", "convert", inputs["ch2"], inputs["h5"]).returncode == 0
    with open(inputs["ch2"], "rb") as f:
        head = f.read(200000)
    inputs["truncated"] = os.path.join(d, "truncated.nii.gz")
    with open(inputs["truncated"], "wb") as f:
        f.write(head)
    inputs["empty_folder"] = os.path.join(d, "empty_folder")
    os.makedirs(inputs["empty_folder"])
    inputs["notes"] = os.path.join(d, "notes.txt")
    with open(inputs["notes"], "w") as f:
        f.write("not an image\n")
    names = ["ch2", "truncated", "ch2bet", "empty_folder", "oblique", "notes", "ct_folder", "h5"]
    manifest = os.path.join(d, "cohort.csv")
    with open(manifest, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["input", "output", "modality", "site"])
        for n in names:
            w.writerow([inputs[n], n + ".nii.gz", "CT" if n == "ct_folder" else "MRI", "a, b"])
    steps = os.path.join(d, "steps.json")
    with open(steps, "w") as f:
        json.dump(STEPS, f)
    return inputs, manifest, steps


class Batch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = fresh_dir("batch")
        cls.inputs, cls.manifest, cls.steps = make_cohort(cls.dir)
        cls.out = os.path.join(cls.dir, "out")
        cls.result = run("batch", "--manifest", cls.manifest, "--steps", cls.steps,
                         "--out-dir", cls.out, "--previews", "--progress-interval", "0")
        with open(os.path.join(cls.out, "report.json")) as f:
            cls.report = json.load(f)

    def test_good_items_are_written_bad_ones_reported_exit_1(self):
        self.assertEqual(self.result.returncode, 1, self.result.stderr)
        self.assertIn("batch: 5 done, 3 failed, 0 skipped of 8", self.result.stdout)
        self.assertIn("batch: 8/8 items, 3 failed", self.result.stderr)
        rows = {os.path.basename(r["output"]).split(".")[0]: r for r in self.report["items"]}
        for name in GOOD:
            self.assertEqual(rows[name]["status"], "done", rows[name])
            self.assertTrue(os.path.exists(os.path.join(self.out, name + ".nii.gz")))
            self.assertEqual(len(rows[name]["ms"]["steps"]), 5)
            self.assertEqual(rows[name]["output_geometry"]["size"], [64, 72, 60])
            self.assertEqual(rows[name]["output_geometry"]["orientation"], "RAS")
        for name, step in BAD.items():
            self.assertEqual(rows[name]["status"], "failed")
            self.assertEqual(rows[name]["step"], step)
            self.assertIn(self.inputs[name], rows[name]["message"])
            self.assertFalse(os.path.exists(os.path.join(self.out, name + ".nii.gz")))
        self.assertIn("truncated", rows["truncated"]["message"])
        self.assertIn("no DICOM series", rows["empty_folder"]["message"])
        self.assertIn("not an image", rows["notes"]["message"])
        self.assertEqual(rows["ch2"]["fields"]["site"], "a, b")
        # No temporary files are left behind.
        self.assertEqual([f for f in os.listdir(self.out) if "medimg-tmp" in f], [])

    def test_outputs_equal_the_single_image_pipeline(self):
        for name in GOOD:
            single = os.path.join(self.dir, name + ".single.nii.gz")
            r = run("--quiet", "pipeline", self.inputs[name], single, "--steps", self.steps)
            self.assertEqual(r.returncode, 0, r.stderr)
            np.testing.assert_array_equal(
                np.asanyarray(nib.load(single).dataobj),
                np.asanyarray(nib.load(os.path.join(self.out, name + ".nii.gz")).dataobj))

    def test_reports(self):
        with open(os.path.join(self.out, "report.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([int(r["row"]) for r in rows], list(range(1, 9)))
        self.assertEqual(rows[0]["status"], "done")
        self.assertEqual(rows[0]["output_size"], "64x72x60")
        self.assertEqual(rows[1]["step"], "read")
        self.assertTrue(float(rows[0]["2_resample_to_spacing_ms"]) > 0)
        self.assertEqual(self.report["summary"], {"total": 8, "done": 5, "failed": 3,
                                                  "skipped": 0})
        self.assertEqual([s["op"] for s in self.report["steps"]],
                         [s["op"] for s in STEPS["steps"]])
        with open(os.path.join(self.out, "report.html")) as f:
            html = f.read()
        for name in GOOD:
            for which in ("before", "after"):
                picture = "previews/" + name + "." + which + ".png"
                self.assertIn('<img src="' + picture + '">', html)
                self.assertTrue(os.path.exists(os.path.join(self.out, picture)))
        self.assertIn('class="failed"', html)

    def test_resume_skips_complete_outputs_and_redoes_corrupt_ones(self):
        out = os.path.join(self.dir, "resume")
        shutil.copytree(self.out, out)
        reference = os.path.join(self.out, "ch2bet.nii.gz")
        with open(reference, "rb") as f:
            head = f.read(5000)
        with open(os.path.join(out, "ch2bet.nii.gz"), "wb") as f:
            f.write(head)
        # An output of another pipeline: the wrong grid.
        shutil.copy(self.inputs["ch2"], os.path.join(out, "ch2.nii.gz"))
        r = run("batch", "--manifest", self.manifest, "--steps", self.steps, "--out-dir", out,
                "--resume")
        self.assertEqual(r.returncode, 1)
        self.assertIn("batch: 2 done, 3 failed, 3 skipped of 8", r.stdout)
        with open(os.path.join(out, "report.json")) as f:
            rows = {os.path.basename(x["output"]).split(".")[0]: x for x in json.load(f)["items"]}
        self.assertIn("truncated", rows["ch2bet"]["resume_note"])
        self.assertIn("grid or pixel type", rows["ch2"]["resume_note"])
        for name in ("oblique", "ct_folder", "h5"):
            self.assertEqual(rows[name]["status"], "skipped")
        for name in ("ch2", "ch2bet"):
            with open(os.path.join(out, name + ".nii.gz"), "rb") as a, \
                    open(os.path.join(self.out, name + ".nii.gz"), "rb") as b:
                self.assertEqual(a.read(), b.read())

    def test_progress_is_a_live_bar_on_a_terminal(self):
        master, slave = pty.openpty()
        out = os.path.join(self.dir, "tty")
        r = subprocess.run([MEDIMG, "batch", "--manifest", self.manifest, "--steps", self.steps,
                            "--out-dir", out], stdout=subprocess.PIPE, stderr=slave, text=True,
                           timeout=600)
        os.close(slave)
        text = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            text += chunk
        os.close(master)
        self.assertEqual(r.returncode, 1)
        screen = text.decode()
        self.assertIn("\r[", screen)
        self.assertIn("] 8/8 items, 3 failed", screen)
        self.assertRegex(screen, r"\[#{30}\] 8/8 items")
        self.assertIn("items/s, ETA", screen)

    @unittest.skipIf(SANITIZED, SANITIZED_REASON)
    def test_steady_state_items_reuse_memory(self):
        """Freed blocks stay in the process (mallopt in run_batch) and the next
        item's images reuse them: an item after the first takes a fraction of
        the page faults of a run with one item, and gives the same output."""
        d = fresh_dir("batch_memory")
        steps = os.path.join(d, "steps.json")
        with open(steps, "w") as f:
            json.dump({"medimg_pipeline": 1, "steps": [
                {"op": "reorient", "orientation": "LPS"},
                {"op": "resample_to_spacing", "spacing": [1.5, 1.5, 1.5], "interp": "linear"},
                {"op": "z_score", "over": "nonzero"}]}, f)
        memory = {}
        for count in (1, 5):
            manifest = os.path.join(d, f"cohort{count}.csv")
            with open(manifest, "w") as f:
                f.write("input,output\n")
                for i in range(count):
                    f.write(f"{self.inputs['ch2']},item{i}.nii\n")
            out = os.path.join(d, f"out{count}")
            r = run("--quiet", "batch", "--manifest", manifest, "--steps", steps, "--out-dir", out,
                    "--jobs-per-rank", "1")
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(out, "report.json")) as f:
                memory[count] = json.load(f)["memory"]
        first, five = memory[1]["minor_page_faults"], memory[5]["minor_page_faults"]
        self.assertGreater(first, 0)
        # Measured: 3218 for one item, about 985 for each further one.
        self.assertLess((five - first) / 4, 0.6 * first, memory)
        self.assertEqual(memory[5]["pool_hits"], 0)  # the voxel pool is the pipeline command's
        first_output = np.asanyarray(nib.load(os.path.join(d, "out5", "item0.nii")).dataobj)
        for i in range(1, 5):
            np.testing.assert_array_equal(
                first_output,
                np.asanyarray(nib.load(os.path.join(d, "out5", f"item{i}.nii")).dataobj))
        np.testing.assert_array_equal(
            first_output, np.asanyarray(nib.load(os.path.join(d, "out1", "item0.nii")).dataobj))

    def test_refuses_an_item_that_does_not_fit(self):
        out = os.path.join(self.dir, "small")
        r = run("batch", "--manifest", self.manifest, "--steps", self.steps, "--out-dir", out,
                "--memory-limit", "20000000")
        self.assertEqual(r.returncode, 1)
        self.assertIn("batch refuses to start: item 1 ('" + self.inputs["ch2"] + "') needs", r.stderr)
        self.assertIn("--memory-limit", r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_bad_manifests(self):
        d = fresh_dir("batch_manifests")
        cases = [
            ("input\n" + self.inputs["ch2"] + "\n" + self.inputs["ch2"] + "\n",
             "rows 1 and 2 both write 'ch2.nii.gz'"),
            ("path\n" + self.inputs["ch2"] + "\n", "the header has no 'input' column"),
            ("input,output\n" + self.inputs["ch2"] + ",../up.nii\n", "must be a name inside"),
            ("input,output\n" + self.inputs["ch2"] + ",x.png\n", "has no writable format"),
            ("input,output\n" + self.inputs["ch2"] + "\n", "1 fields, the header has 2"),
            ("input\n", "lists no items"),
        ]
        for text, error in cases:
            with self.subTest(error=error):
                path = os.path.join(d, "m.csv")
                with open(path, "w") as f:
                    f.write(text)
                out = os.path.join(d, "out")
                shutil.rmtree(out, ignore_errors=True)
                r = run("batch", "--manifest", path, "--steps", self.steps, "--out-dir", out)
                self.assertEqual(r.returncode, 1)
                self.assertIn(error, r.stderr)
                self.assertFalse(os.path.exists(out))

    @unittest.skipIf(MPIEXEC is None, "needs MPIEXEC (the MPI build registers it)")
    def test_mpi_ranks_give_identical_outputs(self):
        outputs = {}
        for ranks in (1, 2, 4):
            out = os.path.join(self.dir, "mpi%d" % ranks)
            command = [MPIEXEC, "-n", str(ranks), MEDIMG, "batch", "--manifest", self.manifest,
                       "--steps", self.steps, "--out-dir", out, "--progress-interval", "0"]
            r = subprocess.run(command, capture_output=True, text=True, env=MPI_ENV, timeout=600)
            self.assertIn("batch: 5 done, 3 failed, 0 skipped of 8", r.stdout, r.stderr)
            self.assertIn("on %d rank(s)" % ranks, r.stdout)
            with open(os.path.join(out, "report.json")) as f:
                report = json.load(f)
            self.assertEqual(report["ranks"], ranks)
            used = {row["rank"] for row in report["items"]}
            self.assertTrue(used <= set(range(ranks)))
            outputs[ranks] = {}
            for name in GOOD:
                with open(os.path.join(out, name + ".nii.gz"), "rb") as f:
                    outputs[ranks][name] = f.read()
        self.assertEqual(outputs[1], outputs[2])
        self.assertEqual(outputs[1], outputs[4])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
