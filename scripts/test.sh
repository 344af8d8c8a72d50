#!/usr/bin/env bash
# Sets up everything (Debian packages, idempotent), builds, and runs the default test suite:
# every test except those labelled long, bench or gpu. Prints ctest's summary; exits non-zero
# when any test fails. Extra arguments go to ctest (e.g. -L long to run the long trainings).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_BASEDIR="$PWD"   # lets ccache hit across clones in other folders
BUILD_DIR="${ABLATE_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DABLATE_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR"
if [ $# -eq 0 ]; then set -- -LE "long|bench|gpu"; fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 "$@"
