"""`medimg batch` killed with SIGKILL, then resumed (issue 19, docs/RELIABILITY.md).

- At random moments, and at moments chosen while an output is being written
  (a temporary file is there), the batch is killed with SIGKILL. Whatever
  final outputs exist then are byte-identical to an uninterrupted run's.
  `--resume` then finishes it: every output byte-identical, no temporary
  file left anywhere in the output folder (resume removes what the killed
  run left), and report.json lists every item as done or skipped.
- Under `mpiexec -n 3`, one rank (0, 1 or 2 in turn) is killed with
  SIGKILL: mpiexec ends the job within a bounded time with an error naming
  the killed rank (no hang), the outputs already written are valid, and a
  resumed run at 3 ranks completes them all.

Usage: test_crash.py MEDIMG_BINARY SCRATCH_DIR [MPIEXEC]
Environment: MEDIMG_CRASH_TRIALS (default 12) kill-and-resume trials.
"""
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
import unittest

import nibabel as nib
import numpy as np
from cli_support import MEDIMG, fresh_dir

MPIEXEC = sys.argv[3] if len(sys.argv) > 3 else None
TRIALS = int(os.environ.get("MEDIMG_CRASH_TRIALS", "12"))
ITEMS = 8
# Upsampling makes each output 4.6x its input, so a good part of the run is
# the gzip write of the outputs: kills land in reads, kernels and writes.
STEPS = {"medimg_pipeline": 1, "steps": [
    {"op": "resample_to_spacing", "spacing": [0.6, 0.6, 0.6], "interp": "linear"},
    {"op": "z_score", "over": "nonzero"}]}
# One thread everywhere: a 1-process run and a 3-rank run then give the same
# bytes (z_score's sums are reduced in an order that depends on the thread
# count, so outputs at 1 and 2 threads differ in the last bits).
os.environ["OMP_NUM_THREADS"] = "1"
MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none", OMP_NUM_THREADS="1")


def make_cohort(d):
    rng = np.random.default_rng(19)
    manifest = os.path.join(d, "cohort.csv")
    with open(manifest, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["input", "output"])
        for i in range(ITEMS):
            shape = (88 + 4 * i, 96, 72)
            z, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
            data = (1000 * np.exp(-(x * x + y * y + z * z) * (2 + i)) +
                    rng.normal(0, 5, shape)).astype(np.float32)
            path = os.path.join(d, "in%d.nii" % i)
            nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.1, 1.2, 1.0])), path)
            w.writerow([path, os.path.join("sub%d" % (i % 2), "out%d.nii.gz" % i)])
    steps = os.path.join(d, "steps.json")
    with open(steps, "w") as f:
        json.dump(STEPS, f)
    return manifest, steps


def files_under(d):
    found = {}
    for parent, _, names in os.walk(d):
        for n in names:
            found[os.path.relpath(os.path.join(parent, n), d)] = os.path.join(parent, n)
    return found


def temporaries(d):
    return sorted(p for p in files_under(d) if "medimg-tmp" in p)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class Cohort(unittest.TestCase):
    """The cohort and its uninterrupted run, made once for both classes."""
    made = None

    @classmethod
    def setUpClass(cls):
        if Cohort.made:
            cls.dir, cls.manifest, cls.steps, cls.seconds, cls.outputs = Cohort.made
            return
        cls.dir = fresh_dir("crash")
        cls.manifest, cls.steps = make_cohort(cls.dir)
        cls.reference = os.path.join(cls.dir, "reference")
        start = time.monotonic()
        r = subprocess.run(cls.batch(cls.reference), capture_output=True, text=True)
        cls.seconds = time.monotonic() - start
        assert r.returncode == 0, r.stderr
        cls.outputs = {name: read_bytes(path) for name, path in files_under(cls.reference).items()
                       if name.endswith(".nii.gz")}
        assert len(cls.outputs) == ITEMS, sorted(cls.outputs)
        print("uninterrupted run: %.2f s" % cls.seconds)
        Cohort.made = (cls.dir, cls.manifest, cls.steps, cls.seconds, cls.outputs)

    @classmethod
    def batch(cls, out, *extra):
        return [MEDIMG, "batch", "--manifest", cls.manifest, "--steps", cls.steps,
                "--out-dir", out, "--progress-interval", "0", *extra]

    def check_partial(self, out):
        """The final outputs a killed run left are complete and correct."""
        for name, path in files_under(out).items():
            if name in self.outputs:
                self.assertEqual(read_bytes(path), self.outputs[name], name)

    def check_resumed(self, out, resumed):
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertEqual(temporaries(out), [])
        for name, data in self.outputs.items():
            self.assertEqual(read_bytes(os.path.join(out, name)), data, name)
        with open(os.path.join(out, "report.json")) as f:
            report = json.load(f)
        self.assertEqual(len(report["items"]), ITEMS)
        self.assertTrue(all(row["status"] in ("done", "skipped") for row in report["items"]))
        s = report["summary"]
        self.assertEqual((s["total"], s["failed"], s["done"] + s["skipped"]), (ITEMS, 0, ITEMS))
        return report


class KillAndResume(Cohort):
    def test_sigkill_then_resume(self):
        rng = random.Random(19)
        during_write = 0
        left_behind = 0
        for trial in range(TRIALS):
            out = os.path.join(self.dir, "trial%d" % trial)
            p = subprocess.Popen(self.batch(out), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            if trial % 2 == 0:
                time.sleep(rng.uniform(0.02, 0.95) * self.seconds)
            else:
                # Wait until the n-th output is being written, then kill.
                wanted = rng.randrange(1, ITEMS)
                deadline = time.monotonic() + 4 * self.seconds + 10
                while time.monotonic() < deadline and p.poll() is None:
                    if os.path.isdir(out) and len(temporaries(out)) > 0 and \
                            len([n for n in files_under(out) if n.endswith(".nii.gz")]) >= wanted:
                        break
                    time.sleep(0.001)
            writing = os.path.isdir(out) and len(temporaries(out)) > 0
            p.send_signal(signal.SIGKILL)
            p.wait()
            left = temporaries(out) if os.path.isdir(out) else []
            during_write += writing
            left_behind += len(left)
            self.check_partial(out)
            resumed = subprocess.run(self.batch(out, "--resume"), capture_output=True, text=True)
            self.check_resumed(out, resumed)
            if left:
                self.assertIn("removed %d temporary file(s)" % len(left), resumed.stdout)
        print("%d trials, %d killed while writing, %d temporary files left by the kills and "
              "removed by --resume" % (TRIALS, during_write, left_behind))
        # The odd trials wait for a write; a loaded machine may let one finish first.
        self.assertGreaterEqual(during_write, TRIALS // 3)


def children(pid):
    """The processes whose parent is `pid` (mpiexec's ranks)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def rank_of(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    return int(env.get(b"OMPI_COMM_WORLD_RANK", b"-1"))


@unittest.skipUnless(MPIEXEC, "no mpiexec given")
class LostRank(Cohort):
    def test_a_killed_rank_stops_the_job(self):
        for victim in (1, 2, 0):
            out = os.path.join(self.dir, "mpi_rank%d" % victim)
            mpi = [MPIEXEC, "-n", "3"]
            p = subprocess.Popen(mpi + self.batch(out), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=MPI_ENV)
            # Kill once the first output is being written or is there.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and p.poll() is None:
                if os.path.isdir(out) and (temporaries(out) or any(
                        n.endswith(".nii.gz") for n in files_under(out))):
                    break
                time.sleep(0.002)
            ranks = {rank_of(c): c for c in children(p.pid)}
            self.assertIn(victim, ranks, "mpiexec's children: %s (run over: %s)" %
                          (ranks, p.poll()))
            killed_at = time.monotonic()
            os.kill(ranks[victim], signal.SIGKILL)
            try:
                _, stderr = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                self.fail("mpiexec still running 60 s after rank %d was killed" % victim)
            waited = time.monotonic() - killed_at
            self.assertNotEqual(p.returncode, 0, stderr)
            # Open MPI names the killed rank ("process rank 1 ... exited on
            # signal 9 (Killed)") or, when another rank noticed first, the
            # lost peer ("communication peer process has unexpectedly
            # disconnected"): either way one clear reason, not a hang.
            self.assertRegex(stderr, r"rank %d .*(signal 9|Killed)|unexpectedly disconnected|"
                                     r"exited on signal" % victim, stderr)
            print("rank %d killed: mpiexec ended after %.2f s with exit code %d" %
                  (victim, waited, p.returncode))
            self.assertLess(waited, 30)
            self.check_partial(out)
            resumed = subprocess.run(mpi + self.batch(out, "--resume"), capture_output=True,
                                     text=True, env=MPI_ENV)
            self.check_resumed(out, resumed)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
