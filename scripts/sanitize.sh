#!/usr/bin/env bash
# Builds and runs xgrad under the sanitizers (see docs/reliability.md).
#
# Usage: scripts/sanitize.sh MODE [doctest args...]
#   asan            Debug build with AddressSanitizer + UndefinedBehaviorSanitizer (XGRAD_SANITIZE=ON) in
#                   build-asan; runs the whole test suite (LeakSanitizer included: it is part of ASan).
#   tsan            Debug build with ThreadSanitizer in build-tsan; runs the concurrency tests
#                   (tests/reliability/test_concurrency.cpp) and the worker-pool tests
#                   (tests/autograd/test_threads.cpp). `tsan all` runs the whole suite.
#   lsan-examples   the examples of the same ASan build (build-asan, examples switched on); runs every
#                   example and fails on any leak or memory error.
#   valgrind-examples  Release build of the examples in build-valgrind; runs every example under
#                   valgrind --leak-check=full (definite and indirect leaks and memory errors fail).
#   asan-mpi        Debug ASan + UBSan build of xgrad::distributed in build-asan-mpi (needs Open MPI:
#                   scripts/setup.sh --distributed); runs the MPI tests (ctest -L mpi) under mpirun.
#                   LeakSanitizer is off for them (ASAN_OPTIONS=detect_leaks=0, set by
#                   tests/distributed/tests.cmake): Open MPI's own allocations would be reported.
# Extra arguments go to the test binary (e.g. -tc="deep graphs*"). Environment: XGRAD_BUILD_JOBS (default
# 2), EXAMPLE_TIMEOUT seconds per example (default 900).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
shift || true
jobs=${XGRAD_BUILD_JOBS:-2}

# Sanitizer reports abort the run with a stack trace; OpenBLAS runs single-threaded so that its
# uninstrumented worker threads do not confuse ThreadSanitizer (and results are comparable).
export OPENBLAS_NUM_THREADS=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# Arguments of the examples in these runs: the flagship trains 1 epoch instead of 10 (a leak or a
# memory error shows in the first; -O0 with ASan is ~20x slower than Release).
example_args() {
  case $1 in
    flagship) echo "--epochs 1" ;;
  esac
}

run_examples() {  # build-dir runner...
  local dir
  dir=$(cd "$1" && pwd)
  shift
  local status=0 start name
  # The examples write their pictures and CSV files into the working directory: keep them in the build.
  mkdir -p "$dir/example-runs"
  for exe in "$dir"/examples/*; do
    [ -x "$exe" ] && [ -f "$exe" ] || continue
    name=$(basename "$exe")
    echo "== $name $(example_args "$name")"
    start=$SECONDS
    # shellcheck disable=SC2046  # example_args is split on purpose
    if (cd "$dir/example-runs" && timeout "${EXAMPLE_TIMEOUT:-900}" "$@" "$exe" $(example_args "$name")) >"$exe.log" 2>&1; then
      echo "   ok in $((SECONDS - start)) s (no leak, no memory error)"
    else
      echo "   FAILED (exit $?) after $((SECONDS - start)) s: see $exe.log"
      tail -30 "$exe.log"
      status=1
    fi
  done
  return $status
}

case $mode in
  asan)
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DXGRAD_SANITIZE=ON >/dev/null
    cmake --build build-asan -j"$jobs" --target xgrad_tests
    ./build-asan/tests/xgrad_tests "$@"
    ;;
  tsan)
    # -O1: ThreadSanitizer's recommended level; still Debug (assertions on, no -march=native).
    cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DXGRAD_BUILD_EXAMPLES=OFF \
      "-DCMAKE_CXX_FLAGS=-fsanitize=thread -O1 -g" "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread" >/dev/null
    cmake --build build-tsan -j"$jobs" --target xgrad_tests
    if [ "${1:-}" = all ]; then
      shift
      ./build-tsan/tests/xgrad_tests "$@"
    else
      ./build-tsan/tests/xgrad_tests -sf="*test_concurrency*,*test_threads*" "$@"
    fi
    ;;
  lsan-examples)
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DXGRAD_SANITIZE=ON -DXGRAD_BUILD_EXAMPLES=ON >/dev/null
    cmake --build build-asan -j"$jobs"
    run_examples build-asan env
    ;;
  valgrind-examples)
    bash scripts/setup.sh --sanitizers  # valgrind
    # No -march=native: valgrind does not emulate every AVX-512 instruction.
    cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_NATIVE=OFF -DXGRAD_BUILD_TESTS=OFF \
      -DXGRAD_BUILD_EXAMPLES=ON >/dev/null
    cmake --build build-valgrind -j"$jobs"
    run_examples build-valgrind valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
      --errors-for-leak-kinds=definite,indirect --error-exitcode=99
    ;;
  asan-mpi)
    cmake -S . -B build-asan-mpi -DCMAKE_BUILD_TYPE=Debug -DXGRAD_SANITIZE=ON -DXGRAD_DISTRIBUTED=ON \
      -DXGRAD_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build build-asan-mpi -j"$jobs" --target xgrad_mpi_tests xgrad_mpi_fault
    (cd build-asan-mpi && ctest -L mpi --output-on-failure "$@")
    ;;
  *)
    sed -n '2,21p' "$0"
    exit 2
    ;;
esac
