#!/usr/bin/env bash
# Measures the GEMM backends available as Debian packages (OpenBLAS, BLIS, oneDNN, reference netlib
# BLAS) on the GEMMs of one training step of W3 (MLP 784-256-128-10, batch 128) and W6 (4096x4096
# Linear, batch 256), float32 and float64, 1 and 2 threads. See bench/gemm_backends.cpp.
#
# Usage: bench/gemm_backends.sh [--rounds N] [--no-setup] [--quick]
#   --rounds N   round-robin repetitions of the whole configuration list (default 5)
#   --no-setup   do not call scripts/setup.sh --bench (which installs missing packages with apt)
#   --quick      1 round, smaller timing budgets (a smoke test of the script, not for the figures)
# Output: the table on stdout, bench/results/gemm_backends.json (summary plus every raw record) and
# bench/results/gemm_backends.raw.jsonl (one line per process run).
#
# Each configuration runs in its own process: the thread count and OPENBLAS_CORETYPE are read by the
# libraries when they load, so they are set in the environment before the process starts. The
# configurations are interleaved (round 1 runs every configuration once, then round 2...), so that a
# burst of load from other users of the machine spreads over all of them instead of hitting one.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=5 setup=1 quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift ;;
    --no-setup) setup=0 ;;
    --quick) quick=1 rounds=1 ;;
    *) echo "gemm_backends.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

[ $setup -eq 1 ] && bash "$root/scripts/setup.sh" --bench

# Build: a standalone program, no xgrad dependency (the libraries are loaded with dlopen).
build=$root/build-gemm-backends
mkdir -p "$build" "$root/bench/results"
exe=$build/gemm_backends
if [ ! -x "$exe" ] || [ "$root/bench/gemm_backends.cpp" -nt "$exe" ]; then
  echo "compiling $exe"
  nice -n 10 g++ -std=c++20 -O2 -Wall -Wextra -Werror "$root/bench/gemm_backends.cpp" -o "$exe" -ldl
fi

# The libraries. Debian installs each BLAS in its own directory (the libblas.so.3 alternative only
# picks the default one), so the paths below name each implementation explicitly.
libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
openblas=$libdir/openblas-pthread/libopenblas.so.0
blis=$libdir/blis-pthread/libblis.so.4
netlib=$libdir/blas/libblas.so.3
dnnl=$(ls "$libdir"/libdnnl.so.[0-9]* 2>/dev/null | head -n1 || true)

# The machine's environment sets OPENBLAS_CORETYPE=Haswell, which overrides OpenBLAS's CPU detection.
# The reference runs without it (auto-detection); "openblas-haswell" measures it as set.
unset OPENBLAS_CORETYPE

# Timing budgets per process (seconds); the slow libraries get fewer W6 repetitions.
# A process runs W3 steps for the W3 budget (at least --w3-min-reps of them), then W6 steps likewise.
if [ $quick -eq 1 ]; then fast="--w3-time 0.1 --w6-time 0.2 --w6-min-reps 1"; else fast="--w3-time 0.3 --w6-time 0.6 --w6-min-reps 2"; fi
slow="--w3-time 0.2 --w3-min-reps 5 --w6-time 0 --w6-min-reps 1 --w6-warmup 0"

# One configuration per line: name | extra environment | library option | dtypes | thread counts | budgets
configs=()
if [ -e "$openblas" ]; then
  configs+=("openblas||--cblas $openblas|f32 f64|1 2|$fast")
  configs+=("openblas-haswell|OPENBLAS_CORETYPE=Haswell|--cblas $openblas|f32 f64|1 2|$fast")
fi
if [ -e "$blis" ]; then
  # BLIS 0.9.0 does not recognise this CPU (AMD family 0x1A) and falls back to its unoptimised
  # "generic" kernels; BLIS_ARCH_TYPE=0 forces its AVX-512 "skx" sub-configuration instead.
  configs+=("blis||--cblas $blis|f32 f64|1 2|$slow")
  configs+=("blis-skx|BLIS_ARCH_TYPE=0|--cblas $blis|f32 f64|1 2|$fast")
fi
# The reference BLAS is single-threaded and ~50x slower (about 10 s per W6 step): first round only.
[ -e "$netlib" ] && configs+=("netlib||--cblas $netlib|f32 f64|1|$slow")
[ -n "$dnnl" ] && configs+=("onednn||--dnnl $dnnl|f32 f64|1 2|$fast")       # f64 gives a "skipped" record

raw=$root/bench/results/gemm_backends.raw.jsonl
: >"$raw"
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds" >&2
  for c in "${configs[@]}"; do
    IFS='|' read -r name extra lib dtypes threads budget <<<"$c"
    for t in $threads; do
      for dt in $dtypes; do
        # f64 skip records carry no time: one is enough.
        if [ "$name" = onednn ] && [ "$dt" = f64 ] && { [ $r -gt 1 ] || [ "$t" != 1 ]; }; then continue; fi
        if [ "$name" = netlib ] && [ $r -gt 1 ]; then continue; fi
        # shellcheck disable=SC2086  # word splitting of $extra, $lib and $budget is intended
        env OPENBLAS_NUM_THREADS=$t BLIS_NUM_THREADS=$t OMP_NUM_THREADS=$t $extra \
          nice -n 10 "$exe" $lib --name "$name" --dtype "$dt" --threads "$t" $budget >>"$raw" ||
          echo "gemm_backends.sh: $name $dt t=$t failed (its record says why)" >&2
      done
    done
  done
done

# Summary: median over rounds of each process's median step time, with min and max over rounds,
# and the ratio to OpenBLAS (auto-detected core) at the same dtype and thread count.
python3 - "$raw" "$root/bench/results/gemm_backends.json" "$rounds" <<'EOF'
import json, platform, statistics, subprocess, sys, time
raw_path, out_path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
records = [json.loads(l) for l in open(raw_path) if l.strip()]
groups = {}
for r in records:
    groups.setdefault((r["backend"], r["dtype"], r["threads"]), []).append(r)

def stats(rs, w):
    xs = [r[w]["median_sec"] for r in rs if w in r]
    if not xs:
        return None
    return {"median_sec": statistics.median(xs), "min_sec": min(xs), "max_sec": max(xs), "runs": len(xs),
            "gflops": statistics.median(r[w]["gflops"] for r in rs if w in r),
            "cpu_per_wall": statistics.median(r[w]["cpu_per_wall"] for r in rs if w in r)}

summary = []
for (b, dt, t), rs in groups.items():
    row = {"backend": b, "dtype": dt, "threads": t, "lib": rs[-1].get("lib", {})}
    for w in ("w3", "w6"):
        row[w] = stats(rs, w)
    notes = {r.get("skipped") or r.get("error") for r in rs} - {None}
    if notes:
        row["note"] = "; ".join(sorted(notes))
    summary.append(row)
ref = {(s["dtype"], s["threads"]): s for s in summary if s["backend"] == "openblas"}
for s in summary:
    r = ref.get((s["dtype"], s["threads"]))
    for w in ("w3", "w6"):
        if s[w] and r and r[w]:
            s[w]["ratio_to_openblas"] = s[w]["median_sec"] / r[w]["median_sec"]

order = ["openblas", "openblas-haswell", "blis", "blis-skx", "onednn", "netlib"]
summary.sort(key=lambda s: (s["dtype"], s["threads"], order.index(s["backend"]) if s["backend"] in order else 99))

def cell(x, scale):
    if not x:
        return "-"
    return f"{x['median_sec'] * scale:.4g} [{x['min_sec'] * scale:.4g}, {x['max_sec'] * scale:.4g}]"

def ratio(x):
    return f"{x['ratio_to_openblas']:.2f}" if x and "ratio_to_openblas" in x else "-"

def kernel(lib):
    return lib.get("openblas_core") or lib.get("blis_arch") or lib.get("dnnl_isa") or ("reference" if lib else "")

head = f"{'backend':<17}{'dtype':<6}{'thr':<4}{'kernel':<17}{'W3 step GEMMs ms':<28}{'ratio':>7}  {'W6 step GEMMs ms':<28}{'ratio':>7}  note"
lines = [head, "-" * len(head)]
for s in summary:
    lines.append(f"{s['backend']:<17}{s['dtype']:<6}{s['threads']:<4}{kernel(s['lib']):<17}{cell(s['w3'], 1e3):<28}"
                 f"{ratio(s['w3']):>7}  {cell(s['w6'], 1e3):<28}{ratio(s['w6']):>7}  {s.get('note', '')}")
table = "\n".join(lines)
print(table)
print("cells: median over runs of each process's median step time [min-max over runs]; ratio = time / OpenBLAS time "
      "(same dtype and threads; > 1 is slower)")

info = {}
for l in open("/proc/cpuinfo"):
    k, _, v = l.partition(":")
    info.setdefault(k.strip(), v.strip())
cpu = f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')})"
json.dump({
    "what": "GEMMs of one training step: W3 = MLP 784-256-128-10 at batch 128 (8 GEMMs), "
            "W6 = Linear 4096x4096 at batch 256 (forward, dW, dX)",
    "date": time.strftime("%Y-%m-%d %H:%M:%S"), "host": platform.node(), "cpu": cpu,
    "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout or 0),
    "rounds": rounds, "reference": "openblas (OPENBLAS_CORETYPE unset: auto-detected core)",
    "summary": summary, "table": table, "records": records,
}, open(out_path, "w"), indent=1)
print(f"wrote {out_path}")
EOF
