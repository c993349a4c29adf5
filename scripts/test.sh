#!/usr/bin/env bash
# The tests: install missing dependencies, build, run the whole suite through ctest.
# xgrad::distributed is built too (Open MPI from Debian), and its tests run under mpirun (ctest label
# "mpi"; `ctest -LE mpi` leaves them out). XGRAD_TEST_DISTRIBUTED=0 builds and tests without it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${XGRAD_TEST_DISTRIBUTED:-1}" = 0 ]; then
  bash scripts/setup.sh
  bash scripts/build.sh build -DXGRAD_BUILD_TESTS=ON -DXGRAD_BUILD_EXAMPLES=ON -DXGRAD_DISTRIBUTED=OFF
else
  bash scripts/setup.sh --distributed
  bash scripts/build.sh build -DXGRAD_BUILD_TESTS=ON -DXGRAD_BUILD_EXAMPLES=ON -DXGRAD_DISTRIBUTED=ON
fi
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
