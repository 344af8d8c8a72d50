#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, torch-free, build dir build-fuzz) and runs one
# of them for a number of minutes over its seed corpus (fuzz/corpus/TARGET, read-only; new
# inputs go to build-fuzz/corpus/TARGET). Crash inputs land in build-fuzz/crashes/TARGET/; copy
# each into fuzz/regressions/TARGET/ and fix it (fuzz/README.md).
#
#   scripts/fuzz.sh TARGET MINUTES     e.g. scripts/fuzz.sh sweep_yaml 3
#   scripts/fuzz.sh list               the targets
# Installs clang and libclang-rt-14-dev itself (idempotent). Exits 1 when the fuzzer found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS="sweep_yaml coco_dataset coco_results coco_masks diary trial_events dashboard_query"
if [ "${1:-}" = "list" ]; then echo "$TARGETS" | tr ' ' '\n'; exit 0; fi
if [ $# -ne 2 ] || ! [[ " $TARGETS " == *" $1 "* ]] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh TARGET MINUTES   (targets: $TARGETS)" >&2
  exit 2
fi
TARGET="$1"
MINUTES="$2"

bash scripts/setup.sh coordinator >/dev/null
missing=()
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export CCACHE_BASEDIR="$PWD"
BUILD_DIR="${ABLATE_FUZZ_BUILD_DIR:-build-fuzz}"
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DABLATE_FUZZ=ON -DABLATE_BUILD_DETECTOR=OFF >/dev/null
nice -n 10 cmake --build "$BUILD_DIR" --target "fuzz_$TARGET" >"$BUILD_DIR/build_fuzz_$TARGET.log" 2>&1 ||
  { tail -n 40 "$BUILD_DIR/build_fuzz_$TARGET.log"; exit 1; }

WORK_CORPUS="$BUILD_DIR/corpus/$TARGET"
CRASHES="$BUILD_DIR/crashes/$TARGET"
mkdir -p "$WORK_CORPUS" "$CRASHES"
# -rss_limit_mb / -timeout: an input that needs more than 2 GiB or 10 s is a finding too.
set +e
nice -n 10 "$BUILD_DIR/bin/fuzz_$TARGET" "$WORK_CORPUS" "fuzz/corpus/$TARGET" \
  -max_total_time=$((MINUTES * 60)) -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$CRASHES/" -print_final_stats=1 2>&1 | tee "$BUILD_DIR/fuzz_$TARGET.log" |
  grep -E "^#[0-9]+.*(DONE|pulse)|ERROR|SUMMARY|stat::|Test unit written"
status=${PIPESTATUS[0]}
set -e
echo "fuzz: $TARGET ran ${MINUTES} min; log $BUILD_DIR/fuzz_$TARGET.log; crashes in $CRASHES/"
exit $status
