#!/bin/sh
# Runs the dashboard benchmark: API latencies (dashboard_bench), then the leaderboard page's load
# time in headless Chromium against the same file. The store file is kept in the build folder.
set -eu
BIN=${ABLATE_BIN_DIR:?}
SRC=${ABLATE_SOURCE_DIR:?}
BUILD=${ABLATE_BUILD_DIR:-$(dirname "$BIN")}
DB="$BUILD/dashboard-bench.db"
"$BIN/dashboard_bench" --db "$DB" "$@"
if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null; then
  echo "page load: skipped (needs /usr/bin/chromium and node)"
  exit 0
fi
(cd "$SRC/web" && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error)
LOG=$(mktemp)
"$BIN/ablate-dashboard" serve --db "$DB" --http 127.0.0.1:0 --snapshot-ttl-ms 60000 >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do grep -q '^Dashboard: ' "$LOG" && break; sleep 0.1; done
URL=$(sed -n 's/^Dashboard: //p' "$LOG")
node "$SRC/bench/dashboard/page_load.mjs" "$URL" 7
