// Weights files (save_weights / load_weights): round trips, errors, training checkpoints, and a model
// exchanged with Python in both directions: numpy reads the weights xgrad wrote and reproduces the model's
// predictions with its own forward pass; numpy writes weights and predictions, xgrad loads them and
// predicts the same. The optimizer state of a training checkpoint is read back by Python too.
#include <xgrad/nn/nn.hpp>
#include <xgrad/optim/optim.hpp>
#include <xgrad/train/train.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "data/temp_dir.hpp"
#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;
using xgrad::testing::TempDir;

namespace {

const char* kPython = "/usr/bin/python3";

// Linear(4, 8) -> BatchNorm1d(8) -> ReLU -> Linear(8, 3): parameters, buffers and an int64 buffer.
std::shared_ptr<nn::Sequential> make_model(std::uint64_t seed, Dtype dtype = kFloat32) {
  manual_seed(seed);
  auto m = std::make_shared<nn::Sequential>(nn::Linear(4, 8), nn::BatchNorm1d(8), nn::ReLU(), nn::Linear(8, 3));
  m->to(dtype);
  return m;
}

std::vector<double> flat_state(const nn::Module& m) {
  std::vector<double> out;
  for (const auto& item : m.state_dict())
    for (double v : item.value.to_vector<double>()) out.push_back(v);
  return out;
}

bool have_numpy() {
  return ::access(kPython, X_OK) == 0 && std::system(fmt::format("{} -c 'import numpy' >/dev/null 2>&1", kPython).c_str()) == 0;
}

// A safetensors reader and writer in numpy (no safetensors package needed), and the model's forward pass
// in float64: x·W0ᵀ + b0 -> (h - running_mean)/√(running_var + 1e-5)·γ + β -> relu -> ·W3ᵀ + b3.
const char* kNumpyLib = R"PY(
import json, struct, sys
import numpy as np
CODES = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}
def load(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[b:end], dtype=CODES[e["dtype"]]).reshape(e["shape"])
    return out, meta, {k: e["dtype"] for k, e in header.items()}
def save(path, tensors, meta=None):
    header, data = {}, b""
    for name, a in tensors.items():
        code = {"float32": "F32", "float64": "F64", "int64": "I64"}[a.dtype.name]
        raw = np.ascontiguousarray(a, dtype=CODES[code]).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)
def forward(w, x):
    f = lambda k: w[k].astype(np.float64)
    h = x.astype(np.float64) @ f("0.weight").T + f("0.bias")
    h = (h - f("1.running_mean")) / np.sqrt(f("1.running_var") + 1e-5) * f("1.weight") + f("1.bias")
    h = np.maximum(h, 0.0)
    return h @ f("3.weight").T + f("3.bias")
)PY";

int run_python(const TempDir& dir, const std::string& name, const std::string& body, const std::string& args, std::string* output) {
  testing::write_bytes(dir.file(name), std::string(kNumpyLib) + body);
  const std::string log = dir.file(name + ".log");
  const int rc = std::system(fmt::format("{} {} {} > {} 2>&1", kPython, dir.file(name), args, log).c_str());
  *output = testing::read_bytes(log);
  return rc;
}

}  // namespace

TEST_CASE("save_weights / load_weights: bit-exact round trip into another model, dtype conversion") {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  auto model = make_model(1);
  {
    NoGradGuard g;
    (*model)(randn({6, 4}));  // training-mode forward: running statistics and the int64 counter move
  }
  train::save_weights(path, *model, {{"note", "test"}});
  const train::Checkpoint raw = train::load_safetensors(path);
  CHECK(raw.metadata == train::Metadata{{"note", "test"}});
  CHECK(raw.tensors.size() == model->state_dict().size());
  CHECK(raw.tensors.at("1.num_batches_tracked").dtype() == kInt64);
  CHECK(raw.tensors.at("0.weight").shape() == Shape{8, 4});  // (out_features, in_features)

  auto other = make_model(2);
  CHECK(flat_state(*other) != flat_state(*model));
  const nn::LoadStateDictResult r = train::load_weights(path, *other);
  CHECK(r.missing_keys.empty());
  CHECK(r.unexpected_keys.empty());
  CHECK(flat_state(*other) == flat_state(*model));
  // the tensors were copied into, not replaced: an optimizer built before the load keeps working
  auto third = make_model(3);
  const Tensor w_before = third->named_parameters().at("0.weight");
  train::load_weights(path, *third);
  CHECK(third->named_parameters().at("0.weight").is_same(w_before));

  // a float32 file into a float64 model: converted on load
  auto wide = make_model(4, kFloat64);
  train::load_weights(path, *wide);
  CHECK(wide->named_parameters().at("0.weight").dtype() == kFloat64);
  CHECK(flat_state(*wide) == flat_state(*model));
}

TEST_CASE("load_weights: errors name the file and every bad key, and change nothing") {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  auto model = make_model(1);
  train::save_weights(path, *model);

  manual_seed(5);
  nn::Sequential wider(nn::Linear(5, 8), nn::BatchNorm1d(8), nn::ReLU(), nn::Linear(8, 3), nn::Linear(3, 2));
  const std::vector<double> before = flat_state(wider);
  check_throws_with<ValueError>([&] { train::load_weights(path, wider); },
                                {"load_weights: '" + path + "'", "missing keys: '4.weight', '4.bias'",
                                 "'0.weight' expected shape (8, 5), got (8, 4)"});
  CHECK(flat_state(wider) == before);

  // non-strict: the keys on either side that do not match are returned; shapes must still match
  manual_seed(6);
  nn::Sequential prefix(nn::Linear(4, 8), nn::BatchNorm1d(8));
  const nn::LoadStateDictResult r = train::load_weights(path, prefix, /*strict=*/false);
  CHECK(r.missing_keys.empty());
  CHECK(r.unexpected_keys == std::vector<std::string>{"3.bias", "3.weight"});  // the file's order: by name
  CHECK(prefix.named_parameters().at("0.weight").to_vector<float>() == model->named_parameters().at("0.weight").to_vector<float>());
  check_throws_with<ValueError>([&] { train::load_weights(path, prefix); }, {"unexpected keys: '3.bias', '3.weight'"});

  check_throws_with<IOError>([&] { train::load_weights(dir.file("missing.safetensors"), prefix); }, {"missing.safetensors"});
  testing::write_bytes(dir.file("short.safetensors"), testing::read_bytes(path).substr(0, 40));
  check_throws_with<IOError>([&] { train::load_weights(dir.file("short.safetensors"), prefix, false); }, {"short.safetensors"});
}

TEST_CASE("load_weights: reads the model out of a training checkpoint") {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  auto model = make_model(1);
  optim::Adam adam(model->parameters(), optim::AdamOptions(0.01));
  (*model)(randn({6, 4})).square().mean().backward();
  adam.step();
  train::save_checkpoint(path, *model, adam, {{"epoch", 1.0}});
  auto other = make_model(2);
  train::load_weights(path, *other);
  CHECK(flat_state(*other) == flat_state(*model));
}

TEST_CASE("weights files: numpy reproduces xgrad's predictions, and xgrad reproduces numpy's") {
  if (!have_numpy()) {
    MESSAGE("skipped: " << kPython << " with numpy is missing");
    return;
  }
  TempDir dir;
  std::string out;

  // xgrad -> Python: a model with trained running statistics, in eval mode.
  auto model = make_model(11);
  optim::SGD sgd(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  for (int step = 0; step < 3; ++step) {
    sgd.zero_grad();
    (*model)(randn({16, 4}) * 2.0 + 1.0).square().mean().backward();
    sgd.step();
  }
  model->eval();
  const Tensor x = randn({5, 4});
  Tensor y;
  {
    NoGradGuard g;
    y = (*model)(x);
  }
  train::save_weights(dir.file("xg_weights.safetensors"), *model);
  train::save_safetensors(dir.file("xg_io.safetensors"), {{"x", x}, {"y", y}});
  const std::string reader = R"PY(
w, meta, dtypes = load(sys.argv[1])
io, _, _ = load(sys.argv[2])
keys = {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
        "3.weight", "3.bias"}
assert set(w) == keys, sorted(w)
assert w["0.weight"].shape == (8, 4) and w["3.weight"].shape == (3, 8), (w["0.weight"].shape, w["3.weight"].shape)
assert dtypes["1.num_batches_tracked"] == "I64" and int(w["1.num_batches_tracked"]) == 3, w["1.num_batches_tracked"]
assert all(dtypes[k] == "F32" for k in keys - {"1.num_batches_tracked"}), dtypes
pred = forward(w, io["x"])
err = np.max(np.abs(pred - io["y"].astype(np.float64)))
assert err < 1e-5, (err, pred, io["y"])
print("OK", err)
)PY";
  int rc = run_python(dir, "reader.py", reader, dir.file("xg_weights.safetensors") + " " + dir.file("xg_io.safetensors"), &out);
  INFO("python output: " << out);
  CHECK(rc == 0);
  CHECK(out.rfind("OK", 0) == 0);

  // Python -> xgrad: numpy draws the weights (float64) and computes the predictions.
  const std::string writer = R"PY(
rng = np.random.default_rng(7)
w = {"0.weight": rng.normal(size=(8, 4)), "0.bias": rng.normal(size=8), "1.weight": rng.uniform(0.5, 1.5, 8),
     "1.bias": rng.normal(size=8), "1.running_mean": rng.normal(size=8), "1.running_var": rng.uniform(0.5, 2.0, 8),
     "1.num_batches_tracked": np.array(42, dtype=np.int64), "3.weight": rng.normal(size=(3, 8)), "3.bias": rng.normal(size=3)}
x = rng.normal(size=(6, 4))
save(sys.argv[1], w, {"format": "pt"})
save(sys.argv[2], {"x": x, "y": forward(w, x)})
print("written")
)PY";
  rc = run_python(dir, "writer.py", writer, dir.file("py_weights.safetensors") + " " + dir.file("py_io.safetensors"), &out);
  INFO("python output: " << out);
  REQUIRE(rc == 0);
  const train::Checkpoint io = train::load_safetensors(dir.file("py_io.safetensors"));
  for (Dtype dtype : {kFloat64, kFloat32}) {
    auto loaded = make_model(12, dtype);
    train::load_weights(dir.file("py_weights.safetensors"), *loaded);
    CHECK(loaded->buffer("1.num_batches_tracked").item<std::int64_t>() == 42);
    const Tensor pred = train::predict(*loaded, io.tensors.at("x").to(dtype));
    const std::vector<double> got = pred.to_vector<double>(), want = io.tensors.at("y").to_vector<double>();
    REQUIRE(got.size() == want.size());
    const double tol = dtype == kFloat64 ? 1e-12 : 1e-5;
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(std::abs(got[i] - want[i]) <= tol * (1.0 + std::abs(want[i])));
  }
}

TEST_CASE("training checkpoints: Python reads the optimizer state next to the weights") {
  if (!have_numpy()) {
    MESSAGE("skipped: " << kPython << " with numpy is missing");
    return;
  }
  TempDir dir;
  auto model = make_model(21, kFloat64);
  optim::SGD sgd(model->parameters(), optim::SGDOptions(0.05).momentum(0.9).nesterov(true));
  for (int step = 0; step < 4; ++step) {
    sgd.zero_grad();
    (*model)(randn({8, 4}, kFloat64)).square().mean().backward();
    sgd.step();
  }
  const std::string path = dir.file("ckpt.safetensors");
  train::save_checkpoint(path, *model, sgd, {{"epoch", 4.0}});
  // Python pairs state.<i>.momentum_buffer with the i-th parameter (model.parameters() order) and prints
  // every buffer's sum with 17 significant digits.
  const std::string reader = R"PY(
t, meta, _ = load(sys.argv[1])
assert meta["format"] == "xgrad.training_checkpoint" and meta["optimizer"] == "SGD", meta
params = ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]
assert float(t["optimizer.scalars.param_groups.0.lr"]) == 0.05
assert float(t["optimizer.scalars.param_groups.0.nesterov"]) == 1.0
assert float(t["extra.epoch"]) == 4.0
for i, name in enumerate(params):
    buf = t[f"optimizer.tensors.state.{i}.momentum_buffer"]
    assert buf.shape == t["model." + name].shape, (name, buf.shape)
    assert float(t[f"optimizer.scalars.state.{i}.step"]) == 4.0
    print(name, repr(float(buf.sum())))
)PY";
  std::string out;
  const int rc = run_python(dir, "opt.py", reader, path, &out);
  INFO("python output: " << out);
  REQUIRE(rc == 0);
  std::istringstream lines(out);
  std::size_t i = 0;
  const auto params = model->named_parameters();
  for (std::string name; lines >> name; ++i) {
    double py_sum = 0.0;
    lines >> py_sum;
    REQUIRE(i < params.size());
    CHECK(name == params.keys()[i]);
    const double ours = sgd.state_buffer(params.values()[i], "momentum_buffer").sum().item<double>();
    CHECK(std::abs(py_sum - ours) <= 1e-12 * (1.0 + std::abs(ours)));
  }
  CHECK(i == params.size());
}
