#!/usr/bin/env bash
# Bench-only packages for side_by_side.sh (not part of scripts/setup.sh): Debian's PyTorch 1.13
# (the same LibTorch build our detector links), torchvision, OpenCV and NumPy for the reference
# YOLACT. They install into /usr/bin/python3's dist-packages.
set -euo pipefail
apt-get install -y python3-torch python3-torchvision python3-opencv python3-numpy
