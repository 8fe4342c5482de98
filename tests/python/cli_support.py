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
NIBABEL_DATA = os.path.join(os.path.dirname(nib.__file__), "tests", "data")


def run(*args, env=None):
    return subprocess.run([MEDIMG, *args], capture_output=True, text=True, env=env)


def fresh_dir(name):
    path = os.path.join(SCRATCH, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path
