#!/usr/bin/env bash
# Set up alert from a fresh clone: a virtual environment in .venv with the package and the given
# extras (default: eval), plus the offline Fashion-MNIST files (Debian package
# dataset-fashion-mnist) when this machine can install them. Usage: scripts/setup.sh [EXTRAS]
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-eval}"
[ -x .venv/bin/python ] || python3 -m venv .venv
# the CPU build of torch is pinned by a constraints file, not by the extras (README, "Install")
.venv/bin/pip install -q --disable-pip-version-check -c scripts/torch-cpu.txt -e ".[${extras}]"
if [ ! -e /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; } \
      >/dev/null 2>&1 || echo "setup: could not install dataset-fashion-mnist; Fashion-MNIST features and tests will skip" >&2
  else
    echo "setup: Fashion-MNIST not installed (as root: apt-get install dataset-fashion-mnist); its tests will skip" >&2
  fi
fi
