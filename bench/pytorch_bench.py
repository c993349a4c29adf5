#!/usr/bin/env python3
"""PyTorch side of the side-by-side benchmarks: the same workloads as bench/xgrad_bench.cpp, written
as a PyTorch user would, in their best configuration (torch.set_num_threads(T) with OMP_NUM_THREADS =
OPENBLAS_NUM_THREADS = T and OMP_WAIT_POLICY=PASSIVE set by the driver; zero_grad(set_to_none=True);
batches gathered by indexing in-memory tensors, not through DataLoader workers).

Speaks the line protocol of bench/common.hpp on stdin/stdout; `pytorch_bench.py mem W3 f32 steps=100`
runs one workload in this fresh process and prints its peak RSS."""

import ctypes
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
DTYPES = {"f32": torch.float32, "f64": torch.float64}


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def blas_info():
    """The OpenBLAS mapped into this process (the one torch calls) and what it reports."""
    path = ""
    with open("/proc/self/maps") as f:
        for line in f:
            if "libopenblas" in line and "/" in line:
                path = line[line.index("/"):].strip()
                break
    info = {"library": path}
    if not path:
        info["error"] = "no OpenBLAS mapped"
        return info
    lib = ctypes.CDLL(path)
    lib.openblas_get_corename.restype = ctypes.c_char_p
    lib.openblas_get_config.restype = ctypes.c_char_p
    info["corename"] = lib.openblas_get_corename().decode()
    info["config"] = lib.openblas_get_config().decode()
    info["num_threads"] = lib.openblas_get_num_threads()
    p = lib.openblas_get_parallel()
    info["parallel"] = {0: "sequential", 1: "pthreads", 2: "openmp"}.get(p, str(p))
    return info


ENV_KEYS = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS", "GOMP_SPINCOUNT",
            "OMP_PROC_BIND", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE", "LD_PRELOAD"]


def time_loop(step, warmup, min_time, min_iters=1):
    t0 = time.perf_counter()
    n = 0
    while True:
        step()
        n += 1
        if time.perf_counter() - t0 >= warmup:
            break
    iters = 0
    t0 = time.perf_counter()
    elapsed = 0.0
    while elapsed < min_time or iters < min_iters:
        step()
        iters += 1
        elapsed = time.perf_counter() - t0
    return elapsed / iters, iters


class Stepped:
    def run(self, kv):
        sec, iters = time_loop(self.step, float(kv.get("warmup", 0.05)), float(kv.get("time", 0.2)),
                               int(float(kv.get("min_iters", 1))))
        return {"sec": sec, "iters": iters, "loss": self.last_loss()}

    def last_loss(self):
        return 0.0

    def steps(self, n):
        for _ in range(n):
            self.step()


class FixedBatch(Stepped):
    def __init__(self, net, x, y, lr, momentum, classify=False):
        self.net, self.x, self.y, self.classify = net, x, y, classify
        self.opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
        self.loss = None

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        out = self.net(self.x)
        self.loss = F.cross_entropy(out, self.y) if self.classify else F.mse_loss(out, self.y)
        self.loss.backward()
        self.opt.step()

    def last_loss(self):
        return float(self.loss) if self.loss is not None else 0.0


def make_w1(dt):
    net = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid()).to(dt)
    x = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dt)
    y = torch.tensor([[0], [1], [1], [0]], dtype=dt)
    return FixedBatch(net, x, y, 0.5, 0.9)


class Scalar(Stepped):
    def __init__(self, dt):
        self.a = torch.full((1,), 0.3, dtype=dt, requires_grad=True)
        self.b = torch.full((1,), -0.7, dtype=dt, requires_grad=True)

    def step(self):
        (self.a * self.b + self.a).tanh().sum().backward()

    def last_loss(self):
        return float(self.a.grad)


def make_w5(dt):
    layers = []
    for _ in range(50):
        layers += [nn.Linear(32, 32), nn.Tanh()]
    return FixedBatch(nn.Sequential(*layers).to(dt), torch.randn(32, 32, dtype=dt), torch.randn(32, 32, dtype=dt), 0.01, 0.9)


def make_w6(dt):
    return FixedBatch(nn.Sequential(nn.Linear(4096, 4096)).to(dt), torch.randn(256, 4096, dtype=dt),
                      torch.randn(256, 4096, dtype=dt), 1e-3, 0.9)


def make_scale(dt, batch, width):
    net = nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width // 2), nn.ReLU(),
                        nn.Linear(width // 2, 10)).to(dt)
    return FixedBatch(net, torch.randn(batch, 784, dtype=dt), torch.randint(0, 10, (batch,)), 0.01, 0.9, classify=True)


def read_idx_gz(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    rank = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


_fashion = {}


def fashion(dt):
    if dt in _fashion:
        return _fashion[dt]
    d = os.environ.get("XGRAD_BENCH_DATA", "/usr/share/datasets/fashion-mnist")

    def prep(name):
        x = torch.from_numpy(read_idx_gz(os.path.join(d, name)).reshape(-1, 784).astype(np.float32))
        return x.div_(255.0).sub_(FASHION_MEAN).div_(FASHION_STD).to(dt).contiguous()

    def labels(name):
        return torch.from_numpy(read_idx_gz(os.path.join(d, name)).astype(np.int64))

    _fashion[dt] = (prep("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
                    prep("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))
    return _fashion[dt]


class Mnist:
    def __init__(self, dt, flagship):
        self.train_x, self.train_y, self.test_x, self.test_y = fashion(dt)
        if flagship:
            self.net = nn.Sequential(nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2),
                                     nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.2),
                                     nn.Linear(128, 10)).to(dt)
        else:
            self.net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                     nn.Linear(128, 10)).to(dt)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.01, momentum=0.9)
        self.epochs, self.loss = 0, 0.0
        self.perm, self.pos = None, 0

    def train_step(self, idx):
        xb, yb = self.train_x[idx], self.train_y[idx]
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.net(xb), yb)
        loss.backward()
        self.opt.step()
        self.loss = loss.item()

    def run(self, kv):
        self.net.train()
        n = self.train_x.shape[0]
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        steps = 0
        for s in range(0, n, 128):
            self.train_step(perm[s:s + 128])
            steps += 1
        sec = time.perf_counter() - t0
        self.epochs += 1
        return {"sec": sec, "iters": steps, "loss": self.loss}

    def eval(self):
        self.net.eval()
        with torch.no_grad():
            pred = self.net(self.test_x).argmax(1)
        self.net.train()
        return {"acc": float((pred == self.test_y).double().mean()), "epochs": self.epochs}

    def steps(self, count):
        n = self.train_x.shape[0]
        for _ in range(count):
            if self.perm is None or self.pos >= n:
                self.perm, self.pos = torch.randperm(n), 0
            self.train_step(self.perm[self.pos:self.pos + 128])
            self.pos += 128


class Op(Stepped):
    def __init__(self, dt, op, grad):
        self.op, self.grad, self.gouts = op, grad, None
        if op == "matmul_w3":
            dims = [784, 256, 128, 10]
            self.mx = [torch.randn(128, dims[i], dtype=dt, requires_grad=grad) for i in range(3)]
            self.mw = [torch.randn(dims[i], dims[i + 1], dtype=dt, requires_grad=grad) for i in range(3)]
            self.leaves = self.mx + self.mw
        else:
            self.x = torch.randn(1000, 1000, dtype=dt, requires_grad=grad)
            self.y = torch.randn(1000, 1000, dtype=dt, requires_grad=grad)
            self.b = torch.randn(1000, dtype=dt, requires_grad=grad)
            self.labels = torch.randint(0, 1000, (1000,))
            self.leaves = [self.x, self.y, self.b]
        self.fwd = {
            "add": lambda: [self.x + self.y],
            "add_bcast": lambda: [self.x + self.b],
            "mul": lambda: [self.x * self.y],
            "relu": lambda: [torch.relu(self.x)],
            "sigmoid": lambda: [torch.sigmoid(self.x)],
            "exp": lambda: [torch.exp(self.x)],
            "sum0": lambda: [self.x.sum(0)],
            "sum1": lambda: [self.x.sum(1)],
            "softmax": lambda: [torch.softmax(self.x, 1)],
            "lsm_nll": lambda: [F.nll_loss(F.log_softmax(self.x, 1), self.labels)],
            "matmul_w3": lambda: [torch.matmul(a, w) for a, w in zip(self.mx, self.mw)],
        }[op]

    def step(self):
        outs = self.fwd()
        if not self.grad:
            return
        if self.gouts is None:
            self.gouts = [torch.ones_like(o) for o in outs]
        for o, g in zip(outs, self.gouts):
            o.backward(g)
        for t in self.leaves:
            t.grad = None


_cache = {}


def make(w, dt, kv):
    if w == "W1":
        return make_w1(dt)
    if w == "W2":
        return Scalar(dt)
    if w == "W3":
        return Mnist(dt, False)
    if w == "W4":
        return Mnist(dt, True)
    if w == "W5":
        return make_w5(dt)
    if w == "W6":
        return make_w6(dt)
    if w == "W7":
        return Op(dt, kv.get("op", "add"), float(kv.get("grad", 0)) != 0)
    if w == "S":
        return make_scale(dt, int(float(kv.get("batch", 128))), int(float(kv.get("width", 256))))
    raise ValueError("unknown workload " + w)


def get(words, kv):
    key = " ".join(words[1:3] + [kv.get(p, "") for p in ("op", "grad", "batch", "width", "seed")])
    if key not in _cache:
        torch.manual_seed(int(float(kv.get("seed", 0))))
        if words[2] not in DTYPES:
            raise ValueError("unknown dtype " + words[2])
        _cache[key] = make(words[1], DTYPES[words[2]], kv)
    return _cache[key]


def parse(tokens):
    words, kv = [], {}
    for t in tokens:
        if "=" in t:
            k, v = t.split("=", 1)
            kv[k] = v
        else:
            words.append(t)
    return words, kv


def info(threads):
    return {
        "system": "pytorch",
        "version": torch.__version__,
        "python": sys.version.split()[0],
        "api": "Python (torch.nn, torch.optim.SGD, tensor-indexed batches)",
        "threads_requested": threads,
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "parallel_info": torch.__config__.parallel_info(),
        "blas": blas_info(),
        "env": {k: os.environ.get(k) for k in ENV_KEYS},
        "vmhwm_kb": status_kb("VmHWM"),
    }


def main():
    words, kv = parse(sys.argv[1:])
    threads = int(float(kv.get("threads", 1)))
    torch.set_num_threads(threads)
    if words and words[0] == "mem":
        before = status_kb("VmHWM")
        w = get(["run"] + words[1:], kv)
        w.steps(int(float(kv.get("steps", 100))))
        print(json.dumps({"system": "pytorch", "vmhwm_kb_start": before, "vmhwm_kb": status_kb("VmHWM"),
                          "vmrss_kb": status_kb("VmRSS")}), flush=True)
        return
    for line in sys.stdin:
        words, kv = parse(line.split())
        if not words:
            continue
        verb = words[0]
        if verb == "quit":
            break
        try:
            if verb == "info":
                out = info(threads)
            elif verb == "run":
                out = get(words, kv).run(kv)
            elif verb == "eval":
                out = get(words, kv).eval()
            elif verb == "free":
                _cache.clear()
                _fashion.clear()
                out = {"ok": True}
            else:
                out = {"error": "unknown command " + verb}
        except Exception as e:  # noqa: BLE001 - reported to the driver, the worker keeps serving
            out = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
