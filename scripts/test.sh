#!/usr/bin/env bash
# The tests: install missing dependencies, build, run the whole suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build -DXGRAD_BUILD_TESTS=ON -DXGRAD_BUILD_EXAMPLES=ON
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
