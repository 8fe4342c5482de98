"""`medimg pipeline`: the JSON format (docs/pipeline.schema.json and the op
table in the code agree; good pipelines run, bad ones are refused before any
IO with an error naming the step and the parameter) and every intensity op
against numpy on real data (MNI templates from mricron-data, a CT slice
from pydicom).

Usage: test_pipeline.py MEDIMG_BINARY SCRATCH_DIR
"""
import json
import os
import subprocess
import sys
import unittest

import jsonschema
import nibabel as nib
import numpy as np
import pydicom
from cli_support import MEDIMG, MRICRON, SANITIZED, SANITIZED_REASON, fresh_dir, run

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                      "pipeline.schema.json")
CT_SMALL = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"
CH2 = os.path.join(MRICRON, "ch2.nii.gz")
CH2BET = os.path.join(MRICRON, "ch2bet.nii.gz")
AAL = os.path.join(MRICRON, "aal.nii.gz")


def voxels(path):
    return np.asanyarray(nib.load(path).dataobj)


class Oracle(unittest.TestCase):
    """Runs one-step pipelines and compares with numpy."""

    @classmethod
    def setUpClass(cls):
        cls.dir = fresh_dir("pipeline_ops")
        # CT: the stored values of CT_small.dcm (int16) and its rescale.
        ds = pydicom.dcmread(CT_SMALL)
        cls.ct_raw = ds.pixel_array.astype(np.int16).T[:, :, None]
        cls.ct_slope, cls.ct_intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        cls.ct = os.path.join(cls.dir, "ct_raw.nii")
        nib.save(nib.Nifti1Image(cls.ct_raw, np.diag([0.66, 0.66, 5.0, 1.0])), cls.ct)
        cls.ch2 = voxels(CH2)

    def apply(self, steps, source, name, suffix=".nii"):
        path = os.path.join(self.dir, name + ".json")
        with open(path, "w") as f:
            json.dump({"medimg_pipeline": 1, "steps": steps}, f)
        out = os.path.join(self.dir, name + suffix)
        r = run("--quiet", "pipeline", source, out, "--steps", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        return voxels(out)

    def assert_close(self, got, want, rel=2e-7):
        self.assertEqual(got.shape, want.shape)
        scale = max(1.0, float(np.max(np.abs(want))))
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=0, atol=rel * scale * 4)

    def test_clip_and_window_keep_the_type(self):
        got = self.apply([{"op": "clip", "min": -160.5, "max": 240.5}], self.ct, "clip")
        self.assertEqual(got.dtype, np.int16)
        np.testing.assert_array_equal(got, np.clip(self.ct_raw, -160, 240))
        got = self.apply([{"op": "window", "level": 1100, "width": 300}], self.ct, "window")
        np.testing.assert_array_equal(got, np.clip(self.ct_raw, 950, 1250))

    def test_window_onto_an_output_range_is_itk_intensity_windowing(self):
        got = self.apply([{"op": "window", "min": 950, "max": 1250, "output": [0, 255]}],
                         self.ct, "window_out")
        x = self.ct_raw.astype(np.float64)
        want = np.where(x < 950, 0.0, np.where(x > 1250, 255.0, (x - 950) * 255.0 / 300.0))
        self.assert_close(got, want)

    def test_percentile_clip_is_numpy_percentile(self):
        got = self.apply([{"op": "percentile_clip", "low": 0.5, "high": 99.5}], CH2, "pclip")
        lo, hi = np.percentile(self.ch2, [0.5, 99.5])
        np.testing.assert_array_equal(got, np.clip(self.ch2, np.ceil(lo), np.floor(hi)))
        got = self.apply([{"op": "percentile_clip", "low": 2, "high": 98}], self.ct, "pclip_ct")
        lo, hi = np.percentile(self.ct_raw, [2, 98])
        np.testing.assert_array_equal(got, np.clip(self.ct_raw, np.ceil(lo), np.floor(hi)))

    def test_min_max(self):
        got = self.apply([{"op": "min_max"}], CH2, "minmax")
        x = self.ch2.astype(np.float64)
        self.assertEqual(got.dtype, np.float32)
        self.assert_close(got, (x - x.min()) / (x.max() - x.min()))

    def test_z_score_over_all_nonzero_and_a_mask(self):
        x = self.ch2.astype(np.float64)
        self.assert_close(self.apply([{"op": "z_score"}], CH2, "z_all"), (x - x.mean()) / x.std())
        nz = x != 0
        want = x.copy()
        want[nz] = (x[nz] - x[nz].mean()) / x[nz].std()
        self.assert_close(self.apply([{"op": "z_score", "over": "nonzero"}], CH2, "z_nz"), want)
        brain = voxels(AAL) != 0
        want = x.copy()
        want[brain] = (x[brain] - x[brain].mean()) / x[brain].std()
        self.assert_close(self.apply([{"op": "z_score", "mask": AAL}], CH2, "z_mask"), want)

    def test_rescale_equals_numpy_and_medimgs_own_dicom_reading(self):
        got = self.apply([{"op": "rescale", "slope": self.ct_slope,
                           "intercept": self.ct_intercept}], self.ct, "rescale")
        want = self.ct_raw * self.ct_slope + self.ct_intercept
        self.assert_close(got, want)
        out = os.path.join(self.dir, "ct_read.nii")
        self.assertEqual(run("--quiet", "convert", CT_SMALL, out).returncode, 0)
        np.testing.assert_array_equal(voxels(out), want)

    def test_histogram_match_is_numpy_interp_through_quantile_landmarks(self):
        got = self.apply([{"op": "histogram_match", "reference": CH2BET, "match_points": 5}],
                         CH2, "hmatch")

        def landmarks(x):
            x = x.astype(np.float64).ravel()
            above = x[x > x.mean()]
            inner = np.percentile(above, [100.0 * j / 6 for j in range(1, 6)])
            return np.concatenate([[x.min()], inner, [x.max()]])

        s, r = landmarks(self.ch2), landmarks(voxels(CH2BET))
        self.assertTrue(np.all(np.diff(s) > 0))
        self.assert_close(got, np.interp(self.ch2.astype(np.float64), s, r))

    def test_crop_or_pad_centres_the_target(self):
        got = self.apply([{"op": "crop_or_pad", "size": [170, 230, 100], "value": 7}], CH2,
                         "cop")
        want = np.full((170, 230, 100), 7, dtype=np.uint8)
        # 181 -> 170: crop from 5; 217 -> 230: pad 6 before; 181 -> 100: crop from 40.
        want[:, 6:6 + 217, :] = self.ch2[5:175, :, 40:140]
        np.testing.assert_array_equal(got, want)
        out = nib.load(os.path.join(self.dir, "cop.nii"))
        expected_origin = nib.load(CH2).affine @ np.array([5, -6, 40, 1])
        np.testing.assert_allclose(out.affine[:3, 3], expected_origin[:3], atol=1e-4)


class Memory(unittest.TestCase):
    @unittest.skipIf(SANITIZED, SANITIZED_REASON)
    def test_each_step_frees_its_input(self):
        """A pipeline holds one step's input and output at a time: the
        command's input is released once the first step has made its output
        (peak RSS from /usr/bin/time)."""
        d = fresh_dir("pipeline_memory")
        src = os.path.join(d, "in.nii")
        shape = (256, 256, 256)  # int16: 32 MiB; the z-score's float output 64 MiB
        data = (np.arange(np.prod(shape)) % 2000 - 1000).astype(np.int16).reshape(shape)
        nib.save(nib.Nifti1Image(data, np.diag([-1.0, 1.0, 1.0, 1.0])), src)
        steps = os.path.join(d, "steps.json")
        with open(steps, "w") as f:
            json.dump({"steps": [{"op": "reorient", "orientation": "RAS"},
                                 {"op": "z_score"}]}, f)
        record = os.path.join(d, "time.txt")
        result = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", record, MEDIMG, "--quiet",
                                 "pipeline", src, os.path.join(d, "out.nii"), "--steps", steps],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(record) as f:
            peak_mib = int(f.read().split()[-1]) / 1024
        # Released: max(32 + 32, 32 + 64) = 96 MiB of images; all three
        # alive would be 128.
        self.assertLess(peak_mib, 96 + 24, f"peak {peak_mib:.0f} MiB")


class Format(unittest.TestCase):
    """The schema and the code accept and refuse the same pipelines."""

    @classmethod
    def setUpClass(cls):
        cls.dir = fresh_dir("pipeline_format")
        with open(SCHEMA) as f:
            cls.schema = json.load(f)
        cls.validator = jsonschema.Draft202012Validator(cls.schema)

    def test_the_schema_lists_the_ops_and_parameters_of_the_code(self):
        r = run("pipeline", "--list-ops")
        self.assertEqual(r.returncode, 0, r.stderr)
        ops = json.loads(r.stdout)
        defs = self.schema["$defs"]
        in_schema = {k[len("step_"):]: v for k, v in defs.items() if k.startswith("step_")}
        self.assertEqual(sorted(in_schema), sorted(ops))
        for name, op in ops.items():
            step = in_schema[name]
            params = {k: v for k, v in step["properties"].items() if k != "op"}
            self.assertEqual(sorted(params), sorted(op["parameters"]), name)
            for p, info in op["parameters"].items():
                self.assertEqual(params[p]["$ref"], "#/$defs/" + info["type"], (name, p))
                self.assertEqual(p in step["required"], info["required"], (name, p))

    def check(self, steps, error=None, schema_valid=False):
        """Both validators agree (except where the schema cannot know:
        `schema_valid`); medimg's error names the step and parameter."""
        doc = {"medimg_pipeline": 1, "steps": steps} if isinstance(steps, list) else steps
        path = os.path.join(self.dir, "p.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        schema_ok = self.validator.is_valid(doc)
        out = os.path.join(self.dir, "out.nii")
        if os.path.exists(out):
            os.remove(out)
        r = run("--quiet", "pipeline", os.path.join(MRICRON, "aal.nii.gz"), out, "--steps", path)
        if error is None:
            self.assertTrue(schema_ok, list(self.validator.iter_errors(doc)))
            self.assertEqual(r.returncode, 0, r.stderr)
        else:
            self.assertEqual(schema_ok, schema_valid, doc)
            self.assertEqual(r.returncode, 1)
            self.assertIn(error, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertFalse(os.path.exists(out))

    def test_good_pipelines(self):
        self.check([{"op": "reorient", "orientation": "RAS"},
                    {"op": "resample_to_spacing", "spacing": [2, 2, 3], "interp": "bspline"},
                    {"op": "crop_or_pad", "size": [64, 64, 40]},
                    {"op": "window", "level": 40, "width": 80, "output": [0, 1]},
                    {"op": "cast", "type": "float64"},
                    {"op": "z_score", "over": "nonzero"}])
        self.check([{"op": "rotate", "axis": "z", "degrees": 10, "expand": True},
                    {"op": "flip", "axis": "x"}, {"op": "pad", "before": [1, 2, 3],
                                                  "after": [0, 0, 1], "value": 3},
                    {"op": "crop", "start": [1, 1, 1], "size": [5, 6, 7]},
                    {"op": "scale", "factors": [1.1, 1, 0.9], "fill": 0},
                    {"op": "translate", "offset": [1, 2, 3]},
                    {"op": "translate_resample", "offset": [1, 0, 0], "interp": "nearest"},
                    {"op": "resize", "size": [8, 8, 8]},
                    {"op": "resample_to_image", "reference": CH2, "interp": "nearest"},
                    {"op": "clip", "min": 0, "max": 50},
                    {"op": "percentile_clip", "low": 1, "high": 99},
                    {"op": "min_max"}, {"op": "rescale", "slope": 2, "intercept": -1},
                    {"op": "histogram_match", "reference": CH2BET, "match_points": 3,
                     "threshold_at_mean": False}])

    def test_bad_pipelines_name_the_step_and_parameter(self):
        cases = [
            ([{"op": "rotate", "axis": "z", "angle": 3}],
             "step 1 (rotate): unknown parameter 'angle'; expected: axis, degrees"),
            ([{"op": "min_max"}, {"op": "resamp", "spacing": [1, 1, 1]}],
             "step 2 (resamp): unknown op; known ops:"),
            ([{"op": "resample_to_spacing", "spacing": [1, 0, 1]}],
             "step 1 (resample_to_spacing): parameter 'spacing' must be an array of 3 positive"),
            ([{"op": "resample_to_spacing", "spacing": [1, 1, 1], "interp": "cubic"}],
             "parameter 'interp' must be \"nearest\", \"linear\" or \"bspline\""),
            ([{"op": "crop_or_pad", "size": [64, 64]}],
             "step 1 (crop_or_pad): parameter 'size' must be an array of 3 integers >= 1"),
            ([{"op": "crop_or_pad", "size": [64, 64, 6.5]}], "parameter 'size' must be"),
            ([{"op": "window", "level": 40}], "step 1 (window): missing parameter 'width'"),
            ([{"op": "window", "output": [0, 1]}], "step 1 (window): give either 'level' and 'width'"),
            ([{"op": "window", "level": 40, "width": 80, "min": 0}], "give either"),
            ([{"op": "window", "level": 40, "width": -80}],
             "parameter 'width' must be a positive number"),
            ([{"op": "z_score", "over": "brain"}], "parameter 'over' must be \"all\" or"),
            ([{"op": "reorient", "orientation": "XYZ"}], "parameter 'orientation' must be"),
            ([{"op": "cast", "type": "complex"}], "parameter 'type' must be a pixel type"),
            ([{"op": "percentile_clip", "low": 1, "high": 101}],
             "parameter 'high' must be a percentile in [0, 100]"),
            ([{"op": "rotate", "axis": "w", "degrees": 3}], "parameter 'axis' must be"),
            ([{"op": "rotate", "axis": "z", "degrees": "3"}],
             "parameter 'degrees' must be a finite number, got \"3\""),
            ([{"op": "flip"}], "step 1 (flip): missing parameter 'axis'"),
            ([{"op": "histogram_match", "reference": CH2, "match_points": -1}],
             "parameter 'match_points' must be an integer in [0, 1000]"),
            ([{"axis": "z"}], "step 1 (?): a step is an object with a string \"op\""),
            ([], "\"steps\" is empty"),
            ({"steps": [{"op": "min_max"}], "version": 2}, "unknown key 'version'"),
            ({"medimg_pipeline": 2, "steps": [{"op": "min_max"}]}, "\"medimg_pipeline\" must be 1"),
        ]
        for steps, error in cases:
            with self.subTest(error=error):
                self.check(steps, error)
        # Only medimg can know these.
        self.check([{"op": "histogram_match", "reference": "/nonexistent.nii"}],
                   "step 1 (histogram_match): parameter 'reference': cannot read '/nonexistent.nii'",
                   schema_valid=True)
        self.check([{"op": "clip", "min": 5, "max": 1}],
                   "step 1 (clip): parameter 'min' must be <= 'max'", schema_valid=True)
        self.check([{"op": "reorient", "orientation": "RLS"}],
                   "parameter 'orientation' must be an orientation code", schema_valid=True)

    def test_a_step_that_fails_on_the_image_names_the_step(self):
        path = os.path.join(self.dir, "crop.json")
        with open(path, "w") as f:
            json.dump({"steps": [{"op": "min_max"},
                                 {"op": "crop", "start": [0, 0, 0], "size": [500, 5, 5]}]}, f)
        out = os.path.join(self.dir, "crop.nii")
        r = run("pipeline", AAL, out, "--steps", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("step 2 (crop): crop: region start", r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_not_json_and_missing_file(self):
        path = os.path.join(self.dir, "broken.json")
        with open(path, "w") as f:
            f.write('{"steps": [')
        r = run("pipeline", AAL, os.path.join(self.dir, "o.nii"), "--steps", path)
        self.assertIn("broken.json': not valid JSON", r.stderr)
        r = run("pipeline", AAL, os.path.join(self.dir, "o.nii"), "--steps", "/nope.json")
        self.assertIn("cannot read pipeline '/nope.json'", r.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
