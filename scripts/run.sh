#!/usr/bin/env bash
# Sets up whatever is missing (scripts/setup.sh), then runs the medimg tool:
# with no arguments its embedded default job, `medimg demo`; otherwise
# `medimg ARGS...` (e.g. scripts/run.sh info scan.nii.gz).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" >&2
[ "$#" -gt 0 ] || set -- demo
exec "${MEDIMG_BUILD_DIR:-$root/build}/bin/medimg" "$@"
