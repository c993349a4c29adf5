#!/usr/bin/env bash
# Runs a command that must fail: passes when it exits non-zero within MAX_SECONDS and its output
# (stdout + stderr) matches the extended regular expression PATTERN.
# Usage: expect_failure.sh MAX_SECONDS PATTERN command args...   (MAX_SECONDS: an integer)
set -u
max=$1
pattern=$2
shift 2
out=$(mktemp)
start=$(date +%s%N)
timeout --kill-after=10 "$((max + 30))" "$@" >"$out" 2>&1
rc=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
elapsed="$((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000)))"
cat "$out"
echo "---- exit code $rc after ${elapsed} s (bound ${max} s)"
status=0
if [ "$rc" -eq 0 ]; then echo "FAIL: the command succeeded but should have failed"; status=1; fi
# timeout's own codes (124, or 137 after --kill-after) only count when its limit was reached: mpirun
# itself exits with 137 when a rank was killed by SIGKILL.
if [ "$elapsed_ms" -ge "$(((max + 30) * 1000))" ]; then echo "FAIL: the command hung (killed by timeout, exit $rc)"; status=1; fi
if [ "$elapsed_ms" -gt "$((max * 1000))" ]; then echo "FAIL: took ${elapsed} s, more than ${max} s"; status=1; fi
if ! grep -Eq "$pattern" "$out"; then echo "FAIL: the output does not match /$pattern/"; status=1; fi
rm -f "$out"
[ $status -eq 0 ] && echo "PASS: failed as expected"
exit $status
