#!/usr/bin/env bash
# Sets up everything (Debian packages, idempotent), builds, and runs the default test suite:
# every test except those labelled long, bench or gpu. Prints ctest's summary; exits non-zero
# when any test fails. Extra arguments go to ctest (e.g. -L long to run the long trainings).
#
#   scripts/test.sh --sanitize address,undefined [CTEST ARGS]
#       the torch-free tests under ASan+UBSan (build dir build-asan; any report fails the test)
#   scripts/test.sh --sanitize thread [CTEST ARGS]
#       the store, scheduler, worker and dashboard tests under TSan (build dir build-tsan)
set -euo pipefail
cd "$(dirname "$0")/.."

SANITIZE=""
BUILD_TARGETS=()
if [ "${1:-}" = "--sanitize" ]; then
  SANITIZE="${2:-}"
  shift 2 || { echo "test.sh: --sanitize needs address,undefined or thread" >&2; exit 2; }
fi

bash scripts/setup.sh
export CCACHE_BASEDIR="$PWD"   # lets ccache hit across clones in other folders
# The detector targets use a precompiled header; ccache caches those compiles only with this.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros}"
case "$SANITIZE" in
  "")
    BUILD_DIR="${ABLATE_BUILD_DIR:-build}"
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DABLATE_WERROR=ON >/dev/null
    if [ $# -eq 0 ]; then set -- -LE "long|bench|gpu"; fi
    ;;
  address,undefined|undefined,address)
    BUILD_DIR="${ABLATE_BUILD_DIR:-build-asan}"
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DABLATE_WERROR=ON \
      -DABLATE_SANITIZE=ON -DABLATE_BUILD_DETECTOR=OFF >/dev/null
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    # The browser test drives Chromium against the dashboard; it tests the page, not memory.
    if [ $# -eq 0 ]; then set -- -LE "long|bench|gpu|browser"; fi
    ;;
  thread)
    BUILD_DIR="${ABLATE_BUILD_DIR:-build-tsan}"
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DABLATE_WERROR=ON \
      -DABLATE_SANITIZE_THREAD=ON -DABLATE_BUILD_DETECTOR=OFF >/dev/null
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
    if [ $# -eq 0 ]; then
      # Not coordinator_service_test: it runs gRPC in-process, and Debian's libgrpc and abseil are
      # not built with TSan, so their own synchronisation is invisible to it and it reports
      # hundreds of races inside them (ClientContext, chttp2, absl's GraphCycles). The store,
      # scheduler, worker and dashboard (httplib threads) tests run our locks for real.
      TSAN_TESTS="store_test server_core_test worker_core_test dashboard_test"
      BUILD_TARGETS=(--target $TSAN_TESTS)  # only what runs: a TSan build is slow
      set -- -R "^($(echo "$TSAN_TESTS" | tr ' ' '|'))$"
    fi
    ;;
  *)
    echo "test.sh: unknown --sanitize '$SANITIZE' (expected address,undefined or thread)" >&2
    exit 2
    ;;
esac
cmake --build "$BUILD_DIR" "${BUILD_TARGETS[@]}"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 "$@"
