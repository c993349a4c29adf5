#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang and fuzzes each parser of outside data.
#
# Usage: scripts/fuzz.sh [options] [target...]        targets: idx csv safetensors state_dict (default: all)
#   -t, --time SECONDS   fuzzing time per target (default 600 = 10 minutes)
#   --ci                 short run for CI: 30 s per target
#   -j, --jobs N         targets fuzzed at the same time (default 1)
#   --replay             only replay the corpora (ctest -L fuzz): every seed and regression input once
#   --build-dir DIR      build directory (default build-fuzz)
#
# Each run starts from tests/fuzz_corpus/<target>/ (read only) plus the working corpus
# <build-dir>/corpus/<target>/ (new inputs go there), with the dictionary fuzz/<target>.dict, and writes
# its log to <build-dir>/fuzz-<target>.log. Crashing inputs land in <build-dir>/artifacts/<target>/;
# add them to tests/fuzz_corpus/<target>/ as crash-<what> once the bug is fixed. At the end a table
# gives, per target, the executions per second and libFuzzer's final coverage (cov = covered edges,
# ft = features). Exit status: non-zero when any target crashed, leaked, timed out or hit a sanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=600
jobs=1
replay=0
build=build-fuzz
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    -t | --time) seconds=$2; shift 2 ;;
    --ci) seconds=30; shift ;;
    -j | --jobs) jobs=$2; shift 2 ;;
    --replay) replay=1; shift ;;
    --build-dir) build=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(idx csv safetensors state_dict)

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/setup.sh --sanitizers)" >&2; exit 2; }
# Release-like code with debug info; no -march=native (portable, and what CI machines run);
# -Werror off: clang warns about a few things GCC does not.
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_FUZZ=ON -DXGRAD_NATIVE=OFF \
  -DXGRAD_WERROR=OFF -DXGRAD_BUILD_TESTS=OFF -DXGRAD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"${XGRAD_BUILD_JOBS:-2}" --target $(printf 'fuzz_%s ' "${targets[@]}")

if [ $replay -eq 1 ]; then
  ctest --test-dir "$build" -L fuzz --output-on-failure
  exit
fi

run_one() {
  local t=$1
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  local dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  # -rss_limit_mb: a parser that allocates what a header declares shows up as an out-of-memory crash.
  "$build/fuzz/fuzz_$t" "$build/corpus/$t" "tests/fuzz_corpus/$t" "${dict[@]}" \
    -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -max_len=65536 -artifact_prefix="$build/artifacts/$t/" >"$build/fuzz-$t.log" 2>&1
}

status=0
pids=()
names=()
for t in "${targets[@]}"; do
  echo "fuzzing $t for $seconds s (log: $build/fuzz-$t.log)"
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || { echo "  $t: FAILED (see $build/fuzz-${names[0]}.log)"; status=1; }
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "  ${names[$i]}: FAILED (see $build/fuzz-${names[$i]}.log)"; status=1; }
done

echo
printf '%-12s %10s %12s %8s %8s %8s %9s  %s\n' target seconds execs exec/s cov ft corpus result
for t in "${targets[@]}"; do
  log="$build/fuzz-$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '(DONE|pulse|NEW|REDUCE|INITED).*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$last")
  result=ok
  grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer)|runtime error:|==[0-9]+== ?ERROR|Test unit written' "$log" &&
    result="CRASH: $(ls "$build/artifacts/$t" | head -3 | tr '\n' ' ')"
  printf '%-12s %10s %12s %8s %8s %8s %9s  %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
  [ "$result" = ok ] || status=1
done
exit $status
