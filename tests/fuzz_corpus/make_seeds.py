#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/fuzz_*.cpp) into tests/fuzz_corpus/<target>/.

Seeds are small valid and invalid files in each target's input layout (see the comment at the top of
each fuzz target). Regression inputs found by fuzzing are added by hand as <target>/crash-<what> and
are never overwritten by this script. Standard library only.
"""
import gzip
import json
import os
import struct

ROOT = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def gz(b):
    return gzip.compress(b, mtime=0)


# ---- IDX: option byte (bit 0 gzip, bits 1-2 dtype, bit 3 default cap) + file ---------------------
def idx(code, dims, payload=b""):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


put("idx", "ubyte-1d", b"\x00" + idx(0x08, [5], bytes([0, 1, 127, 128, 255])))
put("idx", "ubyte-images", b"\x00" + idx(0x08, [2, 3, 3], bytes(range(18))))
put("idx", "ubyte-images-gzip", b"\x01" + idx(0x08, [2, 3, 3], bytes(range(18))))
put("idx", "ubyte-as-int64", b"\x06" + idx(0x08, [4], bytes([9, 8, 7, 6])))
put("idx", "sbyte", b"\x00" + idx(0x09, [4], bytes([0, 1, 0x80, 0xFF])))
put("idx", "int16-f64", b"\x04" + idx(0x0B, [2, 2], struct.pack(">4h", 1, -1, 32767, -32768)))
put("idx", "int32", b"\x00" + idx(0x0C, [3], struct.pack(">3i", 7, -7, 2**31 - 1)))
put("idx", "float32-nan-inf", b"\x00" + idx(0x0D, [4], struct.pack(">4f", 1.5, float("nan"), float("inf"), -0.0)))
put("idx", "float64-rank4", b"\x02" + idx(0x0E, [1, 1, 2, 1], struct.pack(">2d", 3.25, -1e300)))
put("idx", "float-as-int64", b"\x06" + idx(0x0D, [1], struct.pack(">f", 2.0)))
put("idx", "empty-dim", b"\x00" + idx(0x08, [0, 28, 28], b""))
put("idx", "raw-gzip-file", b"\x00" + gz(idx(0x08, [3, 2], bytes(range(6)))))
put("idx", "bad-magic", b"\x00" + b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00")
put("idx", "bad-type", b"\x00" + idx(0x0A, [1], b"\x00"))
put("idx", "rank0", b"\x00" + idx(0x08, [], b"\x07"))
put("idx", "rank5", b"\x00" + idx(0x08, [1, 1, 1, 1, 1], b"\x07"))
put("idx", "truncated-header", b"\x00" + idx(0x08, [2, 3])[:9])
put("idx", "truncated-data", b"\x00" + idx(0x08, [2, 3], bytes([1, 2, 3, 4])))
put("idx", "extra-data", b"\x00" + idx(0x08, [2], bytes([1, 2, 3])))
put("idx", "huge-declared", b"\x00" + idx(0x08, [2**31, 2**31], b"\x01"))
put("idx", "huge-declared-gzip-cap", b"\x09" + idx(0x0E, [2**32 - 1] * 4, b"\x01"))
put("idx", "large-declared-gzip", b"\x01" + idx(0x08, [60000, 28, 28], b"\x01\x02"))

# ---- CSV: option bytes o0, o1 + file ----------------------------------------------------------
# o0: bit 0 gzip, bit 1 header, bits 2-3 delimiter (, space ; tab), bits 4-5 target (-1, 0, none,
#     "y"), bit 6 float64, bit 7 int64 target.  o1: bits 0-1 skip_rows, bit 2 load_sklearn_csv.
def csv(o0, o1, text):
    return bytes([o0, o1]) + text.encode()


put("csv", "header-last-target", csv(0x02, 0, "a,b,y\n1.0,2.5,0\n-3,4e2,1\n"))
put("csv", "header-named-target", csv(0x32, 0, "y,a,b\n1,2,3\n4,5,6\n"))
put("csv", "no-header-first-target", csv(0x10, 0, "0,1.5,2\n1,nan,-inf\n"))
put("csv", "no-target-f64", csv(0x60, 0, "1,2,3\n4,5,6\n"))
put("csv", "quoted-crlf-blank", csv(0x02, 0, '"a","b ""x""",y\r\n\r\n "1" , 2 ,"3"\r\n4,5,6\r\n'))
put("csv", "whitespace", csv(0x04, 0, "  1 2\t3\n4   5 6  \n"))
put("csv", "semicolon", csv(0x0A, 0, "a;y\n1;2\n"))
put("csv", "tab-skip", csv(0x0E, 1, "comment line\na\tb\n1\t2\n"))
put("csv", "int64-target", csv(0x82, 0, "a,y\n1,2\n3,4\n"))
put("csv", "int64-target-fraction", csv(0x82, 0, "a,y\n1,2.5\n"))
put("csv", "sklearn", csv(0x00, 4, "3,2,setosa,versicolor\n5.1,3.5,0\n4.9,3.0,1\n4.7,3.2,0\n"))
put("csv", "sklearn-bad-label", csv(0x00, 4, "1,1,a\n1,5\n"))
put("csv", "sklearn-bad-count", csv(0x00, 4, "9,1\n1,5\n"))
put("csv", "gzip", csv(0x03, 0, "a,y\n1,0\n2,1\n"))
put("csv", "raw-gzip-file", bytes([0x02, 0]) + gz(b"a,y\n1,0\n2,1\n"))
put("csv", "unterminated-quote", csv(0x02, 0, 'a,y\n"1,2\n'))
put("csv", "ragged", csv(0x02, 0, "a,b,y\n1,2\n"))
put("csv", "not-a-number", csv(0x02, 0, "a,y\n1,x\n"))
put("csv", "empty-cell", csv(0x02, 0, "a,y\n1,\n"))
put("csv", "header-only", csv(0x02, 0, "a,y\n"))
put("csv", "empty", csv(0x00, 0, ""))
put("csv", "unknown-name", csv(0x32, 0, "a,b\n1,2\n"))
put("csv", "huge-numbers", csv(0x82, 0, "a,y\n1e308,9007199254740993\n-1e400,1e19\n"))
with open("/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv", "rb") as f:
    iris = f.read()
put("csv", "iris-sklearn", bytes([0x00, 4]) + b"".join(iris.splitlines(True)[:12]))


# ---- safetensors -----------------------------------------------------------------------------
def st(entries, metadata=None, pad=True, raw_header=None):
    """entries: list of (name, dtype, shape, bytes). Returns a safetensors file."""
    header, data = {}, b""
    for name, dtype, shape, payload in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    if metadata is not None:
        header["__metadata__"] = metadata
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def f64(*v):
    return struct.pack("<%dd" % len(v), *v)


def i64(*v):
    return struct.pack("<%dq" % len(v), *v)


put("safetensors", "f32-f64-i64", st([("w", "F32", [2, 2], f32(1, 2, 3, 4)), ("b", "F64", [2], f64(0.5, -0.5)),
                                      ("n", "I64", [], i64(42))], {"epoch": "3"}))
put("safetensors", "narrow-dtypes", st([("a", "F16", [2], struct.pack("<2H", 0x3C00, 0x7E00)),
                                        ("b", "BF16", [1], struct.pack("<H", 0x3F80)),
                                        ("c", "BOOL", [2], b"\x00\x01"), ("d", "U8", [1], b"\xff"),
                                        ("e", "I8", [1], b"\x80"), ("f", "U16", [1], b"\xff\xff"),
                                        ("g", "I16", [1], b"\x00\x80"), ("h", "U32", [1], b"\xff\xff\xff\xff"),
                                        ("i", "I32", [1], b"\x00\x00\x00\x80")]))
put("safetensors", "empty-and-0d", st([("e", "F32", [0, 3], b""), ("s", "F64", [], f64(1.0))]))
put("safetensors", "empty-file-header", st([]))
put("safetensors", "escapes", st([], raw_header=b'{"w\\u00e9\\n\\"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                                b'"__metadata__":{"k\\ud83d\\ude00":"v"}}') + f32(1))
put("safetensors", "overlap", st([], raw_header=b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                                b'"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}') + f32(1))
put("safetensors", "hole", st([], raw_header=b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}') + f32(1, 2))
put("safetensors", "shape-mismatch", st([], raw_header=b'{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,4]}}') + f32(1))
put("safetensors", "huge-shape", st([], raw_header=b'{"a":{"dtype":"F64","shape":[4294967296,4294967296],'
                                                    b'"data_offsets":[0,8]}}') + f64(1))
put("safetensors", "huge-header-len", struct.pack("<Q", 2**63) + b"{}      ")
put("safetensors", "bad-json", st([], raw_header=b'{"a":{"dtype":"F32",,}}'))
put("safetensors", "deep-json", st([], raw_header=b'{"__metadata__":' + b"[" * 40 + b"]" * 40 + b"}"))
put("safetensors", "bad-utf8", st([], raw_header=b'{"\xff":1}'))
put("safetensors", "unknown-dtype", st([("a", "F8_E4M3", [1], b"\x00")]))
put("safetensors", "truncated", st([("w", "F32", [4], f32(1, 2, 3, 4))])[:-3])
put("safetensors", "too-short", b"\x08\x00\x00")

# ---- state_dict: safetensors holding "model.*", "optim.*" tensors and "optim.*" metadata ------------
def model_entries(prefix="model."):
    return [(prefix + "0.weight", "F32", [4, 3], f32(*[0.1 * i for i in range(12)])),
            (prefix + "0.bias", "F32", [4], f32(0, 0, 0, 0)),
            (prefix + "1.weight", "F32", [4], f32(1, 1, 1, 1)),
            (prefix + "1.bias", "F32", [4], f32(0, 0, 0, 0)),
            (prefix + "1.running_mean", "F32", [4], f32(0, 0, 0, 0)),
            (prefix + "1.running_var", "F32", [4], f32(1, 1, 1, 1)),
            (prefix + "1.num_batches_tracked", "I64", [], i64(5)),
            (prefix + "3.weight", "F32", [2, 4], f32(*[0.05 * i for i in range(8)])),
            (prefix + "3.bias", "F32", [2], f32(0.5, -0.5))]


SHAPES = [[4, 3], [4], [4], [4], [2, 4], [2]]


def optim_state(kind, options, buffers, step=3):
    meta = {"optimizer": kind, "optim.num_param_groups": "1", "optim.param_groups.0.num_params": "6"}
    for k, v in options.items():
        meta["optim.param_groups.0." + k] = v
    entries = []
    for i, shape in enumerate(SHAPES):
        meta["optim.state.%d.step" % i] = str(step)
        n = 1
        for s in shape:
            n *= s
        for b in buffers:
            entries.append(("optim.state.%d.%s" % (i, b), "F32", shape, f32(*[0.01] * n)))
    return entries, meta


put("state_dict", "model-only", st(model_entries()))
put("state_dict", "model-nonstrict-partial", st(model_entries()[:3], {"strict": "0"}))
put("state_dict", "model-f64-values", st([(n, "F64" if d == "F32" else d, s, f64(*struct.unpack("<%df" % (len(b) // 4), b))
                                           if d == "F32" else b) for n, d, s, b in model_entries()]))
put("state_dict", "model-wrong-shape", st([("model.0.weight", "F32", [3, 4], f32(*[0.0] * 12))] + model_entries()[1:]))
put("state_dict", "model-unexpected", st(model_entries() + [("model.9.weight", "F32", [1], f32(1))]))
put("state_dict", "model-nan-count", st(model_entries()[:6] + [("model.1.num_batches_tracked", "F32", [], f32(float("nan")))]
                                        + model_entries()[7:]))
sgd = optim_state("sgd", {"lr": "0.1", "momentum": "0.9", "dampening": "0", "weight_decay": "0", "nesterov": "0",
                          "maximize": "0", "momentum_style": "0"}, ["momentum_buffer"])
put("state_dict", "sgd", st(model_entries() + sgd[0], sgd[1]))
adam = optim_state("adam", {"lr": "0.001", "beta1": "0.9", "beta2": "0.999", "eps": "1e-8", "weight_decay": "0",
                            "amsgrad": "1", "maximize": "0"}, ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"])
put("state_dict", "adam", st(model_entries() + adam[0], adam[1]))
adamw = optim_state("adamw", {"lr": "0.001", "beta1": "0.9", "beta2": "0.999", "eps": "1e-8", "weight_decay": "0.01",
                              "amsgrad": "0", "maximize": "0"}, ["exp_avg", "exp_avg_sq"])
put("state_dict", "adamw", st(model_entries() + adamw[0], adamw[1]))
rms = optim_state("rmsprop", {"lr": "0.01", "alpha": "0.99", "eps": "1e-8", "weight_decay": "0", "momentum": "0.9",
                              "centered": "1", "maximize": "0"}, ["square_avg", "momentum_buffer", "grad_avg"])
put("state_dict", "rmsprop", st(model_entries() + rms[0], rms[1]))
ada = optim_state("adagrad", {"lr": "0.01", "lr_decay": "0", "weight_decay": "0", "initial_accumulator_value": "0",
                              "eps": "1e-10", "maximize": "0"}, ["sum"])
put("state_dict", "adagrad", st(model_entries() + ada[0], ada[1]))
bad = optim_state("adam", {"lr": "-1", "beta1": "2", "beta2": "nan", "eps": "0", "weight_decay": "0", "amsgrad": "3",
                           "maximize": "0"}, ["exp_avg", "bogus"], step=-2)
put("state_dict", "adam-bad-options", st(model_entries() + bad[0], bad[1]))
print("seeds written to", ROOT)

# ---- regression inputs for bugs fixed in the library (found in review, replayed under ASan + UBSan) --
def regress(target, name, data):
    d = os.path.join(ROOT, target)
    with open(os.path.join(d, "regress-" + name), "wb") as f:
        f.write(data)


# An empty tensor whose other sizes multiply past 2^63: shape_numel and contiguous_strides overflowed
# (signed overflow, undefined behaviour) before they saturated.
regress("safetensors", "empty-shape-overflow",
        st([], raw_header=b'{"e":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}'))
regress("state_dict", "empty-shape-overflow",
        st(model_entries() + [("optim.state.0.exp_avg", "F32", [2**40, 2**40, 0], b"")], {"optimizer": "adam"}))
# A NaN (and a 1e30) loaded into BatchNorm's int64 counter: the float -> int64 conversion was undefined
# behaviour; load_state_dict now refuses it, naming the key.
regress("state_dict", "nan-into-int64-buffer",
        st(model_entries()[:6] + [("model.1.num_batches_tracked", "F64", [], f64(float("nan")))] + model_entries()[7:]))
regress("state_dict", "huge-into-int64-buffer",
        st(model_entries()[:6] + [("model.1.num_batches_tracked", "F32", [], f32(1e30))] + model_entries()[7:], {"strict": "0"}))
print("regression inputs written")
