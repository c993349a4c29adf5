#!/usr/bin/env python3
"""Renders a results JSON of bench/run.py as Markdown tables (used for docs/performance.md).

Usage: bench/report.py [bench/results/latest.json] > tables.md"""

import json
import sys


def t(s):
    if s is None:
        return "-"
    for unit, f in (("s", 1), ("ms", 1e3), ("µs", 1e6), ("ns", 1e9)):
        if s * f >= 1:
            return f"{s * f:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def r(x):
    return "-" if x is None else f"{x:.2f}"


def fig(f):
    if not f or f.get("median") is None:
        return "err" if f and "error" in f else "-"
    return f"{t(f['median'])} <sub>{t(f['min'])}–{t(f['max'])}</sub>"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.json"
    with open(path) as fh:
        d = json.load(fh)
    m = d["meta"]
    mc = m["machine"]
    print(f"Run {m['date']}, xgrad {mc.get('xgrad_commit', '')[:10]}{' (dirty)' if mc.get('xgrad_dirty') else ''}, "
          f"{mc.get('cpu')} ({mc.get('nproc')} vCPUs), load average {m['loadavg_start'][0]:.1f} at start and "
          f"{m['loadavg_end'][0]:.1f} at the end, {m['total_seconds']:.0f} s in all.")
    cores = {v.get("blas", {}).get("corename") for v in d["systems"].values() if isinstance(v, dict)}
    print(f"OpenBLAS core: {', '.join(sorted(c for c in cores if c))}; "
          f"repetitions: {m['args']['rounds']} (W3/W4: {m['args']['epoch_rounds']} timed epochs after 1 warm-up).")
    loads = [x.get("loadavg_1min", [0, 0])[1] for x in d["results"]]
    if loads:
        print(f"1-minute load average after each configuration: median {sorted(loads)[len(loads) // 2]:.2f}, "
              f"max {max(loads):.2f} (the benchmark itself adds about 1; clearly above that, another process shared "
              f"the 2 vCPUs).")
    busy = sorted({b["comm"] for x in d["results"] for b in x.get("busy", [])})
    if busy:
        print(f"Other processes seen using CPU between configurations: {', '.join(busy)}.")
    for k, when in (("busy_start", "start"), ("busy_end", "end")):
        if m.get(k):
            print(f"Other processes using CPU at the {when}: "
                  + ", ".join(f"{b['comm']} ({b['pcpu']:.0f}%)" for b in m[k]) + ".")
    print()
    print("Median <sub>min–max</sub> over the repetitions; ratios are time(xgrad)/time(other), below 1 = xgrad faster.")
    print()
    rows = d["results"]
    groups = [("Training workloads", lambda x: x["workload"] in ("W1", "W2", "W3", "W4", "W5", "W6")),
              ("W7: op microbenchmarks", lambda x: x["workload"] == "W7"),
              ("Scaling (W3 network, f32, fixed batch)", lambda x: x["workload"] == "S")]
    for title, pred in groups:
        sel = [x for x in rows if pred(x)]
        if not sel:
            continue
        print(f"### {title}\n")
        print("| config | dtype | T | xgrad | LibTorch | PyTorch | GEMM limit | x/LT | x/PT | x/limit |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for x in sel:
            f = x["figures"]
            print(f"| {x['config']} | {x['dtype']} | {x['threads']} | {fig(f.get('xgrad'))} | {fig(f.get('libtorch'))} | "
                  f"{fig(f.get('pytorch'))} | {fig(f.get('limit'))} | {r(x['ratios']['xgrad/libtorch'])} | "
                  f"{r(x['ratios']['xgrad/pytorch'])} | {r(x['ratios']['xgrad/limit'])} |")
        print()
    acc = [x for x in rows if x["workload"] in ("W3", "W4")]
    if acc:
        print("### Test accuracy (after the same number of epochs)\n")
        print("| workload | dtype | T | epochs | xgrad | LibTorch | PyTorch |")
        print("|---|---|---|---|---|---|---|")
        for x in acc:
            f = x["figures"]
            a = lambda s: f"{100 * f[s]['acc']:.2f}%" if s in f and "acc" in f[s] else "-"
            print(f"| {x['workload']} | {x['dtype']} | {x['threads']} | {f.get('xgrad', {}).get('epochs', '-')} | "
                  f"{a('xgrad')} | {a('libtorch')} | {a('pytorch')} |")
        print()
    if d.get("accuracy"):
        print("### Test accuracy over extra seeds (f32, T=1, same epochs; seed 0 is the timed run above)\n")
        print("| workload | seed | xgrad | LibTorch | PyTorch |")
        print("|---|---|---|---|---|")
        keys = sorted({(x["workload"], x["seed"]) for x in d["accuracy"]})
        for w, seed in keys:
            v = {x["system"]: x["acc"] for x in d["accuracy"] if (x["workload"], x["seed"]) == (w, seed)}
            a = lambda s: f"{100 * v[s]:.2f}%" if v.get(s) is not None else "-"
            print(f"| {w} | {seed} | {a('xgrad')} | {a('libtorch')} | {a('pytorch')} |")
        print()
    if d.get("scaling"):
        print("### Scaling: GEMM FLOPs per step and achieved GFLOP/s\n")
        print("| batch | width | T | MFLOP/step | xgrad GFLOP/s | LibTorch GFLOP/s | PyTorch GFLOP/s | limit GFLOP/s | x/limit |")
        print("|---|---|---|---|---|---|---|---|---|")
        for s in d["scaling"]:
            g = lambda k: f"{s['flops'] / s[k] / 1e9:.1f}" if s.get(k) else "-"
            xl = s["xgrad_s"] / s["limit_s"] if s.get("xgrad_s") and s.get("limit_s") else None
            print(f"| {s['batch']} | {s['width']} | {s['threads']} | {s['flops'] / 1e6:.1f} | {g('xgrad_s')} | "
                  f"{g('libtorch_s')} | {g('pytorch_s')} | {g('limit_s')} | {r(xl)} |")
        print()
    if d.get("memory"):
        print("### Peak RSS (VmHWM of a fresh process, T=1)\n")
        print("| workload | dtype | steps | xgrad | LibTorch | PyTorch | xgrad/LibTorch |")
        print("|---|---|---|---|---|---|---|")
        keys = sorted({(x["workload"], x["dtype"], x["steps"]) for x in d["memory"]})
        for w, dt, st in keys:
            v = {x["system"]: x for x in d["memory"] if (x["workload"], x["dtype"]) == (w, dt)}
            mb = lambda s: (f"{v[s]['vmhwm_kb'] / 1024:.0f} MiB <sub>(start {v[s]['vmhwm_kb_start'] / 1024:.0f})</sub>"
                            if s in v and "vmhwm_kb" in v[s] else "-")
            rat = (v["xgrad"]["vmhwm_kb"] / v["libtorch"]["vmhwm_kb"]
                   if "vmhwm_kb" in v.get("xgrad", {}) and "vmhwm_kb" in v.get("libtorch", {}) else None)
            print(f"| {w} | {dt} | {st} | {mb('xgrad')} | {mb('libtorch')} | {mb('pytorch')} | {r(rat)} |")
        print()
    if d.get("targets"):
        print("### Targets\n")
        print("| target | config | measured | goal | met |")
        print("|---|---|---|---|---|")
        for x in d["targets"]:
            v = x["measured"]
            print(f"| {x['target']} | {x['config']} | {'-' if v is None else f'{v:.3f}'} | {x['goal']} | "
                  f"{'yes' if x['ok'] else '**no**'} {x['note']} |")
        print()


if __name__ == "__main__":
    main()
