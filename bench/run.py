#!/usr/bin/env python3
"""Driver of the side-by-side benchmarks: xgrad, LibTorch, PyTorch and the OpenBLAS GEMM limit on the
same workloads, in the same run, interleaved.

Every system runs as a long-lived worker process per thread count T (the line protocol is described in
bench/common.hpp), so that no repetition pays a process start. For each configuration (workload, dtype,
parameters) the driver runs `rounds` repetitions; in each repetition every (system, T) pair runs once,
in an order rotated from one repetition to the next (round-robin), so slow drifts of this shared machine
hit every system alike. Each figure is the median over the repetitions, with min and max.

Workers get OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = T and OMP_WAIT_POLICY=PASSIVE and
call torch.set_num_threads(T) / xgrad::set_num_threads(T) / openblas_set_num_threads(T) themselves.

Peak memory is measured separately: one fresh process per (system, workload, dtype) that runs a few
steps and reads VmHWM from /proc/self/status.

Usage: bench/run.py --build build-bench [--quick] [--rounds N] [--epoch-rounds N] [--threads 1,2]
                    [--dtypes f32,f64] [--only W1,W2,...,S,MEM] [--systems xgrad,libtorch,pytorch,limit]
                    [--out bench/results/latest.json]
Environment overrides: BENCH_ROUNDS, BENCH_EPOCH_ROUNDS, BENCH_THREADS, BENCH_DTYPES, BENCH_ONLY,
BENCH_QUICK=1, BENCH_SETTLE (seconds of idle before each heavy run).
"""

import argparse
import datetime
import json
import os
import platform
import select
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

W7_OPS = ["add", "add_bcast", "mul", "relu", "sigmoid", "exp", "sum0", "sum1", "softmax", "lsm_nll", "matmul_w3"]
FRAMEWORKS = ["xgrad", "libtorch", "pytorch"]
UNITS = {"W3": "s/epoch", "W4": "s/epoch"}  # everything else: seconds per iteration

DESCRIPTIONS = {
    "W1": "XOR 2-4-1 sigmoid MSE, batch 4, SGD momentum: one training step",
    "W2": "(a*b + a).tanh().sum() fwd+bwd on 1-element tensors",
    "W3": "Fashion-MNIST MLP 784-256-128-10 ReLU CE, batch 128, SGD m=0.9: one epoch",
    "W4": "W3 + BatchNorm1d + Dropout(0.2) after each hidden layer: one epoch",
    "W5": "50 x (Linear 32->32 + tanh), batch 32, MSE, SGD momentum: one training step",
    "W6": "Linear 4096x4096, batch 256, MSE, SGD momentum: one training step",
    "W7": "op on a 1000x1000 tensor (matmul_w3: the 3 matmuls of W3); fwd, or fwd+bwd",
    "S": "W3 network 784-W-W/2-10 on a fixed batch: one training step",
}


# ---- workers ------------------------------------------------------------------------------------

class WorkerError(RuntimeError):
    pass


class Worker:
    def __init__(self, system, threads, argv, env, log_path):
        self.system, self.threads = system, threads
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv + [f"threads={threads}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, env=env, text=True, bufsize=1)
        self.alive = True

    def pin(self, cpu):
        """Runs every thread of a one-thread worker on `cpu` (None: on every CPU of the driver)."""
        cpus = DRIVER_CPUS if cpu is None else [cpu]
        try:
            for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
                os.sched_setaffinity(int(tid), cpus)
        except OSError:  # the worker is gone or the thread ended; call() reports a dead worker
            pass

    def call(self, line, timeout=900, cpu=None):
        if not self.alive:
            raise WorkerError(f"{self.system}@T{self.threads} is not running")
        if self.threads == 1:
            self.pin(cpu)
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.alive = False
            raise WorkerError(f"{self.system}@T{self.threads} died (see its log)")
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.close(kill=True)
            raise WorkerError(f"{self.system}@T{self.threads} timed out on '{line}'")
        out = self.proc.stdout.readline()
        if not out:
            self.alive = False
            raise WorkerError(f"{self.system}@T{self.threads} died on '{line}' (exit {self.proc.poll()}, see its log)")
        return json.loads(out)

    def close(self, kill=False):
        if self.alive and not kill:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except Exception:  # noqa: BLE001
                kill = True
        if kill and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.alive = False
        self.log.close()


def worker_argv(system, build):
    if system == "xgrad":
        return [os.path.join(build, "bench", "xgrad_bench")]
    if system == "libtorch":
        return [os.path.join(build, "bench", "libtorch_bench")]
    if system == "limit":
        return [os.path.join(build, "bench", "blas_limit")]
    if system == "pytorch":
        return [PYTHON, os.path.join(HERE, "pytorch_bench.py")]
    raise ValueError(system)


BLAS_CORE = "auto"  # set from --blas-core
DRIVER_CPUS = sorted(os.sched_getaffinity(0))  # the CPUs the one-thread workers rotate over


def thread_env(threads, system=None):
    env = dict(os.environ)
    if BLAS_CORE == "auto":
        env.pop("OPENBLAS_CORETYPE", None)  # let OpenBLAS pick the kernels for this CPU
    elif BLAS_CORE != "inherit":
        env["OPENBLAS_CORETYPE"] = BLAS_CORE
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    if system == "xgrad":
        # xgrad's recommended launch (autograd/threads.hpp): OpenBLAS loads single-threaded and the
        # worker's xgrad::set_num_threads(T) hands large products and element-wise ops to xgrad's own
        # T workers (Note [parallel regions]), each block computed by single-threaded OpenBLAS;
        # LibTorch's torch::set_num_threads does not reach OpenBLAS, so its workers keep
        # OPENBLAS_NUM_THREADS=T.
        env["OPENBLAS_NUM_THREADS"] = "1"
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


def available(system, build):
    argv = worker_argv(system, build)
    if system == "pytorch":
        return subprocess.run([PYTHON, "-c", "import torch"], capture_output=True).returncode == 0
    return os.access(argv[0], os.X_OK)


# ---- the plan -----------------------------------------------------------------------------------

def make_plan(a):
    """Configurations in run order: dicts with workload, dtype, params, timing, systems, rounds."""
    plan = []
    q = a.quick
    micro = {"warmup": 0.02 if q else 0.05, "time": 0.05 if q else 0.2}
    op_timing = {"warmup": 0.01 if q else 0.02, "time": 0.02 if q else 0.08}
    heavy = {"warmup": 0.0, "time": 0.0, "min_iters": 1 if q else 2}
    fw = [s for s in FRAMEWORKS if s in a.systems]
    fwl = fw + (["limit"] if "limit" in a.systems else [])

    def add(w, dt, systems, timing, rounds, params=None, warm_rounds=0, settle=0.0):
        if w in a.only:
            plan.append({"workload": w, "dtype": dt, "params": params or {}, "timing": timing, "systems": systems,
                         "rounds": rounds, "warm_rounds": warm_rounds, "settle": settle})

    for dt in a.dtypes:
        add("W1", dt, fw, micro, a.rounds)
        add("W2", dt, fw, micro, a.rounds)
        add("W5", dt, fw, micro, a.rounds)
    for dt in a.dtypes:
        add("W3", dt, fwl, {}, a.epoch_rounds, warm_rounds=0 if q else 1, settle=a.settle)
        add("W4", dt, fw, {}, a.epoch_rounds, warm_rounds=0 if q else 1, settle=a.settle)
    for dt in a.dtypes:
        add("W6", dt, fwl, heavy, a.rounds, settle=a.settle)
    for dt in a.dtypes:
        for op in W7_OPS:
            for grad in (0, 1):
                add("W7", dt, fw, op_timing, a.rounds, params={"op": op, "grad": grad})
    batches = [32, 128, 1024] if q else [32, 64, 128, 256, 512, 1024]
    widths = [64, 2048] if q else [64, 128, 512, 1024, 2048]  # width 256 is in the batch sweep
    for b in batches:
        add("S", "f32", fwl, {"warmup": 0.02, "time": 0.05 if q else 0.15}, a.rounds,
            params={"batch": b, "width": 256}, settle=a.settle / 2)
    for wd in widths:
        add("S", "f32", fwl, {"warmup": 0.02, "time": 0.05 if q else 0.15}, a.rounds,
            params={"batch": 128, "width": wd}, settle=a.settle / 2)
    return plan


def mlp_flops(batch, dims):
    """FLOPs of one training step of an MLP (forward, weight gradients, input gradients except the first
    layer's); 2 FLOPs per multiply-add, GEMMs only."""
    macs = [dims[i] * dims[i + 1] for i in range(len(dims) - 1)]
    fwd = 2 * batch * sum(macs)
    bwd = 2 * batch * sum(macs) + 2 * batch * sum(macs[1:])
    return fwd + bwd


def config_flops(c):
    w, p = c["workload"], c["params"]
    if w == "S":
        wd = p["width"]
        return mlp_flops(p["batch"], [784, wd, wd // 2, 10])
    if w in ("W3", "W4"):
        return 468 * mlp_flops(128, [784, 256, 128, 10]) + mlp_flops(96, [784, 256, 128, 10])
    if w == "W6":
        return mlp_flops(256, [4096, 4096])
    return None


def config_name(c):
    p = c["params"]
    if c["workload"] == "W7":
        return f"W7 {p['op']}{' fwd+bwd' if p['grad'] else ' fwd'}"
    if c["workload"] == "S":
        return f"S b={p['batch']} w={p['width']}"
    return c["workload"]


def command(c):
    extra = " ".join(f"{k}={v}" for k, v in list(c["params"].items()) + list(c["timing"].items()))
    return f"run {c['workload']} {c['dtype']} {extra}".strip()


# ---- running ------------------------------------------------------------------------------------

def summarize(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples),
            "samples": samples}


def run_config(c, workers, threads, log):
    participants = [(s, t) for t in threads for s in c["systems"] if (s, t) in workers and workers[(s, t)].alive]
    cmd = command(c)
    samples = {p: [] for p in participants}
    extra = {p: {} for p in participants}
    errors = {}
    total = c["warm_rounds"] + c["rounds"]
    # The two vCPUs of these machines are not equally fast at a given moment (W2 pinned to one or the
    # other differed by up to 1.6x), and a one-thread process tends to stay where it started. So in
    # repetition r every one-thread worker runs on CPU r mod (number of CPUs): within a repetition all
    # systems share the CPU, and the repetitions visit every CPU.
    for r in range(total):
        cpu = DRIVER_CPUS[r % len(DRIVER_CPUS)]
        k = r % len(participants) if participants else 0
        order = participants[k:] + participants[:k]
        for p in order:
            if p in errors:
                continue
            if c["settle"]:
                time.sleep(c["settle"])
            try:
                out = workers[p].call(cmd, cpu=cpu)
            except WorkerError as e:
                errors[p] = str(e)
                continue
            if "error" in out:
                errors[p] = out["error"]
                continue
            if r >= c["warm_rounds"]:
                samples[p].append(out["sec"])
                extra[p]["loss"] = out.get("loss")
                extra[p]["iters"] = out.get("iters")
    if c["workload"] in ("W3", "W4"):
        for p in participants:
            if p in errors or p[0] == "limit":
                continue
            try:
                out = workers[p].call(f"eval {c['workload']} {c['dtype']}")
                extra[p]["acc"], extra[p]["epochs"] = out.get("acc"), out.get("epochs")
            except WorkerError as e:
                errors[p] = str(e)
    res = {}
    for p in participants:
        entry = {"error": errors[p]} if p in errors else {}
        if samples[p]:
            entry.update(summarize(samples[p]))
            entry.update({k: v for k, v in extra[p].items() if v is not None})
        res[p] = entry
    for p, e in errors.items():
        log(f"  ! {p[0]}@T{p[1]} {config_name(c)} {c['dtype']}: {e}")
    return res


def ratio(a, b):
    return a / b if a and b else None


def build_rows(c, res, threads):
    rows = []
    for t in threads:
        figs = {s: res[(s, t)] for s in c["systems"] if (s, t) in res}
        med = {s: f.get("median") for s, f in figs.items()}
        lim = med.get("limit")
        if c["workload"] == "W4":
            lim = None  # filled in from W3 afterwards (same GEMMs)
        row = {"config": config_name(c), "workload": c["workload"], "dtype": c["dtype"], "params": c["params"],
               "threads": t, "unit": UNITS.get(c["workload"], "s/iter"), "figures": figs,
               "ratios": {"xgrad/libtorch": ratio(med.get("xgrad"), med.get("libtorch")),
                          "xgrad/pytorch": ratio(med.get("xgrad"), med.get("pytorch")),
                          "xgrad/limit": ratio(med.get("xgrad"), lim)}}
        fl = config_flops(c)
        if fl:
            row["flops"] = fl
        rows.append(row)
    return rows


def measure_accuracy(a, workers, log):
    """Test accuracy of W3/W4 (f32, T=1) over extra seeds: one seed's accuracy varies by about +-0.5 point,
    so the 1-point target compares means over seeds. Every system trains the same number of epochs."""
    out = []
    epochs = (0 if a.quick else 1) + a.epoch_rounds
    systems = [s for s in FRAMEWORKS if (s, 1) in workers and workers[(s, 1)].alive]
    for w in ("W3", "W4"):
        if w not in a.only:
            continue
        dt = a.dtypes[0]
        for seed in range(1, a.acc_seeds + 1):
            for e in range(epochs):
                for s in systems[e % len(systems):] + systems[:e % len(systems)]:
                    try:
                        workers[(s, 1)].call(f"run {w} {dt} seed={seed}")
                    except WorkerError as err:
                        log(f"  ! accuracy {w} {s} seed {seed}: {err}")
            for s in systems:
                try:
                    r = workers[(s, 1)].call(f"eval {w} {dt} seed={seed}")
                    out.append({"workload": w, "dtype": dt, "system": s, "seed": seed, "threads": 1,
                                "acc": r.get("acc"), "epochs": r.get("epochs")})
                except WorkerError as err:
                    log(f"  ! accuracy {w} {s} seed {seed}: {err}")
            log(f"  accuracy {w} {dt} seed {seed}: " + ", ".join(
                f"{x['system']} {100 * x['acc']:.2f}%" for x in out if x["seed"] == seed and x["workload"] == w and x["acc"]))
        for s in systems:
            try:
                workers[(s, 1)].call("free")
            except WorkerError:
                pass
    return out


def measure_memory(a, log):
    out = []
    steps = {"W3": 20 if a.quick else 100, "W6": 1 if a.quick else 3}
    for w in ("W3", "W6"):
        for dt in a.dtypes:
            for s in FRAMEWORKS:
                if s not in a.systems or not available(s, a.build):
                    continue
                argv = worker_argv(s, a.build) + ["mem", w, dt, f"steps={steps[w]}", "threads=1"]
                t0 = time.time()
                p = subprocess.run(argv, capture_output=True, text=True, env=thread_env(1), timeout=900)
                entry = {"workload": w, "dtype": dt, "system": s, "steps": steps[w], "threads": 1}
                try:
                    entry.update(json.loads(p.stdout.strip().splitlines()[-1]))
                except Exception:  # noqa: BLE001
                    entry["error"] = (p.stderr or p.stdout)[-500:]
                entry["wall_s"] = round(time.time() - t0, 2)
                log(f"  mem {w} {dt} {s}: " + (f"VmHWM {entry['vmhwm_kb'] / 1024:.0f} MiB" if "vmhwm_kb" in entry
                                              else "error"))
                out.append(entry)
    return out


# ---- targets ------------------------------------------------------------------------------------

def evaluate_targets(rows, memory, accuracy, threads):
    """The issue's targets, each with the measured value and whether it is met."""
    t = []

    def add(name, cfg, value, goal, ok, note=""):
        t.append({"target": name, "config": cfg, "measured": value, "goal": goal, "ok": ok, "note": note})

    by = {}
    for r in rows:
        by.setdefault(r["workload"], []).append(r)
    for w, goal in (("W1", 0.1), ("W2", 0.1), ("W5", 1 / 3)):
        for r in by.get(w, []):
            v = r["ratios"]["xgrad/libtorch"]
            add(f"{w} >= {1 / goal:.0f}x faster than LibTorch", f"{r['dtype']} T={r['threads']}", v, f"<= {goal:.3f}",
                v is not None and v <= goal)
    for w in ("W3", "W4"):
        for r in by.get(w, []):
            goal = 0.9 if r["threads"] == 1 else 0.75
            v = r["ratios"]["xgrad/libtorch"]
            add(f"{w} epoch <= {goal}x LibTorch", f"{r['dtype']} T={r['threads']}", v, f"<= {goal}",
                v is not None and v <= goal)
            v = r["ratios"]["xgrad/limit"]
            add(f"{w} epoch within 1.1x of the GEMM limit", f"{r['dtype']} T={r['threads']}", v, "<= 1.1",
                v is not None and v <= 1.1)
            fx, fl = r["figures"].get("xgrad", {}), r["figures"].get("libtorch", {})
            seeds = [x for x in accuracy if x["workload"] == w and x["dtype"] == r["dtype"] and x["acc"] is not None]
            if seeds and r["threads"] == 1 and "acc" in fx and "acc" in fl:
                mean = lambda sysname, seed0: statistics.mean([seed0] + [x["acc"] for x in seeds if x["system"] == sysname])
                mx, ml = mean("xgrad", fx["acc"]), mean("libtorch", fl["acc"])
                n = 1 + len([x for x in seeds if x["system"] == "xgrad"])
                d = 100 * (mx - ml)
                add(f"{w} test accuracy within 1 point of LibTorch (mean of {n} seeds)", f"{r['dtype']} T=1", d, "|diff| <= 1",
                    abs(d) <= 1.0, f"xgrad {100 * mx:.2f}% vs LibTorch {100 * ml:.2f}% after {fx.get('epochs')} epochs")
            elif "acc" in fx and "acc" in fl:
                d = 100 * (fx["acc"] - fl["acc"])
                add(f"{w} test accuracy within 1 point of LibTorch", f"{r['dtype']} T={r['threads']}", d,
                    "|diff| <= 1", abs(d) <= 1.0, f"xgrad {100 * fx['acc']:.2f}% vs LibTorch {100 * fl['acc']:.2f}% "
                                                  f"after {fx.get('epochs')} epochs")
    for r in by.get("W6", []):
        v = r["ratios"]["xgrad/limit"]
        add("W6 >= 0.95x of the GEMM limit (time <= limit/0.95)", f"{r['dtype']} T={r['threads']}", v, "<= 1.053",
            v is not None and v <= 1 / 0.95)
    for r in by.get("W7", []):
        if r["threads"] != 1:
            continue
        v = r["ratios"]["xgrad/libtorch"]
        add("W7 op >= LibTorch at T=1", f"{r['config']} {r['dtype']}", v, "<= 1.0", v is not None and v <= 1.0)
    for w in ("W3", "W6"):
        for dt in sorted({m["dtype"] for m in memory}):
            mx = [m for m in memory if m["workload"] == w and m["dtype"] == dt and m["system"] == "xgrad" and "vmhwm_kb" in m]
            ml = [m for m in memory if m["workload"] == w and m["dtype"] == dt and m["system"] == "libtorch" and "vmhwm_kb" in m]
            if mx and ml:
                v = mx[0]["vmhwm_kb"] / ml[0]["vmhwm_kb"]
                add(f"{w} peak RSS <= LibTorch", dt, v, "<= 1.0", v <= 1.0,
                    f"xgrad {mx[0]['vmhwm_kb'] / 1024:.0f} MiB vs LibTorch {ml[0]['vmhwm_kb'] / 1024:.0f} MiB")
    if 1 in threads and 2 in threads:
        t1 = {(r["config"], r["dtype"]): r for r in rows if r["threads"] == 1}
        for r in rows:
            if r["threads"] != 2 or (r["config"], r["dtype"]) not in t1:
                continue
            a = t1[(r["config"], r["dtype"])]["figures"].get("xgrad", {}).get("median")
            b = r["figures"].get("xgrad", {}).get("median")
            if a and b:
                add("xgrad T=2 never slower than T=1", f"{r['config']} {r['dtype']}", b / a, "<= 1.05", b <= 1.05 * a,
                    "T2/T1 of the medians; 5% band for the noise of single-threaded workloads")
    return t


# ---- output -------------------------------------------------------------------------------------

def fmt_time(s):
    if s is None:
        return "-"
    for unit, f in (("s", 1), ("ms", 1e3), ("us", 1e6), ("ns", 1e9)):
        if s * f >= 1:
            return f"{s * f:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}"


def print_table(rows, out=sys.stdout):
    head = f"{'config':<24}{'dtype':<5}{'T':>2}  {'xgrad':>11}{'LibTorch':>11}{'PyTorch':>11}{'limit':>11}" \
           f"{'x/LT':>7}{'x/PT':>7}{'x/lim':>7}  spread(xgrad)"
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in rows:
        f = r["figures"]
        med = {s: f.get(s, {}).get("median") for s in ("xgrad", "libtorch", "pytorch", "limit")}
        x = f.get("xgrad", {})
        spread = f"{fmt_time(x.get('min'))}..{fmt_time(x.get('max'))}" if x.get("median") else x.get("error", "")[:40]
        line = f"{r['config']:<24}{r['dtype']:<5}{r['threads']:>2}  " + "".join(f"{fmt_time(med[s]):>11}" for s in med)
        line += "".join(f"{fmt_ratio(r['ratios'][k]):>7}" for k in ("xgrad/libtorch", "xgrad/pytorch", "xgrad/limit"))
        print(line + "  " + spread, file=out)


def machine_info(build):
    info = {"host": socket.gethostname(), "platform": platform.platform(), "nproc": os.cpu_count(),
            "python": sys.version.split()[0]}
    try:
        with open("/proc/cpuinfo") as f:
            txt = f.read()
        for line in txt.splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        flags = next((l for l in txt.splitlines() if l.startswith("flags")), "")
        info["avx512f"] = " avx512f" in flags
        info["avx2"] = " avx2" in flags
    except OSError:
        pass
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        info["lscpu"] = {k.strip(): v.strip() for k, v in (l.split(":", 1) for l in lscpu.splitlines() if ":" in l)
                         if k.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "L1d cache", "L2 cache",
                                          "L3 cache", "Hypervisor vendor", "CPU max MHz", "BogoMIPS")}
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
    except OSError:
        pass
    git = lambda *args: subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True).stdout.strip()
    info["xgrad_commit"] = git("rev-parse", "HEAD")
    info["xgrad_branch"] = git("rev-parse", "--abbrev-ref", "HEAD")
    info["xgrad_dirty"] = bool(git("status", "--porcelain", "--untracked-files=no"))
    cache = os.path.join(build, "CMakeCache.txt")
    if os.path.exists(cache):
        keep = ("CMAKE_BUILD_TYPE", "XGRAD_NATIVE", "CMAKE_CXX_COMPILER", "Torch_DIR")
        with open(cache) as f:
            info["cmake"] = {l.split(":", 1)[0]: l.split("=", 1)[1].strip() for l in f
                             if l.split(":", 1)[0] in keep and "=" in l}
    try:
        pkgs = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Version}\n", "libopenblas0-pthread", "libtorch1.13",
                               "libtorch-dev", "python3-torch", "xtensor-dev", "g++-12"], capture_output=True,
                              text=True).stdout
        info["packages"] = dict(l.split(" ", 1) for l in pkgs.splitlines() if " " in l)
    except OSError:
        pass
    return info


EXCLUDE_PIDS = set()  # the workers (ps's %CPU is a lifetime average: idle workers would look busy)


def busy_processes():
    """Processes using CPU besides the benchmark (a 2-core machine shared with others: they explain noise)."""
    try:
        out = subprocess.run(["ps", "-eo", "pid,pcpu,etime,comm", "--sort=-pcpu"], capture_output=True, text=True).stdout
        rows = [l.split(None, 3) for l in out.splitlines()[1:]]
        return [{"pid": int(r[0]), "pcpu": float(r[1]), "etime": r[2], "comm": r[3]} for r in rows
                if len(r) == 4 and float(r[1]) >= 5.0 and int(r[0]) != os.getpid() and int(r[0]) not in EXCLUDE_PIDS][:8]
    except (OSError, ValueError):
        return []


def wait_idle(limit_s, log):
    """Waits (at most limit_s seconds) until the 1-minute load average drops below 0.5."""
    t0 = time.time()
    while time.time() - t0 < limit_s and os.getloadavg()[0] >= 0.5:
        time.sleep(5)
    log(f"load average {os.getloadavg()[0]:.2f} after waiting {time.time() - t0:.0f} s for an idle machine")


def parse_args():
    e = os.environ.get
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=e("BENCH_BUILD", os.path.join(ROOT, "build-bench")))
    p.add_argument("--quick", action="store_true", default=e("BENCH_QUICK", "0") == "1",
                   help="smoke run: f32 only, 2 repetitions, short timings (~2 min)")
    p.add_argument("--rounds", type=int, default=None, help="repetitions of each micro/step workload (default 5)")
    p.add_argument("--epoch-rounds", type=int, default=None, help="timed epochs of W3/W4 (default 4, +1 warm-up)")
    p.add_argument("--threads", default=e("BENCH_THREADS", "1,2"))
    p.add_argument("--dtypes", default=e("BENCH_DTYPES"))
    p.add_argument("--only", default=e("BENCH_ONLY", "W1,W2,W3,W4,W5,W6,W7,S,ACC,MEM"))
    p.add_argument("--acc-seeds", type=int, default=None,
                   help="extra seeds for the W3/W4 accuracy comparison (ACC stage; default 3, 1 with --quick)")
    p.add_argument("--systems", default=e("BENCH_SYSTEMS", "xgrad,libtorch,pytorch,limit"))
    p.add_argument("--settle", type=float, default=float(e("BENCH_SETTLE", "0.1")),
                   help="idle seconds before each heavy run (lets other workers' BLAS threads go to sleep)")
    p.add_argument("--blas-core", default=e("BENCH_BLAS_CORE", "auto"),
                   help="OpenBLAS kernels of every worker: auto (unset OPENBLAS_CORETYPE: OpenBLAS detects the CPU; "
                        "the default), inherit (keep this environment's OPENBLAS_CORETYPE), or a core name (Haswell, ...)")
    p.add_argument("--wait-idle", type=float, default=float(e("BENCH_WAIT_IDLE", "0")),
                   help="wait up to this many seconds for a 1-minute load average below 0.5 before starting")
    p.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    a = p.parse_args()
    a.rounds = a.rounds or int(e("BENCH_ROUNDS", "2" if a.quick else "5"))
    a.epoch_rounds = a.epoch_rounds or int(e("BENCH_EPOCH_ROUNDS", "1" if a.quick else "4"))
    a.acc_seeds = a.acc_seeds if a.acc_seeds is not None else int(e("BENCH_ACC_SEEDS", "1" if a.quick else "3"))
    a.threads = [int(t) for t in a.threads.split(",") if t]
    a.dtypes = (a.dtypes or ("f32" if a.quick else "f32,f64")).split(",")
    a.only = set(a.only.split(","))
    a.systems = a.systems.split(",")
    return a


def main():
    global BLAS_CORE
    a = parse_args()
    BLAS_CORE = a.blas_core
    t_start = time.time()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    logdir = os.path.join(os.path.dirname(os.path.abspath(a.out)), "logs")
    os.makedirs(logdir, exist_ok=True)

    def log(msg):
        print(msg, flush=True)

    if a.wait_idle > 0:
        wait_idle(a.wait_idle, log)
    systems = [s for s in a.systems if available(s, a.build)]
    for s in a.systems:
        if s not in systems:
            log(f"! {s} is not available (not built / not installed): skipped")
    a.systems = systems
    meta = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "args": vars(a).copy(),
            "machine": machine_info(a.build), "loadavg_start": os.getloadavg(),
            "inherited_OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "busy_start": busy_processes()}
    meta["args"]["only"] = sorted(a.only)
    for b in meta["busy_start"]:
        log(f"! busy: {b['comm']} (pid {b['pid']}) uses {b['pcpu']:.0f}% CPU: expect noise, T=2 figures especially")
    log(f"machine: {meta['machine'].get('cpu')} x{meta['machine'].get('nproc')}, load {meta['loadavg_start']}")

    workers = {}
    infos = {}
    for t in a.threads:
        for s in systems:
            w = Worker(s, t, worker_argv(s, a.build), thread_env(t, s), os.path.join(logdir, f"{s}-T{t}.log"))
            workers[(s, t)] = w
            EXCLUDE_PIDS.add(w.proc.pid)
            try:
                infos[f"{s}@T{t}"] = w.call("info", timeout=120)
            except WorkerError as e:
                infos[f"{s}@T{t}"] = {"error": str(e)}
            i = infos[f"{s}@T{t}"]
            b = i.get("blas", {})
            log(f"{s}@T{t}: BLAS {b.get('corename')} ({b.get('parallel')}, {b.get('num_threads')} threads, "
                f"{b.get('library')}); torch threads {i.get('torch_num_threads', '-')}; env "
                + " ".join(f"{k}={v}" for k, v in i.get("env", {}).items() if v))

    plan = make_plan(a)
    rows = []
    current = None
    try:
        for c in plan:
            group = (c["workload"], c["dtype"]) if c["workload"] in ("W3", "W4", "W6") else c["workload"]
            if current is not None and group != current and not (current[0] == "W3" and group[0] == "W4"
                                                                  and current[1] == group[1]):
                for w in workers.values():  # drop models and data sets of the previous group
                    if w.alive:
                        try:
                            w.call("free")
                        except WorkerError:
                            pass
            current = group
            t0 = time.time()
            load0, busy0 = os.getloadavg()[0], busy_processes()
            res = run_config(c, workers, a.threads, log)
            new = build_rows(c, res, a.threads)
            for r in new:  # interference: the other processes that used CPU while this config ran
                r["loadavg_1min"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
                if busy0:
                    r["busy"] = busy0
            rows += new
            for r in new:
                x = r["figures"].get("xgrad", {})
                log(f"{r['config']:<22} {r['dtype']} T={r['threads']}: xgrad {fmt_time(x.get('median'))}, "
                    f"x/LT {fmt_ratio(r['ratios']['xgrad/libtorch'])}, x/PT {fmt_ratio(r['ratios']['xgrad/pytorch'])}, "
                    f"x/lim {fmt_ratio(r['ratios']['xgrad/limit'])}  ({time.time() - t0:.1f}s)")
        accuracy = measure_accuracy(a, workers, log) if "ACC" in a.only and 1 in a.threads else []
    finally:
        for w in workers.values():
            w.close()

    # W4 has the GEMMs of W3: its limit is W3's.
    lim = {(r["dtype"], r["threads"]): r["figures"].get("limit", {}) for r in rows if r["workload"] == "W3"}
    for r in rows:
        if r["workload"] == "W4" and lim.get((r["dtype"], r["threads"])):
            r["figures"]["limit"] = dict(lim[(r["dtype"], r["threads"])], note="W3's GEMM limit (same GEMMs)")
            r["ratios"]["xgrad/limit"] = ratio(r["figures"].get("xgrad", {}).get("median"), r["figures"]["limit"].get("median"))

    memory = measure_memory(a, log) if "MEM" in a.only else []
    targets = evaluate_targets(rows, memory, accuracy, a.threads)
    scaling = [{"config": r["config"], "threads": r["threads"], "batch": r["params"]["batch"], "width": r["params"]["width"],
                "flops": r["flops"], **{f"{s}_s": r["figures"].get(s, {}).get("median") for s in ("xgrad", "libtorch", "pytorch", "limit")},
                "xgrad_gflops": (r["flops"] / r["figures"]["xgrad"]["median"] / 1e9) if r["figures"].get("xgrad", {}).get("median") else None}
               for r in rows if r["workload"] == "S"]
    meta["loadavg_end"] = os.getloadavg()
    meta["busy_end"] = busy_processes()
    meta["total_seconds"] = round(time.time() - t_start, 1)
    result = {"meta": meta, "systems": infos, "descriptions": DESCRIPTIONS,
              "ratio_note": "ratios are time(xgrad)/time(other): < 1 means xgrad is faster",
              "results": rows, "scaling": scaling, "memory": memory, "accuracy": accuracy, "targets": targets}
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)

    print()
    print_table(rows)
    if memory:
        print("\npeak RSS (VmHWM, one process per run, T=1):")
        for m in memory:
            v = f"{m['vmhwm_kb'] / 1024:.0f} MiB (start {m['vmhwm_kb_start'] / 1024:.0f})" if "vmhwm_kb" in m else m.get("error", "")[:60]
            print(f"  {m['workload']} {m['dtype']} {m['system']:<9} {v}")
    print("\ntargets:")
    missed = [t for t in targets if not t["ok"]]
    for t in targets:
        m = t["measured"]
        print(f"  {'ok  ' if t['ok'] else 'MISS'} {t['target']:<52} {t['config']:<26} "
              f"{'-' if m is None else f'{m:.3f}'} (goal {t['goal']}) {t['note']}")
    print(f"\n{len(targets) - len(missed)}/{len(targets)} targets met; results in {a.out}; "
          f"total {meta['total_seconds']} s")


if __name__ == "__main__":
    main()
