#!/usr/bin/env bash
# The main job: install missing dependencies, build, run the flagship demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build -DXGRAD_BUILD_TESTS=OFF -DXGRAD_BUILD_EXAMPLES=ON
./build/examples/flagship "$@"
