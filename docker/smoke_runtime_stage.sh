#!/usr/bin/env bash
# Builds a Dockerfile's runtime stage around binaries built on this (Debian 12) machine instead
# of its build stage, then runs each binary with --help inside it and lists any library the
# dynamic loader cannot find there. Needs buildah (chroot isolation: no container runtime, no
# cgroups) and a local debian:12 / debian:12-slim image (docker/README.md shows how to make one
# with debootstrap where no registry can be reached).
#
#   docker/smoke_runtime_stage.sh DOCKERFILE BINARY...
# Exits 1 when a library is missing or a binary fails to start.
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 DOCKERFILE BINARY..." >&2; exit 2; fi
dockerfile="$1"; shift
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"; buildah rm ablate-smoke >/dev/null 2>&1 || true' EXIT

# The runtime stage without the lines that copy from the build stage; our binaries instead.
awk '/^FROM /{stage=""} {stage = stage $0 "\n"} END{printf "%s", stage}' "$dockerfile" |
  grep -v -- '--from=build' | grep -v '^ENTRYPOINT' > "$ctx/Containerfile"
for bin in "$@"; do
  cp "$bin" "$ctx/"
  echo "COPY $(basename "$bin") /usr/local/bin/" >> "$ctx/Containerfile"
done
buildah bud --isolation chroot --pull=never -q -t ablate-smoke "$ctx" >/dev/null
buildah from --name ablate-smoke ablate-smoke >/dev/null
status=0
for bin in "$@"; do
  name=$(basename "$bin")
  missing=$(buildah run --isolation chroot ablate-smoke -- ldd "/usr/local/bin/$name" |
    grep "not found" || true)
  if [ -n "$missing" ]; then
    echo "MISSING in the runtime stage of $dockerfile for $name:"; echo "$missing"; status=1
  elif buildah run --isolation chroot ablate-smoke -- "$name" --help >/dev/null; then
    echo "ok       $name starts in the runtime stage of $dockerfile"
  else
    echo "FAILED   $name --help in the runtime stage of $dockerfile"; status=1
  fi
done
exit $status
