#!/usr/bin/env bash
# Installs every Debian 12 package Ablate needs to build, test and run. Idempotent: a second run
# installs nothing and takes a few seconds. Needs root (or sudo) and Debian's package mirrors.
#
#   scripts/setup.sh              everything (build, tests, detector, worker)
#   scripts/setup.sh coordinator  only what the LibTorch-free coordinator and CLI need
set -euo pipefail
PROFILE="${1:-all}"

COORDINATOR_PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libssl-dev
  libsqlite3-dev libyaml-cpp-dev libgtest-dev libgmock-dev
  libcli11-dev nlohmann-json3-dev libsimdjson-dev libtbb-dev
  libcpp-httplib-dev
  # the TLS tests make their certificate with the openssl tool (docs/security.md)
  openssl
)

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git clang-format
  # required stack
  libtorch-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsqlite3-dev sqlite3 libssl-dev libopencv-dev libyaml-cpp-dev libgtest-dev libgmock-dev
  # helpers (see docs/dependencies.md)
  libcli11-dev nlohmann-json3-dev libsimdjson-dev libtbb-dev
  libbenchmark-dev libcpp-httplib-dev
  # the dashboard's browser test: Debian's chromium driven by playwright-core (web/)
  chromium
  # fast BLAS for LibTorch's 1x1-convolution fallback (STACK-NOTES.md)
  libopenblas0-pthread
  # the TLS tests make their certificate with the openssl tool (docs/security.md)
  openssl
  # detector_data_test writes a CMYK JPEG with libjpeg (OpenCV cannot)
  libjpeg-dev
)

if [ "$PROFILE" = "coordinator" ]; then
  PACKAGES=("${COORDINATOR_PACKAGES[@]}")
elif [ "$PROFILE" != "all" ]; then
  echo "setup: unknown profile '$PROFILE' (expected: all, coordinator)" >&2
  exit 2
fi

# Node.js for the browser test's driver; any node >= 18 on PATH will do.
if [ "$PROFILE" = "all" ] && ! command -v node >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
