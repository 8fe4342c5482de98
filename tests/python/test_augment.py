"""Augmentation steps (docs/AUGMENTATION.md) through `medimg pipeline`, with
what they drew (--drawn) checked against independent evaluations:

- random_elastic: the displacement each voxel took equals scipy's cubic
  B-spline evaluation (map_coordinates, order 3, no prefilter) of the drawn
  control points; read off ramps (value = voxel index), where linear
  interpolation returns the sampled position exactly;
- random_intensity: bias field and gamma equal numpy's evaluation of the
  drawn coefficients (TorchIO's polynomial order), the noise has the drawn
  standard deviation;
- random_affine with nearest keeps a label map's labels;
- every output is the same bytes with 1 and 2 threads, and for the same
  (--seed, --item); another item gives another output;
- `medimg batch --repeat K --seed S` writes K copies per input, records
  every item's draws, gives the same bytes with 1 and 2 MPI ranks, and any
  output is made again by `medimg pipeline --seed S --item I`.

Usage: test_augment.py MEDIMG_BINARY SCRATCH_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

import nibabel as nib
import numpy as np
from scipy import ndimage
from cli_support import MEDIMG, MRICRON, fresh_dir, run

AAL = os.path.join(MRICRON, "aal.nii.gz")


def voxels(path):
    return np.asanyarray(nib.load(path).dataobj)


def oblique_affine(spacing):
    c, s = np.cos(0.3), np.sin(0.3)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    a = np.eye(4)
    a[:3, :3] = rot @ np.diag(spacing)
    a[:3, 3] = [-20.0, 14.5, -9.0]
    return a


class Augment(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = fresh_dir("augment")
        cls.shape = (40, 33, 21)
        cls.spacing = (1.2, 0.9, 2.0)
        cls.affine = oblique_affine(cls.spacing)
        grids = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in cls.shape], indexing="ij")
        cls.ramps = []
        for a in range(3):
            path = os.path.join(cls.dir, f"ramp{a}.nii")
            nib.save(nib.Nifti1Image(grids[a], cls.affine), path)
            cls.ramps.append(path)
        rng = np.random.default_rng(3)
        cls.positive = os.path.join(cls.dir, "positive.nii")
        cls.positive_voxels = (50.0 + 100.0 * rng.random(cls.shape)).astype(np.float32)
        nib.save(nib.Nifti1Image(cls.positive_voxels, cls.affine), cls.positive)

    def pipeline(self, steps, source, name, *extra, env=None):
        path = os.path.join(self.dir, name + ".json")
        with open(path, "w") as f:
            json.dump({"medimg_pipeline": 1, "steps": steps}, f)
        out = os.path.join(self.dir, name + ".nii")
        drawn = os.path.join(self.dir, name + ".drawn.json")
        r = run("--quiet", "pipeline", source, out, "--steps", path, "--drawn", drawn, *extra,
                env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(drawn) as f:
            return voxels(out), json.load(f), out

    def test_elastic_displacements_are_scipys_bspline_of_the_control_points(self):
        for m, locked in (((7, 6, 5), 2), ((5, 8, 4), 0)):
            step = {"op": "random_elastic", "control_points": list(m),
                    "max_displacement": [4.0, 3.0, 5.0], "locked_borders": locked,
                    "fill": -1000}
            outs, drawn = [], None
            for a in range(3):
                out, drawn, _ = self.pipeline([step], self.ramps[a], f"elastic{a}_{locked}",
                                              "--seed", "11", "--item", "3")
                outs.append(out.astype(np.float64))
            self.assertEqual(len(drawn), 1)
            self.assertEqual(drawn[0]["op"], "random_elastic")
            self.assertEqual(drawn[0]["control_points"], list(m))
            c = np.array(drawn[0]["displacements"]).reshape(m[2], m[1], m[0], 3)
            c = c.transpose(3, 2, 1, 0)  # (component, i, j, k)
            if locked:
                self.assertTrue(np.all(c[:, :2] == 0) and np.all(c[:, -2:] == 0))
            self.assertGreater(np.abs(c).max(), 0.5)
            self.assertLessEqual(np.abs(c).max(), 5.0)
            idx = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in self.shape],
                              indexing="ij")
            u = [idx[a] / ((self.shape[a] - 1) / (m[a] - 3)) + 1.0 for a in range(3)]
            inside = np.ones(self.shape, bool)
            for a in range(3):
                inside &= (outs[a] > 1e-3) & (outs[a] < self.shape[a] - 1 - 1e-3)
            self.assertGreater(inside.mean(), 0.5)
            for a in range(3):
                want = ndimage.map_coordinates(c[a], u, order=3, prefilter=False,
                                               mode="grid-constant", cval=0.0)
                got = (outs[a] - idx[a]) * self.spacing[a]
                err = np.abs(got - want)[inside].max()
                print(f"  elastic {m} locked {locked} axis {a}: max |medimg - scipy| "
                      f"{err:.2e} mm over {inside.sum()} voxels")
                # float32 ramps: about 1e-5 mm (seen up to 9.9e-6).
                self.assertLess(err, 5e-5, (m, a, err))

    def test_intensity_bias_and_gamma_are_numpys_noise_has_the_drawn_std(self):
        step = {"op": "random_intensity", "log_gamma": [-0.25, 0.25], "noise_std": [0, 0],
                "bias": 0.3, "bias_order": 2}
        out, drawn, _ = self.pipeline([step], self.positive, "intensity", "--seed", "5")
        d = drawn[0]
        self.assertEqual(len(d["bias"]), 10)
        coords = [np.linspace(-1, 1, n) for n in self.shape]
        x, y, z = np.meshgrid(*coords, indexing="ij")
        poly = np.zeros(self.shape)
        t = 0
        for a in range(3):
            for b in range(3 - a):
                for cc in range(3 - a - b):
                    poly += d["bias"][t] * x ** a * y ** b * z ** cc
                    t += 1
        want = (self.positive_voxels * np.exp(poly)) ** d["gamma"]
        np.testing.assert_allclose(out, want, rtol=2e-6)
        self.assertNotEqual(d["gamma"], 1.0)

        noise = {"op": "random_intensity", "log_gamma": [0, 0], "noise_std": [0.4, 0.6],
                 "bias": 0}
        out, drawn, _ = self.pipeline([noise], self.positive, "noise", "--seed", "5")
        diff = out.astype(np.float64) - self.positive_voxels
        self.assertAlmostEqual(diff.mean(), 0.0, delta=0.01)
        self.assertAlmostEqual(diff.std(), drawn[0]["noise_std"], delta=0.01)
        # Uncorrelated neighbours.
        r = np.corrcoef(diff[:-1].ravel(), diff[1:].ravel())[0, 1]
        self.assertLess(abs(r), 0.02)

    def test_labels_stay_labels_with_nearest(self):
        step = {"op": "random_affine", "degrees": [-15, 15], "scales": [0.9, 1.2],
                "translation": [-3, 3], "interp": "nearest"}
        out, drawn, _ = self.pipeline([step], AAL, "labels", "--seed", "2", "--item", "9")
        labels = set(np.unique(voxels(AAL)).tolist())
        self.assertTrue(set(np.unique(out).tolist()) <= labels)
        self.assertGreater(len(set(np.unique(out).tolist())), 50)
        self.assertEqual(drawn[0]["op"], "random_affine")
        self.assertEqual(len(drawn[0]["degrees"]), 3)
        # The image that goes with the labels: the same seed and item draw
        # the same motion whatever the interpolator, so image and labels
        # stay aligned (TorchIO's LabelMap).
        image_step = dict(step, interp="linear")
        _, image_drawn, _ = self.pipeline([image_step], os.path.join(MRICRON, "ch2.nii.gz"),
                                          "labels_image", "--seed", "2", "--item", "9")
        self.assertEqual(image_drawn, drawn)

    def test_same_bytes_for_any_thread_count_and_seed_item_decide(self):
        steps = [{"op": "random_affine", "degrees": [-10, 10], "shear": [-0.05, 0.05],
                  "interp": "bspline"},
                 {"op": "random_flip", "axes": ["i", "k"]},
                 {"op": "random_elastic", "max_displacement": [3, 3, 3]},
                 {"op": "random_intensity", "log_gamma": [-0.2, 0.2], "noise_std": [1, 2]}]
        outputs = {}
        for threads in ("1", "2"):
            env = dict(os.environ, OMP_NUM_THREADS=threads, OMP_PROC_BIND="false")
            for item in ("0", "1"):
                _, drawn, path = self.pipeline(steps, self.positive, f"all_{threads}_{item}",
                                               "--seed", "8", "--item", item, env=env)
                with open(path, "rb") as f:
                    outputs[(threads, item)] = f.read()
                self.assertEqual([d["op"] for d in drawn],
                                 ["random_affine", "random_flip", "random_elastic",
                                  "random_intensity"])
        self.assertEqual(outputs[("1", "0")], outputs[("2", "0")])
        self.assertEqual(outputs[("1", "1")], outputs[("2", "1")])
        self.assertNotEqual(outputs[("2", "0")], outputs[("2", "1")])
        # The steps' own seed and item are what --seed and --item replace.
        own = [dict(s, seed=8, item=1) for s in steps]
        _, _, path = self.pipeline(own, self.positive, "own_seed")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), outputs[("2", "1")])

    def test_batch_repeats_record_the_draws_and_any_output_is_remade(self):
        steps = [{"op": "random_affine", "degrees": [-10, 10], "translation": [-2, 2]},
                 {"op": "random_flip", "axes": ["i", "j"]},
                 {"op": "random_intensity", "noise_std": [1, 2]}]
        steps_path = os.path.join(self.dir, "batch_steps.json")
        with open(steps_path, "w") as f:
            json.dump({"steps": steps}, f)
        manifest = os.path.join(self.dir, "batch.csv")
        with open(manifest, "w") as f:
            f.write(f"input,output\n{self.positive},a.nii\n{self.ramps[0]},b.nii\n")
        runs = [("1", [])]
        mpiexec = shutil.which("mpiexec")
        if mpiexec:
            runs.append(("2", [mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", "2"]))
        outputs = {}
        for ranks, launcher in runs:
            out_dir = os.path.join(self.dir, "batch" + ranks)
            env = dict(os.environ, OMP_NUM_THREADS="1")
            if launcher:
                # Under the sanitizer build's leak check, Open MPI's own
                # allocations (never freed at exit) would be reported: the
                # ranks run without it (as test_mpi_cli's commands do).
                env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "").replace("detect_leaks=1",
                                                                          "detect_leaks=0")
            r = subprocess.run(launcher + [MEDIMG, "--quiet", "batch", "--manifest", manifest,
                                           "--steps", steps_path, "--out-dir", out_dir,
                                           "--repeat", "3", "--seed", "12"],
                               capture_output=True, text=True, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(out_dir, "report.json")) as f:
                report = json.load(f)
            self.assertEqual(report["summary"]["done"], 6)
            names = [item["output"] for item in report["items"]]
            self.assertEqual(names, [f"{x}_aug{c}.nii" for x in "ab" for c in range(3)])
            self.assertEqual([item["item"] for item in report["items"]], list(range(6)))
            for item in report["items"]:
                self.assertEqual([d["op"] for d in item["drawn"]],
                                 ["random_affine", "random_flip", "random_intensity"])
                with open(os.path.join(out_dir, item["output"]), "rb") as f:
                    outputs.setdefault(item["output"], set()).add(f.read())
            # Copies differ from each other.
            self.assertNotEqual(report["items"][0]["drawn"], report["items"][1]["drawn"])
        # The same bytes with 1 and 2 ranks.
        self.assertTrue(all(len(v) == 1 for v in outputs.values()), outputs.keys())
        # Any output made again from its seed and item.
        item = report["items"][4]
        _, drawn, path = self.pipeline(steps, self.ramps[0], "remade", "--seed", "12",
                                       "--item", str(item["item"]))
        self.assertEqual(drawn, item["drawn"])
        with open(path, "rb") as f:
            self.assertEqual({f.read()}, outputs[item["output"]])

    def test_bad_parameters_name_the_step(self):
        path = os.path.join(self.dir, "bad.json")
        for step, message in (
                ({"op": "random_affine", "scales": [0, 1]}, "parameter 'scales'"),
                ({"op": "random_affine", "degrees": [[1, 2], [3]]}, "parameter 'degrees'"),
                ({"op": "random_flip", "probability": 2}, "parameter 'probability'"),
                ({"op": "random_flip", "axes": ["q"]}, "parameter 'axes'"),
                ({"op": "random_elastic", "control_points": [3, 7, 7]}, "control_points"),
                ({"op": "random_intensity", "bias_order": 9}, "parameter 'bias_order'"),
                ({"op": "random_affine", "seed": -1}, "parameter 'seed'")):
            with open(path, "w") as f:
                json.dump({"steps": [step]}, f)
            out = os.path.join(self.dir, "bad.nii")
            r = run("pipeline", self.positive, out, "--steps", path)
            self.assertEqual(r.returncode, 1, step)
            self.assertIn("step 1 (" + step["op"] + ")", r.stderr)
            self.assertIn(message, r.stderr)
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
            self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
