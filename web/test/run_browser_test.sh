#!/bin/sh
# CTest entry of the dashboard's browser test (label "browser"): installs playwright-core from the
# lockfile when needed, then runs browser_test.mjs. Exit 77 (CTest SKIP) only when chromium is
# missing; CI installs it (apt-get install chromium), so there the test really runs.
set -eu
SRC=${ABLATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CHROMIUM=${ABLATE_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "SKIP: $CHROMIUM not found; install Debian's chromium (apt-get install chromium) to run the browser test"
  exit 77
fi
if ! command -v node >/dev/null 2>&1; then
  echo "FAIL: node is required for the browser test (Node.js 20)"
  exit 1
fi
cd "$SRC/web"
want=$(node -e "console.log(require('./package-lock.json').packages['node_modules/playwright-core'].version)")
have=$(node -e "try{console.log(require('playwright-core/package.json').version)}catch(e){console.log('none')}")
if [ "$want" != "$have" ]; then
  echo "installing web/node_modules from package-lock.json (playwright-core $want)"
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node test/browser_test.mjs
