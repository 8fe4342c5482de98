#!/usr/bin/env bash
# Every medimg command beside the ITK program a user would write and
# SimpleITK, as whole processes on the same real inputs with the same
# threads (benchmarks/e2e/bench_e2e.py): median wall time of 5, peak RSS,
# ratios, and the outputs compared. setup.sh --bench installs SimpleITK into
# .deps/venv-bench.
# Usage: scripts/bench_e2e.sh [--threads N] [--repeats N] [--smoke] [--json FILE]
#        (inputs and outputs in build/e2e-bench)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" --bench >&2
build="${MEDIMG_BUILD_DIR:-$root/build}"
exec /usr/bin/python3 "$root/benchmarks/e2e/bench_e2e.py" "$build/bin" "$build/e2e-bench" \
  --sitk-python "$root/.deps/venv-bench/bin/python" "$@"
