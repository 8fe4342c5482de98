#!/usr/bin/env bash
# NIfTI read/write speed of `medimg convert` beside ITK's reader and writer
# (benchmarks/io/io_bench.py): whole processes on the same CT-sized files,
# same threads, in one run; prints MB/s, ratios and peak RSS.
# Usage: scripts/io_bench.sh [--threads N] [--repeats N]    (inputs in build/io-bench)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" >&2
build="${MEDIMG_BUILD_DIR:-$root/build}"
exec /usr/bin/python3 "$root/benchmarks/io/io_bench.py" "$build/bin" "$build/io-bench" "$@"
