#!/usr/bin/env bash
# Side-by-side benchmarks: xgrad vs LibTorch vs PyTorch vs the OpenBLAS GEMM limit, same workloads,
# same run, interleaved, at T=1 and T=2 threads. Writes a table to the terminal and every figure to
# bench/results/latest.json (see docs/performance.md).
#
# Usage: scripts/bench.sh [--quick] [any option of bench/run.py, e.g. --only W3,W6 --rounds 3]
#   --quick   smoke run (f32 only, 2 repetitions, short timings; ~2-3 minutes)
# Environment: BUILD_DIR (default build-bench), JOBS (default 2), BENCH_ROUNDS, BENCH_EPOCH_ROUNDS,
# BENCH_THREADS, BENCH_DTYPES, BENCH_ONLY, BENCH_SETTLE (see bench/run.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --bench

BUILD_DIR=${BUILD_DIR:-build-bench}
JOBS=${JOBS:-2}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DXGRAD_BUILD_BENCH=ON -DXGRAD_BUILD_TESTS=OFF \
  -DXGRAD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS" --target xgrad_bench blas_limit
if grep -q "^Torch_DIR:PATH=.*/Torch$" "$BUILD_DIR/CMakeCache.txt"; then
  cmake --build "$BUILD_DIR" -j"$JOBS" --target libtorch_bench || echo "bench.sh: libtorch_bench did not build; LibTorch skipped" >&2
fi

exec /usr/bin/python3 bench/run.py --build "$BUILD_DIR" "$@"
