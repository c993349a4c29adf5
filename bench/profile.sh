#!/usr/bin/env bash
# Profiles one xgrad workload and prints its top costs.
#   bench/profile.sh <workload> <dtype> [k=v ...]      e.g. bench/profile.sh W3 f32 steps=40
#   bench/profile.sh W7 f32 op=softmax grad=1 steps=20
# Uses `perf record` when hardware counters work (`perf stat -e instructions true`), else valgrind's
# callgrind (instruction counts, Ir) on a build without AVX-512 (valgrind cannot decode it): configure
# PROF_BUILD (default build-prof) with -DXGRAD_NATIVE=OFF -DCMAKE_CXX_FLAGS="-march=x86-64-v3 -g" and
# OpenBLAS' AVX2 kernels (OPENBLAS_CORETYPE=Haswell). Only the steps are measured (the data loading
# and model construction are toggled off). Output: bench/results/profiles/<name>.{callgrind,txt}.
# PROFILER=perf forces a perf cpu-clock sampling profile of the native build instead (BUILD_DIR);
# with perf, THREADS=2 profiles the worker at two threads (samples per thread).
set -euo pipefail
cd "$(dirname "$0")/.."
w=$1; dt=$2; shift 2
name="$w-$dt$(printf -- '-%s' "$@" | tr '=' '_')"
out=bench/results/profiles
mkdir -p "$out"
PROF_BUILD=${PROF_BUILD:-build-prof}
BUILD_DIR=${BUILD_DIR:-build-bench}
profiler=${PROFILER:-}
if [ -z "$profiler" ]; then
  probe=$(perf stat -e instructions true 2>&1 || echo "Error")
  case $probe in
    *"not supported"*|*"not counted"*|*Permission*|*Error*|*"not found"*) profiler=callgrind ;;
    *) profiler=perf ;;
  esac
fi
case $w in
  W3|W4) toggle='*Mnist::steps*' ;;
  W2) toggle='*Scalar::step*' ;;
  W7) toggle='*Op::step*' ;;
  *) toggle='*FixedBatch::step*' ;;
esac
if [ "$profiler" = callgrind ]; then
  OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 valgrind --tool=callgrind \
    --callgrind-out-file="$out/$name.callgrind" --toggle-collect="$toggle" \
    "$PROF_BUILD/bench/xgrad_bench" mem "$w" "$dt" "$@" threads=1 >/dev/null 2>"$out/$name.valgrind.log"
  set +o pipefail  # head closes the pipe early
  {
    echo "# callgrind (instructions) of xgrad $w $dt $*: self cost"
    callgrind_annotate --auto=no --threshold=100 --inclusive=no "$out/$name.callgrind" | /usr/bin/python3 bench/callgrind_top.py 35
    echo
    echo "# inclusive cost"
    callgrind_annotate --auto=no --threshold=100 --inclusive=yes "$out/$name.callgrind" | /usr/bin/python3 bench/callgrind_top.py 60 --inclusive
  } >"$out/$name.txt"
else
  # Same kernels as the benchmark (bench/run.py --blas-core auto); skip the data loading of W3/W4.
  delay=()
  # W6: skip the initialization of the 16.8M weights and the first steps' page faults.
  case $w in W3|W4) delay=(-D "${PERF_DELAY_MS:-2500}") ;; W6) delay=(-D "${PERF_DELAY_MS:-4000}") ;; esac
  # THREADS=2: the worker's set_num_threads(2) (xgrad's own workers); samples are then split by thread.
  threads=${THREADS:-1}
  sort=symbol
  if [ "$threads" != 1 ]; then name="$name-T$threads"; sort=comm,symbol; fi
  env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 perf record -e cpu-clock -F 4999 "${delay[@]}" \
    -o "$out/$name.perf" "$BUILD_DIR/bench/xgrad_bench" mem "$w" "$dt" "$@" threads="$threads" >/dev/null 2>&1
  set +o pipefail
  {
    echo "# perf cpu-clock samples of xgrad $w $dt $* (native build, T=$threads${XGRAD_GEMM_SPLIT_MNK:+, XGRAD_GEMM_SPLIT_MNK=$XGRAD_GEMM_SPLIT_MNK}): self time per symbol"
    perf report -i "$out/$name.perf" --no-children --sort "$sort" --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' \
      | sed -E 's/\(xgrad::Tensor const&.*$//' | cut -c1-160 | head -45
  } >"$out/$name.txt"
fi
echo "$out/$name.txt"
