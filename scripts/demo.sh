#!/usr/bin/env bash
# The main job, end to end on this machine: installs what is needed, builds, generates the
# synthetic shapes dataset, starts a coordinator on an SQLite file (with the web dashboard) and
# two CPU workers, imports the sample tuning diary, runs the pos/neg IoU-threshold sweep with the
# tiny YOLACT, shows live progress, and ends with the leaderboard, a comparison of the best two
# runs and the dashboard's address. About 10 minutes on 2 cores.
#
# Everything lands in demo-run/ (database, dataset, checkpoints, logs). Re-running reuses the
# dataset and database; a finished identical sweep is linked rather than re-trained.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
bash scripts/setup.sh
export CCACHE_BASEDIR="$ROOT"
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros}"  # cache the PCH compiles
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target ablate ablate-train
BIN="$ROOT/build/bin"
RUN="$ROOT/demo-run"
mkdir -p "$RUN"

# Stop what an earlier demo left running.
for pidfile in "$RUN"/*.pid; do
  [ -e "$pidfile" ] || continue
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
done
sleep 1

if [ ! -f "$RUN/shapes/val.json" ]; then
  echo "== generating the shapes dataset"
  "$BIN/ablate-train" shapes --out "$RUN/shapes" --train 400 --val 100 --seed 1
fi

echo "== starting the coordinator ($RUN/ablate.db) with the dashboard"
"$BIN/ablate" server --db "$RUN/ablate.db" --listen 127.0.0.1:0 --http 127.0.0.1:0 \
  >"$RUN/coordinator.log" 2>&1 &
echo $! >"$RUN/coordinator.pid"
ADDR=""
for _ in $(seq 1 100); do
  ADDR=$(sed -n 's/^ablate coordinator listening on \([^ ]*\).*/\1/p' "$RUN/coordinator.log")
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "$ADDR" ] || { cat "$RUN/coordinator.log"; echo "coordinator did not start" >&2; exit 1; }
DASHBOARD=""
for _ in $(seq 1 50); do
  DASHBOARD=$(sed -n 's/^ablate dashboard: \(.*\)$/\1/p' "$RUN/coordinator.log")
  [ -n "$DASHBOARD" ] && break
  sleep 0.1
done
export ABLATE_SERVER="$ADDR"

echo "== starting two CPU workers"
for n in 1 2; do
  "$BIN/ablate" worker --slots 1 --device cpu --trial-threads 1 --name "demo-worker-$n" \
    --work-dir "$RUN/work" \
    >"$RUN/worker-$n.log" 2>&1 &
  echo $! >"$RUN/worker-$n.pid"
done

if [ -f ../shared/samples/tuning-diary.txt ]; then
  echo "== importing the sample tuning diary"
  "$BIN/ablate" import-log ../shared/samples/tuning-diary.txt
fi

echo "== submitting the pos/neg threshold sweep (4 trials, tiny model)"
SWEEP=$(cd "$RUN" && "$BIN/ablate" submit "$ROOT/sweeps/pos-neg-thresholds.yaml" \
  --set data.train=shapes/train.json --set data.val=shapes/val.json \
  --set "parameters.conf_loss=[ce]" --set budget.steps=400 --set budget.checkpoint_every=200 \
  --set budget.eval_every=200 --json | sed -n 's/^  "sweep": "\(.*\)",$/\1/p')
[ -n "$SWEEP" ] || { echo "submit failed" >&2; exit 1; }
echo "sweep: $SWEEP"

"$BIN/ablate" watch "$SWEEP" --until-done --interval 2

echo
echo "== the two best runs, cell by cell"
BEST=$("$BIN/ablate" leaderboard --sweep "$SWEEP" --top 2 --json |
  sed -n 's/^ *"run": "\([^"]*\)",\{0,1\}$/\1/p' | head -n 2 | tr '\n' ' ')
# shellcheck disable=SC2086
set -- $BEST
if [ $# -eq 2 ]; then "$BIN/ablate" compare "$1" "$2"; fi

for n in 1 2; do kill "$(cat "$RUN/worker-$n.pid")" 2>/dev/null || true; rm -f "$RUN/worker-$n.pid"; done
echo
echo "Dashboard: ${DASHBOARD:-(not started)}   coordinator: $ADDR (pid $(cat "$RUN/coordinator.pid"))"
echo "The coordinator keeps running for the dashboard; stop it with: kill $(cat "$RUN/coordinator.pid")"
