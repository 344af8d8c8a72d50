#!/usr/bin/env bash
# Checks that a Dockerfile's runtime stage installs every shared library the given binaries
# link: for each library a binary needs directly (ELF NEEDED, resolved with ldd on this Debian 12
# machine), the Debian package that ships it (dpkg -S) must be installed in the runtime stage —
# listed in its `apt-get install`, pulled in by one of those (apt-cache depends --recurse), or
# part of every Debian image (Priority: required). Libraries the image brings another way (the
# worker's /opt/libtorch) are skipped with --provided REGEX (matched against the soname).
#
#   docker/check_runtime_libs.sh [--provided REGEX] DOCKERFILE BINARY...
#
# Prints one line per library; exits 1 naming each missing package, 2 on bad usage. Needs only
# the binaries (built on Debian 12 the way the Dockerfile builds them), dpkg and apt-cache: no
# container engine (docker/README.md says why the images are not built in CI).
set -euo pipefail

provided=""
if [ "${1:-}" = "--provided" ]; then provided="$2"; shift 2; fi
if [ $# -lt 2 ]; then
  echo "usage: $0 [--provided REGEX] DOCKERFILE BINARY..." >&2
  exit 2
fi
dockerfile="$1"; shift

# The runtime stage: everything after the last FROM. Its package list: the words after
# `apt-get install` up to the end of that command (&&, ; or the end of the RUN), options dropped.
runtime_packages=$(awk '/^FROM /{stage=""} {stage = stage $0 "\n"} END{printf "%s", stage}' \
    "$dockerfile" | sed -e 's/\\$//' | tr '\n' ' ' |
  grep -oE 'apt-get install[^&;]*' | sed -e 's/apt-get install//' | tr ' ' '\n' |
  grep -vE '^(-.*|)$' | sort -u)
if [ -z "$runtime_packages" ]; then
  echo "check_runtime_libs: no 'apt-get install' in the runtime stage of $dockerfile" >&2
  exit 2
fi

# Everything those packages install, with their dependencies (apt resolves them in the image).
installed=$( (echo "$runtime_packages"
  # shellcheck disable=SC2086
  apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances $runtime_packages 2>/dev/null |
    sed -n 's/^ *\(Pre\)\{0,1\}Depends: <\{0,1\}\([^ >:]*\).*/\2/p; s/^\([a-z0-9][^ :]*\)$/\1/p'
  ) | sort -u)
# Every listed package must exist (a typo would make the image build fail).
for p in $runtime_packages; do
  if ! dpkg-query -W "$p" >/dev/null 2>&1 && ! apt-cache show "$p" >/dev/null 2>&1; then
    echo "check_runtime_libs: $dockerfile installs '$p', which Debian does not know" >&2
    exit 1
  fi
done

# Packages every Debian image has (Priority: required), among those installed here.
required=$(dpkg-query -W -f='${Package} ${Priority}\n' | awk '$2 == "required" {print $1}')

missing=0
for bin in "$@"; do
  if [ ! -x "$bin" ]; then echo "check_runtime_libs: no binary $bin" >&2; exit 2; fi
done

# (binary, soname, path) for every library a binary needs directly: apt installs each package's
# own dependencies in the image, so transitive libraries are covered by the packages.
rows=""
for bin in "$@"; do
  ldd_out=$(ldd "$bin")
  for soname in $(objdump -p "$bin" | awk '/NEEDED/{print $2}'); do
    if [ -n "$provided" ] && [[ "$soname" =~ $provided ]]; then
      echo "ok       $(basename "$bin"): $soname (provided by the image, --provided)"
      continue
    fi
    path=$(awk -v s="$soname" '$1 == s && $3 ~ /^\// {print $3; exit}' <<<"$ldd_out")
    if [ -z "$path" ]; then
      echo "check_runtime_libs: $bin needs $soname, which ldd cannot resolve here" >&2
      missing=1
      continue
    fi
    rows+="$(basename "$bin") $soname $path"$'\n'
  done
done

# One dpkg -S for all of them (it reads the whole file database per call). Debian 12 merges
# /lib into /usr/lib, so a library may be listed under either spelling.
candidates=$(awk 'NF {p = $3; print p; if (p ~ /^\/usr\//) print substr(p, 5); else print "/usr" p}' \
  <<<"$rows" | sort -u)
# shellcheck disable=SC2086
owners=$(dpkg -S $candidates 2>/dev/null | sed 's/^\([^:]*\)\(:[a-z0-9]*\)\{0,1\}: /\1 /' || true)

while read -r bin soname path; do
  [ -z "$bin" ] && continue
  alt="/usr$path"
  [[ "$path" == /usr/* ]] && alt="${path#/usr}"
  pkg=$(awk -v a="$path" -v b="$alt" '$2 == a || $2 == b {print $1; exit}' <<<"$owners")
  if [ -z "$pkg" ]; then
    echo "check_runtime_libs: $soname ($path) belongs to no Debian package" >&2
    missing=1
  elif grep -qxF "$pkg" <<<"$installed"; then
    echo "ok       $bin: $soname from $pkg"
  elif grep -qxF "$pkg" <<<"$required"; then
    echo "ok       $bin: $soname from $pkg (in every Debian image)"
  else
    echo "MISSING  $bin: $soname from $pkg: add '$pkg' to the runtime stage of $dockerfile"
    missing=1
  fi
done <<<"$rows"
exit $missing
