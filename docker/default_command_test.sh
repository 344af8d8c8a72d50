#!/usr/bin/env bash
# Runs the coordinator image's default command (its ENTRYPOINT + CMD, read from the Dockerfile)
# with this build's `ablate`, outside any container: the image's paths (/data, /etc/ablate) are
# mapped into a temporary folder and its ports onto free loopback-reachable ports; nothing else
# of the command is changed. Checks what a user of `docker run ablate-coordinator` meets:
#   1. no token file mounted: the server exits non-zero naming the missing file;
#   2. a token file mounted: it serves gRPC (a call without a token is refused, with one it
#      works) and the dashboard (401 without a token);
#   3. the ENTRYPOINT with arguments that drop --auth-tokens: refused (non-loopback listen).
#
#   docker/default_command_test.sh DOCKERFILE ABLATE_BINARY
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: $0 DOCKERFILE ABLATE_BINARY" >&2; exit 2; fi
dockerfile="$1"
ablate="$(realpath "$2")"
tmp=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
grpc_port=$(free_port)
http_port=$(free_port)

# The exec-form JSON arrays of the image's ENTRYPOINT and CMD, one argument per line.
json_array() {
  local keyword="$1"
  grep -E "^${keyword} \[" "$dockerfile" | tail -1 | sed -E "s/^${keyword} //" |
    /usr/bin/python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)))'
}
map_paths() {
  sed -e "s#^/data/#$tmp/data/#" -e "s#^/etc/ablate/#$tmp/etc/ablate/#" \
      -e "s#:50051\$#:$grpc_port#" -e "s#:8080\$#:$http_port#"
}
mapfile -t entrypoint < <(json_array ENTRYPOINT | map_paths)
mapfile -t cmd < <(json_array CMD | map_paths)
[ "${entrypoint[0]:-}" = "ablate" ] || fail "ENTRYPOINT does not start with ablate: ${entrypoint[*]}"
[ ${#cmd[@]} -gt 0 ] || fail "no CMD in $dockerfile"
entrypoint[0]="$ablate"
mkdir -p "$tmp/data" "$tmp/etc/ablate"
echo "image command: ${entrypoint[*]} ${cmd[*]}"

# 1. Token file not mounted.
if "${entrypoint[@]}" "${cmd[@]}" >"$tmp/out1" 2>&1; then fail "started without a token file"; fi
grep -q "$tmp/etc/ablate/tokens.txt" "$tmp/out1" ||
  fail "the error does not name the token file: $(cat "$tmp/out1")"
echo "ok: without a token file it exits: $(head -c 300 "$tmp/out1")"

# 2. Token file mounted.
admin_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077; printf 'admin %s test-admin\n' "$admin_token" > "$tmp/etc/ablate/tokens.txt")
"${entrypoint[@]}" "${cmd[@]}" >"$tmp/out2" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if ABLATE_TOKEN="$admin_token" "$ablate" runs --server "127.0.0.1:$grpc_port" >/dev/null 2>&1; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || fail "server exited: $(cat "$tmp/out2")"
  sleep 0.1
done
ABLATE_TOKEN="$admin_token" "$ablate" runs --server "127.0.0.1:$grpc_port" >/dev/null ||
  fail "a call with the admin token failed"
if env -u ABLATE_TOKEN -u ABLATE_TOKEN_FILE "$ablate" runs --server "127.0.0.1:$grpc_port" \
    >"$tmp/out3" 2>&1; then
  fail "a call without a token was answered"
fi
grep -qi "unauthenticated\|token" "$tmp/out3" || fail "unexpected refusal: $(cat "$tmp/out3")"
code=$(/usr/bin/python3 - "$http_port" <<'EOF'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/runs", timeout=5)
    print(200)
except urllib.error.HTTPError as e:
    print(e.code)
EOF
)
[ "$code" = "401" ] || fail "dashboard without a token answered $code, expected 401"
grep -q "$admin_token" "$tmp/out2" && fail "the server's output contains the token"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
echo "ok: with a token file it serves gRPC and the dashboard, both refusing calls without a token"

# 3. Arguments that replace CMD without --auth-tokens.
if "${entrypoint[@]}" --http "0.0.0.0:$http_port" >"$tmp/out4" 2>&1; then
  fail "started on 0.0.0.0 without tokens"
fi
grep -q -- "--auth-tokens" "$tmp/out4" || fail "the refusal does not say how: $(cat "$tmp/out4")"
echo "ok: the entry point without --auth-tokens is refused"
