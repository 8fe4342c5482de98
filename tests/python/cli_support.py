"""What the command-line test scripts share: the medimg binary and the
scratch folder from the command line (MEDIMG_BINARY SCRATCH_DIR ...), the
real-data folders, running medimg, and fresh folders."""
import os
import shutil
import subprocess
import sys

import nibabel as nib

MEDIMG = sys.argv[1] if len(sys.argv) > 1 else "medimg"
SCRATCH = sys.argv[2] if len(sys.argv) > 2 else "."
MRICRON = "/usr/share/mricron/templates"
# Set by `scripts/test.sh --sanitize`: AddressSanitizer's allocator (its
# quarantine keeps 256 MiB of freed blocks, mallopt has no effect) changes
# resident memory and page faults, so the tests of memory footprint run in
# the default build's suite only.
SANITIZED = os.environ.get("MEDIMG_SANITIZED") == "1"
SANITIZED_REASON = "memory footprint is not measurable under AddressSanitizer"
NIBABEL_DATA = os.path.join(os.path.dirname(nib.__file__), "tests", "data")


def run(*args, env=None):
    return subprocess.run([MEDIMG, *args], capture_output=True, text=True, env=env)


def fresh_dir(name):
    path = os.path.join(SCRATCH, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path
