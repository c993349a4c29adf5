// Bad input gets a clear error: one table of misuse cases across the library. Each row names the
// exception type and the pieces of text its message must contain: the op (or function) name, the
// offending values (shapes, dtypes, labels, option values, file names), and for ops the user's call
// site (this file), which every public op appends.
//
// A row fails when the call does not throw, throws another type (including a non-xgrad exception
// such as std::bad_alloc), or the message lacks a piece.
#include <xgrad/nn/nn.hpp>
#include <xgrad/autograd/threads.hpp>
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <typeinfo>

#include "data/temp_dir.hpp"
#include "reliability/reliability_util.hpp"
#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::TempDir;

namespace {

enum class Kind { shape, dtype, index, value, graph, io, anomaly };

const char* kind_name(Kind k) {
  constexpr const char* names[] = {"ShapeError", "DtypeError", "IndexError", "ValueError", "GraphError", "IOError", "AnomalyError"};
  return names[static_cast<int>(k)];
}

bool is_kind(const Error& e, Kind k) {
  switch (k) {
    case Kind::shape:
      return dynamic_cast<const ShapeError*>(&e) != nullptr;
    case Kind::dtype:
      return dynamic_cast<const DtypeError*>(&e) != nullptr;
    case Kind::index:
      return dynamic_cast<const IndexError*>(&e) != nullptr;
    case Kind::value:
      return dynamic_cast<const ValueError*>(&e) != nullptr;
    case Kind::graph:
      return dynamic_cast<const GraphError*>(&e) != nullptr;
    case Kind::io:
      return dynamic_cast<const IOError*>(&e) != nullptr;
    case Kind::anomaly:
      return dynamic_cast<const AnomalyError*>(&e) != nullptr;
  }
  return false;
}

struct Row {
  std::string name;
  Kind kind;
  std::function<void()> call;
  std::vector<std::string> parts;
};

// The call site every op error must name.
const std::string kHere = "test_error_table.cpp:";

void run_table(const std::vector<Row>& rows) {
  for (const Row& r : rows) {
    INFO("row '" << r.name << "', expecting " << kind_name(r.kind));
    try {
      r.call();
      FAIL_CHECK("no exception");
    } catch (const Error& e) {
      const std::string msg = e.what();
      INFO("message: " << msg);
      CHECK_MESSAGE(is_kind(e, r.kind), "wrong exception type " << typeid(e).name());
      for (const std::string& p : r.parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, "missing '" << p << "'");
    } catch (const std::exception& e) {
      FAIL_CHECK("not an xgrad::Error: " << typeid(e).name() << ": " << e.what());
    }
  }
}

Tensor f32(const Shape& s) { return randn(s); }
Tensor f64(const Shape& s) { return randn(s, kFloat64); }
Tensor labels(std::initializer_list<std::int64_t> v) { return tensor_int(v); }

bool equal_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector<double>() == b.to_vector<double>();
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string idx_file(unsigned char code, const std::vector<std::uint32_t>& dims, std::string_view data) {
  std::string s = {0, 0, static_cast<char>(code), static_cast<char>(dims.size())};
  for (auto d : dims) s += be32(d);
  return s + std::string(data);
}

std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}

std::string safetensors_file(const std::string& header, std::string_view data) {
  std::string h = header;
  while (h.size() % 8 != 0) h += ' ';
  return le64(h.size()) + h + std::string(data);
}

}  // namespace

TEST_CASE("error table: shape mismatch in every binary op names the op, both shapes and the call site") {
  manual_seed(1);
  const Tensor a = f32({2, 3}), b = f32({4}), cond = gt(a, 0.0);
  using BinOp = std::function<Tensor(const Tensor&, const Tensor&)>;
  const std::vector<std::pair<std::string, BinOp>> ops = {
      {"add", [](auto& x, auto& y) { return add(x, y); }},
      {"sub", [](auto& x, auto& y) { return sub(x, y); }},
      {"mul", [](auto& x, auto& y) { return mul(x, y); }},
      {"div", [](auto& x, auto& y) { return div(x, y); }},
      {"pow", [](auto& x, auto& y) { return pow(x, y); }},
      {"maximum", [](auto& x, auto& y) { return maximum(x, y); }},
      {"minimum", [](auto& x, auto& y) { return minimum(x, y); }},
      {"eq", [](auto& x, auto& y) { return eq(x, y); }},
      {"ne", [](auto& x, auto& y) { return ne(x, y); }},
      {"lt", [](auto& x, auto& y) { return lt(x, y); }},
      {"le", [](auto& x, auto& y) { return le(x, y); }},
      {"gt", [](auto& x, auto& y) { return gt(x, y); }},
      {"ge", [](auto& x, auto& y) { return ge(x, y); }},
      {"add", [](auto& x, auto& y) { return x + y; }},
      {"sub", [](auto& x, auto& y) { return x - y; }},
      {"mul", [](auto& x, auto& y) { return x * y; }},
      {"div", [](auto& x, auto& y) { return x / y; }},
      {"where", [&](auto& x, auto& y) { return where(cond, x, y); }},
      {"prelu", [](auto& x, auto& y) { return prelu(x, y); }},
  };
  std::vector<Row> rows;
  for (const auto& [name, op] : ops) {
    rows.push_back({name + "(a, b)", Kind::shape, [&, op = op] { op(a, b); }, {name, "(2, 3)", "(4,)", kHere}});
    rows.push_back({name + "(b, a)", Kind::shape, [&, op = op] { op(b, a); }, {name, "(4,)", "(2, 3)", kHere}});
  }
  // where's condition is the third operand that must broadcast.
  rows.push_back({"where(cond)", Kind::shape, [&] { where(gt(b, 0.0), a, a); }, {"where", "(4,)", "(2, 3)", kHere}});
  // In-place updates cannot grow the updated tensor.
  Tensor target = zeros({2, 3});
  rows.push_back({"add_", Kind::shape, [&] { target.add_(b); }, {"add_", "(4,)", "(2, 3)"}});
  rows.push_back({"mul_", Kind::shape, [&] { target.mul_(b); }, {"mul_", "(4,)", "(2, 3)"}});
  rows.push_back({"copy_", Kind::shape, [&] { target.copy_(b); }, {"copy_", "(4,)", "(2, 3)"}});
  rows.push_back({"addcmul_", Kind::shape, [&] { target.addcmul_(a, b); }, {"addcmul_", "(4,)", "(2, 3)"}});
  rows.push_back({"addcdiv_", Kind::shape, [&] { target.addcdiv_(b, a); }, {"addcdiv_", "(4,)", "(2, 3)"}});
  rows.push_back({"add_ grows", Kind::shape, [&] { Tensor small = zeros({3}); small.add_(a); }, {"add_", "(2, 3)", "(3,)"}});
  run_table(rows);
}

TEST_CASE("error table: matmul, linear, cat/stack and losses name the op and the shapes") {
  manual_seed(2);
  const Tensor a = f32({2, 3}), b = f32({4, 5}), x = f32({5, 3}), w = f32({4, 3});
  const Tensor logits = f32({4, 3});
  const std::vector<Row> rows = {
      {"matmul inner", Kind::shape, [&] { matmul(a, b); }, {"matmul", "(2, 3)", "(4, 5)", "3", "4", kHere}},
      {"matmul 0-d", Kind::shape, [&] { matmul(scalar_tensor(1), a); }, {"matmul", "()", "(2, 3)", kHere}},
      {"matmul batch", Kind::shape, [&] { matmul(f32({2, 2, 3}), f32({3, 3, 4})); }, {"matmul", "(2, 2, 3)", "(3, 3, 4)", kHere}},
      {"linear weight", Kind::shape, [&] { linear(x, f32({4, 2})); }, {"linear", "(5, 3)", "(4, 2)", kHere}},
      {"linear bias", Kind::shape, [&] { linear(x, w, f32({3})); }, {"linear", "(3,)", "(4,)", kHere}},
      {"linear 1-d weight", Kind::shape, [&] { linear(x, f32({3})); }, {"linear", "2-D", "(3,)", kHere}},
      {"cat", Kind::shape, [&] { cat({a, f32({2, 4}), f32({3, 3})}, 1); }, {"cat", "tensor 2", "(3, 3)", "(2, 3)", kHere}},
      {"cat 0-d", Kind::shape, [&] { cat({scalar_tensor(1), scalar_tensor(2)}); }, {"cat", "0-dimensional", kHere}},
      {"cat empty list", Kind::value, [&] { cat({}); }, {"cat", "non-empty list", kHere}},
      {"stack", Kind::shape, [&] { stack({a, f32({3, 2})}); }, {"stack", "tensor 1", "(3, 2)", "(2, 3)", kHere}},
      {"split sizes", Kind::shape, [&] { split(a, std::vector<std::int64_t>{1, 1}, 1); }, {"split", "[1, 1]", "2", "(2, 3)", kHere}},
      {"mse_loss", Kind::shape, [&] { mse_loss(a, f32({3, 2})); }, {"mse_loss", "(2, 3)", "(3, 2)", kHere}},
      {"l1_loss", Kind::shape, [&] { l1_loss(a, f32({2})); }, {"l1_loss", "(2, 3)", "(2,)", kHere}},
      {"huber_loss", Kind::shape, [&] { huber_loss(a, f32({6})); }, {"huber_loss", "(2, 3)", "(6,)", kHere}},
      {"smooth_l1_loss", Kind::shape, [&] { smooth_l1_loss(a, f32({1, 6})); }, {"smooth_l1_loss", "(2, 3)", "(1, 6)", kHere}},
      {"binary_cross_entropy", Kind::shape, [&] { binary_cross_entropy(sigmoid(a), f32({3})); },
       {"binary_cross_entropy", "(2, 3)", "(3,)", kHere}},
      {"bce_with_logits", Kind::shape, [&] { binary_cross_entropy_with_logits(a, f32({2, 1, 3})); },
       {"binary_cross_entropy_with_logits", "(2, 3)", "(2, 1, 3)", kHere}},
      {"bce_with_logits pos_weight", Kind::shape, [&] { binary_cross_entropy_with_logits(a, zeros({2, 3}), Reduction::mean, {}, f32({2})); },
       {"binary_cross_entropy_with_logits", "pos_weight", "(2,)", "(2, 3)", kHere}},
      {"cross_entropy target", Kind::shape, [&] { cross_entropy(logits, labels({0, 1})); }, {"cross_entropy", "(2,)", "(4, 3)", kHere}},
      {"cross_entropy input rank", Kind::shape, [&] { cross_entropy(f32({2, 3, 4, 5}), labels({0})); },
       {"cross_entropy", "(2, 3, 4, 5)", kHere}},
      {"cross_entropy weight", Kind::shape, [&] { cross_entropy(logits, labels({0, 1, 2, 0}), {.weight = ones({4})}); },
       {"cross_entropy", "weight", "(4,)", "(3,)", kHere}},
      {"nll_loss target", Kind::shape, [&] { nll_loss(log_softmax(logits, 1), labels({0, 1, 2})); },
       {"nll_loss", "(3,)", "(4, 3)", kHere}},
      // Modules name themselves and the call site of the module call.
      {"nn::Linear input", Kind::shape, [&] { nn::Linear(3, 4)(f32({5, 2})); }, {"linear", "(5, 2)", "(4, 3)", "Linear", kHere}},
      {"nn::Sequential inner layer", Kind::shape, [&] { nn::Sequential(nn::Linear(3, 4), nn::ReLU(), nn::Linear(5, 2))(f32({2, 3})); },
       {"linear", "(2, 4)", "(2, 5)", "Sequential", kHere}},
      {"nn::BatchNorm1d features", Kind::shape, [&] { nn::BatchNorm1d(4)(f32({5, 3})); }, {"BatchNorm1d", "(N, 4)", "(5, 3)", kHere}},
      {"nn::LayerNorm shape", Kind::shape, [&] { nn::LayerNorm(Shape{4})(f32({5, 3})); }, {"layer_norm", "(4,)", "(5, 3)", "LayerNorm", kHere}},
      {"nn::Embedding negative index", Kind::index, [&] { nn::Embedding(5, 3)(labels({2, -1})); }, {"embedding", "index -1", "5 embeddings", kHere}},
  };
  run_table(rows);
}

TEST_CASE("error table: mixed dtypes name both dtypes") {
  const Tensor a = f32({2, 2}), d = f64({2, 2});
  const Tensor i = tensor_int({1, 2});
  const std::vector<Row> rows = {
      {"add", Kind::dtype, [&] { add(a, d); }, {"add", "float32", "float64", kHere}},
      {"mul", Kind::dtype, [&] { a* d; }, {"mul", "float32", "float64", kHere}},
      {"matmul", Kind::dtype, [&] { matmul(a, d); }, {"matmul", "float32", "float64", kHere}},
      {"cat", Kind::dtype, [&] { cat({a, d}); }, {"cat", "tensor 1", "float64", "float32", kHere}},
      {"stack", Kind::dtype, [&] { stack({d, a}); }, {"stack", "float32", "float64", kHere}},
      {"mse_loss", Kind::dtype, [&] { mse_loss(a, d); }, {"mse_loss", "float32", "float64", kHere}},
      {"cross_entropy probs", Kind::dtype, [&] { cross_entropy(a, softmax(d, 1)); }, {"cross_entropy", "float64", "float32", kHere}},
      {"int64 input to exp", Kind::dtype, [&] { exp(i); }, {"exp", "int64", kHere}},
      {"int64 in add", Kind::dtype, [&] { add(i, i); }, {"add", "int64", kHere}},
      {"add_ in place", Kind::dtype, [&] { Tensor t = zeros({2, 2}); t.add_(d); }, {"add_", "float32", "float64"}},
      {"data<T>", Kind::dtype, [&] { (void)a.data<double>(); }, {"data", "float32", "float64"}},
      {"requires_grad on int64", Kind::dtype, [&] { tensor_int({1}).requires_grad_(); }, {"requires_grad_", "int64"}},
      {"index_select float index", Kind::dtype, [&] { index_select(a, 0, a); }, {"index_select", "int64", "float32", kHere}},
      // Conversions to int64 of values it cannot hold (undefined behaviour in C++) are refused.
      {"to(int64) of NaN", Kind::value, [&] { full({3}, std::nan("")).to(kInt64); }, {"to", "nan", "int64", kHere}},
      {"to(int64) of 1e19", Kind::value, [&] { full({2}, 1e19, kFloat64).to(kInt64); }, {"to", "1e+19", "int64", kHere}},
      {"copy_ inf into int64", Kind::value, [&] { Tensor t = zeros({2}, kInt64); t.copy_(full({2}, INFINITY)); },
       {"copy_", "inf", "int64"}},
      {"full int64 NaN", Kind::value, [&] { full({2}, std::nan(""), kInt64); }, {"full", "nan", "int64"}},
      {"zeros_like int64 via full", Kind::value, [&] { full_like(zeros({2}, kInt64), 1e19); }, {"full", "1e+19", "int64"}},
      {"fill_ int64 -1e30", Kind::value, [&] { Tensor t = zeros({2}, kInt64); t.fill_(-1e30); }, {"fill", "-1e+30", "int64"}},
  };
  run_table(rows);
}

TEST_CASE("error table: class labels out of range or negative, probabilities outside [0, 1]") {
  const Tensor logits = f32({3, 4});
  const Tensor logp = log_softmax(logits, 1);
  const std::vector<Row> rows = {
      {"cross_entropy label = C", Kind::index, [&] { cross_entropy(logits, labels({0, 4, 1})); },
       {"cross_entropy", "target 4", "index 1", "4 classes", kHere}},
      {"cross_entropy negative", Kind::index, [&] { cross_entropy(logits, labels({0, 1, -1})); },
       {"cross_entropy", "target -1", "index 2", "4 classes", kHere}},
      {"cross_entropy huge", Kind::index, [&] { cross_entropy(logits, labels({0, 1, 1LL << 40})); },
       {"cross_entropy", "1099511627776", "index 2", kHere}},
      {"cross_entropy single sample", Kind::index, [&] { cross_entropy(f32({4}), tensor_int({7}).reshape({})); },
       {"cross_entropy", "target 7", "4 classes", kHere}},
      {"cross_entropy fractional", Kind::value, [&] { cross_entropy(logits, from_vector(std::vector<double>{0, 1.5, 2}, {3})); },
       {"cross_entropy", "1.5", "index 1", kHere}},
      {"nll_loss label = C", Kind::index, [&] { nll_loss(logp, labels({4, 0, 0})); }, {"nll_loss", "target 4", "index 0", "4 classes", kHere}},
      {"nll_loss negative", Kind::index, [&] { nll_loss(logp, labels({0, -3, 0})); }, {"nll_loss", "target -3", "index 1", kHere}},
      {"one_hot", Kind::index, [&] { one_hot(labels({0, 5}), 3); }, {"one_hot", "label 5", "[0, 3)", kHere}},
      {"one_hot negative", Kind::index, [&] { one_hot(labels({-1}), 3); }, {"one_hot", "label -1", kHere}},
      {"bce p > 1", Kind::value, [&] { binary_cross_entropy(from_vector(std::vector<double>{0.5, 1.5}, {2}), zeros({2})); },
       {"binary_cross_entropy", "1.5", "[0, 1]", kHere}},
      {"bce p < 0", Kind::value, [&] { binary_cross_entropy(from_vector(std::vector<double>{-0.25, 0.5}, {2}), zeros({2})); },
       {"binary_cross_entropy", "-0.25", "[0, 1]", kHere}},
      {"bce p NaN", Kind::value, [&] { binary_cross_entropy(full({2}, std::nan("")), zeros({2})); },
       {"binary_cross_entropy", "nan", "[0, 1]", kHere}},
      {"label_smoothing", Kind::value, [&] { cross_entropy(logits, labels({0, 1, 2}), {.label_smoothing = 1.5}); },
       {"cross_entropy", "label_smoothing", "1.5", kHere}},
      {"huber delta", Kind::value, [&] { huber_loss(logits, logits, Reduction::mean, -1.0); }, {"huber_loss", "delta", "-1", kHere}},
  };
  run_table(rows);
}

TEST_CASE("error table: empty tensors, zero-size batches, negative and overflowing dimensions, reshape") {
  const Tensor empty_batch = zeros({0, 3});
  const Tensor a = f32({2, 3});
  const std::vector<Row> rows = {
      {"mean of empty", Kind::shape, [&] { mean(zeros({0})); }, {"mean", "zero elements", "(0,)", kHere}},
      {"max of empty", Kind::shape, [&] { max(empty_batch); }, {"max", "empty", "(0, 3)", kHere}},
      {"argmax over empty dim", Kind::shape, [&] { argmax(empty_batch, 0); }, {"argmax", "size 0", "(0, 3)", kHere}},
      // Factories name themselves (they take no call site).
      {"zeros negative", Kind::shape, [&] { zeros({2, -3}); }, {"zeros", "negative dimension", "(2, -3)"}},
      {"ones negative", Kind::shape, [&] { ones({-2}, kFloat64); }, {"ones", "negative dimension", "(-2,)"}},
      {"full negative", Kind::shape, [&] { full({3, -1}, 2.0); }, {"full", "negative dimension", "(3, -1)"}},
      {"randn negative", Kind::shape, [&] { randn({-1}); }, {"randn", "negative dimension", "(-1,)"}},
      {"rand negative", Kind::shape, [&] { rand({4, -4}); }, {"rand", "negative dimension", "(4, -4)"}},
      {"randint negative", Kind::shape, [&] { randint(0, 3, {-5}); }, {"randint", "negative dimension", "(-5,)"}},
      {"eye negative", Kind::shape, [&] { eye(-3); }, {"eye", "-3"}},
      {"from_vector negative", Kind::shape, [&] { from_vector(std::vector<double>{}, {-1, 0}); }, {"from_vector", "(-1, 0)"}},
      {"zeros overflowing", Kind::shape, [&] { zeros({1LL << 32, 1LL << 32}); }, {"zeros", "(4294967296, 4294967296)", "elements"}},
      {"zeros too many bytes", Kind::shape, [&] { zeros({1LL << 62}, kFloat64); },
       {"zeros", "(4611686018427387904,)", "float64", "bytes"}},
      {"randn overflowing", Kind::shape, [&] { randn({1LL << 40, 1LL << 40}); }, {"randn", "(1099511627776, 1099511627776)"}},
      {"nn::Linear zero features", Kind::value, [&] { nn::Linear(0, 3); }, {"Linear", "in_features=0"}},
      {"nn::Linear negative features", Kind::value, [&] { nn::Linear(3, -4); }, {"Linear", "out_features=-4"}},
      {"nn::Embedding zero rows", Kind::value, [&] { nn::Embedding(0, 3); }, {"Embedding", "positive"}},
      {"nn::BatchNorm1d zero features", Kind::value, [&] { nn::BatchNorm1d(0); }, {"BatchNorm1d", "num_features", "0"}},
      {"stack of nothing", Kind::value, [&] { stack({}); }, {"stack", "non-empty list", kHere}},
      {"DataLoader batch_size 0", Kind::value, [&] { data::DataLoader(data::TensorDataset(f32({4, 2}), f32({4})), {.batch_size = 0}); },
       {"DataLoader", "batch_size", "0"}},
      {"fit on an empty dataset", Kind::value,
       [&] {
         nn::Linear m(2, 1);
         optim::SGD o(m.parameters(), optim::SGDOptions(0.1));
         train::fit(m, train::losses::mse, o, data::TensorDataset(zeros({0, 2}), zeros({0, 1})), train::FitOptions().epochs(1).verbose(0));
       },
       {"fit", "training dataset is empty"}},
      {"reshape incompatible", Kind::shape, [&] { a.reshape({4}); }, {"reshape", "(2, 3)", "6 elements", "(4,)", kHere}},
      {"reshape -1 impossible", Kind::shape, [&] { a.reshape({4, -1}); }, {"reshape", "(2, 3)", "(4, -1)", kHere}},
      {"reshape negative", Kind::shape, [&] { a.reshape({-2, 3}); }, {"reshape", "negative", "(-2, 3)", kHere}},
      {"reshape two -1", Kind::shape, [&] { a.reshape({-1, -1}); }, {"reshape", "-1", "(-1, -1)", kHere}},
      {"reshape empty to overflowing", Kind::shape, [&] { zeros({0}).reshape({1LL << 32, 1LL << 32, 0}).reshape({1LL << 32, 1LL << 32}); },
       {"reshape", "(4294967296, 4294967296)", kHere}},
      {"view non-contiguous", Kind::shape, [&] { a.t().view({6}); }, {"view", "(3, 2)", "contiguous", kHere}},
      {"expand", Kind::shape, [&] { a.expand({2, 4}); }, {"expand", "(2, 3)", "(2, 4)", kHere}},
      {"expand overflowing", Kind::shape, [&] { sum(f32({1, 1}).expand({1LL << 32, 1LL << 32})); }, {"(4294967296, 4294967296)"}},
      {"item of many", Kind::shape, [&] { (void)a.item<float>(); }, {"item", "(2, 3)"}},
      {"split size 0", Kind::value, [&] { split(a, 0, 1); }, {"split", "positive", "0", kHere}},
      {"chunk 0", Kind::value, [&] { chunk(a, 0); }, {"chunk", "0", kHere}},
      {"slice step 0", Kind::value, [&] { slice(a, 0, 0, 1, 0); }, {"slice", "step", "0", kHere}},
  };
  run_table(rows);
}

TEST_CASE("zero-size batches: ops work, mean losses are NaN (Note [empty mean]) and anomaly mode names them") {
  // Matrix products, activations and sums accept an empty batch; the gradient of an empty batch is empty.
  const Tensor w = f64({4, 3}).requires_grad_();
  const Tensor x = zeros({0, 3}, kFloat64);
  const Tensor h = relu(linear(x, w));
  CHECK(h.shape() == Shape{0, 4});
  h.sum().backward();
  CHECK(w.grad().shape() == Shape{4, 3});
  CHECK(w.grad().abs().sum().item<double>() == 0.0);
  // Losses: like PyTorch, a mean over no element is NaN and a sum is 0 (documented in loss.hpp).
  const Tensor logits = zeros({0, 3}, kFloat64).requires_grad_();
  const Tensor none = zeros({0}, kInt64);
  CHECK(std::isnan(cross_entropy(logits, none).item<double>()));
  CHECK(cross_entropy(logits, none, {.reduction = Reduction::sum}).item<double>() == 0.0);
  CHECK(std::isnan(mse_loss(logits, logits).item<double>()));
  CHECK(std::isnan(nll_loss(logits, none).item<double>()));
  // Anomaly mode turns that NaN into an error naming the loss and the call site.
  DetectAnomalyGuard anomaly;
  run_table({
      {"cross_entropy of an empty batch", Kind::anomaly, [&] { cross_entropy(logits, none); }, {"cross_entropy", "NaN", kHere}},
      {"mse_loss of an empty batch", Kind::anomaly, [&] { mse_loss(logits, logits); }, {"NaN", kHere}},
  });
}

TEST_CASE("error table: out-of-range dims and indices name the value and the valid range") {
  const Tensor a = f32({2, 3});
  const std::vector<Row> rows = {
      {"sum dim", Kind::index, [&] { sum(a, {2}); }, {"sum", "dimension 2", "rank 2", kHere}},
      {"sum negative dim", Kind::index, [&] { sum(a, {-3}); }, {"sum", "dimension -3", "rank 2", kHere}},
      {"mean dim", Kind::index, [&] { mean(a, {5}); }, {"mean", "dimension 5", kHere}},
      {"softmax dim", Kind::index, [&] { softmax(a, 2); }, {"softmax", "dimension 2", kHere}},
      {"log_softmax dim", Kind::index, [&] { log_softmax(a, -3); }, {"log_softmax", "dimension -3", kHere}},
      {"transpose", Kind::index, [&] { a.transpose(0, 7); }, {"transpose", "dimension 7", kHere}},
      {"squeeze", Kind::index, [&] { squeeze(a, 4); }, {"squeeze", "dimension 4", kHere}},
      {"unsqueeze", Kind::index, [&] { unsqueeze(a, 4); }, {"unsqueeze", "dimension 4", kHere}},
      {"cat dim", Kind::index, [&] { cat({a, a}, 2); }, {"cat", "dimension 2", kHere}},
      {"stack dim", Kind::index, [&] { stack({a, a}, 4); }, {"stack", "dimension 4", kHere}},
      {"argmax dim", Kind::index, [&] { argmax(a, 3); }, {"argmax", "dimension 3", kHere}},
      {"permute repeat", Kind::value, [&] { permute(a, {0, 0}); }, {"permute", "[0, 0]", kHere}},
      {"permute rank", Kind::shape, [&] { permute(a, {0}); }, {"permute", "[0]", "rank 2", kHere}},
      {"flatten", Kind::index, [&] { flatten(a, 1, 0); }, {"flatten", "start_dim 1", "end_dim 0", kHere}},
      {"index_select", Kind::index, [&] { index_select(a, 1, tensor_int({0, 3})); }, {"index_select", "index 3", "size 3", kHere}},
      {"index_select negative", Kind::index, [&] { index_select(a, 0, tensor_int({-5})); }, {"index_select", "index -5", kHere}},
      {"gather", Kind::index, [&] { gather(a, 1, tensor_int({0, 9}).reshape({2, 1})); }, {"gather", "index 9", "size 3", kHere}},
      {"scatter_add", Kind::index, [&] { scatter_add(a, 1, tensor_int({5, 0}).reshape({2, 1}), f32({2, 1})); },
       {"scatter_add", "index 5", "size 3", kHere}},
      {"narrow start", Kind::index, [&] { narrow(a, 1, 4, 1); }, {"narrow", "start 4", "size 3", kHere}},
      {"narrow length", Kind::index, [&] { narrow(a, 1, 1, 5); }, {"narrow", "length 5", "size 3", kHere}},
      {"at", Kind::index, [&] { (void)a.at({2, 0}); }, {"Tensor::at", "index 2", "size 2"}},
      {"at rank", Kind::index, [&] { (void)a.at({0}); }, {"at", "1 indices", "rank 2"}},
      {"size", Kind::index, [&] { (void)a.size(3); }, {"Tensor::size", "dimension 3", "rank 2"}},
  };
  run_table(rows);
}

TEST_CASE("error table: graph misuse (backward twice, nothing to differentiate, in-place on saved tensors)") {
  const Tensor w = f64({3}).requires_grad_();
  const std::vector<Row> rows = {
      {"backward twice", Kind::graph,
       [&] {
         Tensor loss = (w * w).sum();
         loss.backward();
         loss.backward();
       },
       {"second time", "retain_graph", "Backward", kHere}},
      {"grad twice", Kind::graph,
       [&] {
         Tensor loss = (w.exp()).sum();
         autograd::grad({loss}, {w});
         autograd::grad({loss}, {w});
       },
       {"second time", "retain_graph", "ExpBackward", kHere}},
      {"backward without grad", Kind::graph, [&] { f64({3}).sum().backward(); }, {"backward", "does not require grad", "requires_grad_"}},
      {"backward under no_grad", Kind::graph,
       [&] {
         Tensor loss;
         {
           NoGradGuard guard;
           loss = (w * 2.0).sum();
         }
         loss.backward();
       },
       {"backward", "does not require grad", "NoGradGuard"}},
      {"backward of non-scalar", Kind::shape, [&] { (w * 2.0).backward(); }, {"backward", "one-element", "(3,)"}},
      {"backward gradient shape", Kind::shape, [&] { (w * 2.0).backward(ones({2}, kFloat64)); }, {"backward", "(2,)", "(3,)"}},
      {"grad of unused input", Kind::graph,
       [&] {
         const Tensor v = f64({2}).requires_grad_();
         autograd::grad({(w * 2.0).sum()}, {v});
       },
       {"autograd::grad", "input 0", "not used", "allow_unused"}},
      {"in-place on a saved tensor", Kind::graph,
       [&] {
         Tensor x = f64({3}).requires_grad_();
         Tensor y = x * 1.0;
         Tensor z = (y * y).sum();
         {
           NoGradGuard g;
           y.add_(1.0);
         }
         z.backward();
       },
       {"MulBackward", "modified by an in-place operation", "version", kHere}},
      {"in-place on a leaf requiring grad", Kind::graph, [&] { Tensor x = f64({3}).requires_grad_(); x.add_(1.0); },
       {"add_", "requires grad", "(3,)"}},
      {"requires_grad_(false) on non-leaf", Kind::graph, [&] { (w * 2.0).requires_grad_(false); }, {"requires_grad_", "non-leaf"}},
  };
  run_table(rows);
}

TEST_CASE("error table: optimizer options out of range name the option and the value") {
  const Tensor w = f32({3}).requires_grad_();
  const std::vector<Row> rows = {
      {"SGD lr", Kind::value, [&] { optim::SGDOptions(-0.1); }, {"SGDOptions", "lr", "-0.1"}},
      {"SGD lr NaN", Kind::value, [&] { optim::SGDOptions(std::nan("")); }, {"SGDOptions", "lr", "nan"}},
      {"SGD momentum", Kind::value, [&] { optim::SGDOptions(0.1).momentum(-1); }, {"SGDOptions", "momentum", "-1"}},
      {"SGD dampening", Kind::value, [&] { optim::SGDOptions(0.1).dampening(2); }, {"SGDOptions", "dampening", "2"}},
      {"SGD weight_decay", Kind::value, [&] { optim::SGDOptions(0.1).weight_decay(-1e-3); }, {"SGDOptions", "weight_decay", "-0.001"}},
      {"SGD nesterov", Kind::value, [&] { optim::SGD({w}, optim::SGDOptions(0.1).nesterov(true)); },
       {"SGDOptions", "nesterov", "momentum 0"}},
      {"Adam beta1", Kind::value, [&] { optim::AdamOptions().betas({1.0, 0.999}); }, {"AdamOptions", "beta1", "1"}},
      {"Adam beta2", Kind::value, [&] { optim::AdamOptions().betas({0.9, -0.5}); }, {"AdamOptions", "beta2", "-0.5"}},
      {"Adam eps", Kind::value, [&] { optim::AdamOptions().eps(-1e-8); }, {"AdamOptions", "eps", "-1e-08"}},
      {"AdamW lr inf", Kind::value, [&] { (void)optim::AdamWOptions(INFINITY); }, {"AdamWOptions", "lr", "inf"}},
      {"RMSprop alpha", Kind::value, [&] { optim::RMSpropOptions().alpha(1.5); }, {"RMSpropOptions", "alpha", "1.5"}},
      {"Adagrad lr_decay", Kind::value, [&] { optim::AdagradOptions().lr_decay(-1); }, {"AdagradOptions", "lr_decay", "-1"}},
      {"StepLR step_size", Kind::value, [&] { optim::SGD o({w}, optim::SGDOptions(0.1)); optim::StepLR(o, 0); }, {"StepLR", "step_size", "0"}},
      {"Dropout p", Kind::value, [&] { nn::Dropout(1.5); }, {"Dropout", "1.5"}},
      {"empty parameter list", Kind::value, [&] { optim::SGD(TensorList{}, optim::SGDOptions(0.1)); }, {"SGD", "empty parameter list"}},
      {"non-leaf parameter", Kind::value, [&] { optim::SGD({w * 2.0}, optim::SGDOptions(0.1)); }, {"SGD", "not a leaf"}},
      {"set_num_threads", Kind::value, [&] { set_num_threads(0); }, {"set_num_threads", "0"}},
      {"clip max_norm", Kind::value, [&] { optim::clip_grad_norm_({w}, -1.0); }, {"clip_grad_norm_", "-1"}},
  };
  run_table(rows);
}

TEST_CASE("error table: load_state_dict with missing, unexpected and mis-shaped entries (optimizer and module)") {
  manual_seed(3);
  nn::Sequential model(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2));
  optim::Adam opt(model.parameters(), optim::AdamOptions(1e-2));
  model(f32({5, 3})).sum().backward();
  opt.step();
  const optim::StateDict good = opt.state_dict();

  auto without = [&](const std::string& key) {
    optim::StateDict s = good;
    CHECK((s.tensors.erase(key) + s.scalars.erase(key)) == 1);
    return s;
  };
  auto with_tensor = [&](const std::string& key, const Tensor& t) {
    optim::StateDict s = good;
    s.tensors[key] = t;
    return s;
  };
  auto with_scalar = [&](const std::string& key, double v) {
    optim::StateDict s = good;
    s.scalars[key] = v;
    return s;
  };
  const nn::StateDict model_good = model.state_dict();
  auto model_without = [&](const std::string& key) {
    nn::StateDict s = model_good;
    s.erase(key);
    return s;
  };
  auto model_with = [&](const std::string& key, const Tensor& t) {
    nn::StateDict s = model_good;
    s.insert_or_assign(key, t);
    return s;
  };

  const std::vector<Row> rows = {
      {"optim missing option", Kind::value, [&] { opt.load_state_dict(without("param_groups.0.lr")); },
       {"AdamOptions", "load_state_dict", "missing key 'param_groups.0.lr'"}},
      {"optim missing group count", Kind::value, [&] { opt.load_state_dict(without("num_param_groups")); },
       {"Adam", "load_state_dict", "missing key 'num_param_groups'"}},
      {"optim unexpected buffer", Kind::value, [&] { opt.load_state_dict(with_tensor("state.0.velocity", zeros({4, 3}))); },
       {"Adam", "load_state_dict", "state.0.velocity"}},
      {"optim parameter index out of range", Kind::value, [&] { opt.load_state_dict(with_tensor("state.9.exp_avg", zeros({4, 3}))); },
       {"Adam", "load_state_dict", "state.9.exp_avg"}},
      {"optim mis-shaped buffer", Kind::value, [&] { opt.load_state_dict(with_tensor("state.0.exp_avg", zeros({3, 4}))); },
       {"Adam", "load_state_dict", "state.0.exp_avg", "(3, 4)", "(4, 3)"}},
      {"optim bad option value", Kind::value, [&] { opt.load_state_dict(with_scalar("param_groups.0.beta1", 7.0)); },
       {"load_state_dict", "param_groups.0.beta1", "beta1 7"}},
      {"optim wrong group size", Kind::value, [&] { opt.load_state_dict(with_scalar("param_groups.0.num_params", 3)); },
       {"Adam", "load_state_dict", "num_params"}},
      {"optim buffers without a step count", Kind::value, [&] { opt.load_state_dict(without("state.1.step")); },
       {"Adam", "load_state_dict", "missing key 'state.1.step'", "'state.1.exp_avg'", "'state.1.exp_avg_sq'"}},
      {"optim negative step", Kind::value, [&] { opt.load_state_dict(with_scalar("state.0.step", -1)); }, {"state.0.step", "-1"}},
      {"optim fractional step", Kind::value, [&] { opt.load_state_dict(with_scalar("state.0.step", 1.5)); }, {"state.0.step", "1.5"}},
      {"optim step NaN", Kind::value, [&] { opt.load_state_dict(with_scalar("state.0.step", std::nan(""))); }, {"state.0.step", "nan"}},
      {"optim int64 buffer", Kind::value,
       [&] { opt.load_state_dict(with_tensor("state.0.exp_avg", zeros({4, 3}, kInt64))); }, {"state.0.exp_avg", "int64"}},
      {"module missing", Kind::value, [&] { model.load_state_dict(model_without("2.bias")); },
       {"Sequential::load_state_dict", "missing", "'2.bias'"}},
      {"module unexpected", Kind::value, [&] { model.load_state_dict(model_with("1.weight", zeros({1}))); },
       {"Sequential::load_state_dict", "unexpected", "'1.weight'"}},
      {"module mis-shaped", Kind::value, [&] { model.load_state_dict(model_with("0.weight", zeros({3, 4}))); },
       {"Sequential::load_state_dict", "'0.weight'", "(4, 3)", "(3, 4)"}},
      {"module undefined entry", Kind::value, [&] { model.load_state_dict(model_with("0.bias", Tensor())); },
       {"Sequential::load_state_dict", "'0.bias'", "undefined"}},
  };
  // Nothing is changed by a failed load.
  const Tensor w0 = model.parameters()[0].detach().clone();
  const Tensor m0 = opt.state_buffer(model.parameters()[0], "exp_avg").clone();
  run_table(rows);
  CHECK(equal_values(model.parameters()[0], w0));
  CHECK(equal_values(opt.state_buffer(model.parameters()[0], "exp_avg"), m0));

  // A BatchNorm's int64 counter must not accept values it cannot hold.
  nn::BatchNorm1d bn(2);
  nn::StateDict s = bn.state_dict();
  s.insert_or_assign("num_batches_tracked", scalar_tensor(std::nan("")));
  run_table({{"module NaN into int64 buffer", Kind::value, [&] { bn.load_state_dict(s); },
              {"BatchNorm1d::load_state_dict", "num_batches_tracked", "nan"}}});
}

TEST_CASE("error table: files missing, truncated, with wrong magic numbers or huge declared sizes") {
  TempDir dir;
  auto file = [&](const std::string& name, std::string_view bytes, bool gz = false) {
    const std::string p = dir.file(name);
    gz ? testing::write_gz(p, bytes) : testing::write_bytes(p, bytes);
    return p;
  };
  const std::string missing = dir.file("missing");
  const std::string idx_trunc = file("trunc.idx", idx_file(0x08, {2, 3}, "abcd"));
  const std::string idx_magic = file("magic.idx", "\x1f\x8c\x08\x01" + be32(1) + "a");
  const std::string csv_trunc = file("trunc.csv", "a,b,y\n1,2,3\n4,5");
  const std::string csv_quote = file("quote.csv", "a,y\n\"1,2\n");
  const std::string st_short = file("short.safetensors", std::string("\x10\x00\x00", 3));
  const std::string st_len = file("len.safetensors", le64(1000) + "{}");
  const std::string st_trunc =
      file("trunc.safetensors", safetensors_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(10, 'x')));
  const std::string st_magic = file("magic.safetensors", "PK\x03\x04 this is a zip file, not safetensors");

  const std::vector<Row> rows = {
      {"read_idx missing", Kind::io, [&] { data::read_idx(missing); }, {"read_idx", missing, "No such file"}},
      {"read_idx truncated", Kind::io, [&] { data::read_idx(idx_trunc); }, {"read_idx", idx_trunc, "truncated", "needs 6", "has 4"}},
      {"read_idx magic", Kind::io, [&] { data::read_idx(idx_magic); }, {"read_idx", idx_magic, "magic number", "0x1F8C0801"}},
      {"read_csv missing", Kind::io, [&] { data::read_csv(missing); }, {"read_csv", missing, "No such file"}},
      {"read_csv truncated row", Kind::io, [&] { data::read_csv(csv_trunc); }, {"read_csv", csv_trunc, "line 3", "expected 3 fields", "got 2"}},
      {"read_csv unterminated quote", Kind::io, [&] { data::read_csv(csv_quote); }, {"read_csv", csv_quote, "line 2", "unterminated"}},
      {"load_safetensors missing", Kind::io, [&] { train::load_safetensors(missing); }, {"load_safetensors", missing, "No such file"}},
      {"load_safetensors too short", Kind::io, [&] { train::load_safetensors(st_short); },
       {"load_safetensors", st_short, "3 bytes", "truncated"}},
      {"load_safetensors header length", Kind::io, [&] { train::load_safetensors(st_len); },
       {"load_safetensors", st_len, "header length 1000", "exceeds"}},
      {"load_safetensors truncated data", Kind::io, [&] { train::load_safetensors(st_trunc); },
       {"load_safetensors", st_trunc, "'w'", "[0, 16]", "10 byte data region"}},
      {"load_safetensors wrong magic", Kind::io, [&] { train::load_safetensors(st_magic); },
       {"load_safetensors", st_magic, "header length", "not a safetensors file"}},
  };
  run_table(rows);
}

TEST_CASE("error table: huge declared sizes fail fast without allocating them") {
  // The peak RSS is reset before each read (/proc/self/clear_refs) and must stay within a few MB of
  // the RSS before it: a reader that allocated (and zeroed) the declared size would show it.
  TempDir dir;
  const std::string two31 = dir.file("two31.idx");
  testing::write_bytes(two31, idx_file(0x08, {1u << 31, 1u << 31}, "x"));
  const std::string two31_gz = dir.file("two31.idx.gz");
  testing::write_gz(two31_gz, idx_file(0x08, {1u << 31, 1u << 31}, "x"));
  // Under the 4 GiB cap, but far more than the file holds: 2^30 images of 1 byte (plain and gzip).
  const std::string giga = dir.file("giga.idx");
  testing::write_bytes(giga, idx_file(0x08, {1u << 30}, "xy"));
  const std::string giga_gz = dir.file("giga.idx.gz");
  testing::write_gz(giga_gz, idx_file(0x08, {1u << 30}, "xy"));
  const std::string st_huge = dir.file("huge.safetensors");
  testing::write_bytes(st_huge, safetensors_file(R"({"w":{"dtype":"F64","shape":[2147483648,2147483648],"data_offsets":[0,8]}})",
                                                 std::string(8, '\0')));
  const std::string st_big_offsets = dir.file("offsets.safetensors");
  testing::write_bytes(st_big_offsets,
                       safetensors_file(R"({"w":{"dtype":"F32","shape":[268435456],"data_offsets":[0,1073741824]}})", "abcd"));
  const std::string st_header = dir.file("header.safetensors");
  testing::write_bytes(st_header, le64(std::uint64_t{1} << 62) + "{}");

  const std::vector<Row> rows = {
      {"IDX 2^31 x 2^31", Kind::io, [&] { data::read_idx(two31); }, {"read_idx", two31, "(2147483648, 2147483648)", "cap"}},
      {"IDX gzip 2^31 x 2^31", Kind::io, [&] { data::read_idx(two31_gz); }, {"read_idx", two31_gz, "(2147483648, 2147483648)", "cap"}},
      {"IDX 2^30 in 2 bytes", Kind::io, [&] { data::read_idx(giga); }, {"read_idx", giga, "truncated", "1073741824", "has 2"}},
      {"IDX gzip 2^30", Kind::io, [&] { data::read_idx(giga_gz); }, {"read_idx", giga_gz, "1073741824", "decompresses to at most"}},
      {"safetensors 2^31 x 2^31", Kind::io, [&] { train::load_safetensors(st_huge); },
       {"load_safetensors", st_huge, "'w'", "(2147483648, 2147483648)", "needs more than"}},
      {"safetensors 1 GiB offsets", Kind::io, [&] { train::load_safetensors(st_big_offsets); },
       {"load_safetensors", st_big_offsets, "[0, 1073741824]", "4 byte data region"}},
      {"safetensors 2^62 header", Kind::io, [&] { train::load_safetensors(st_header); },
       {"load_safetensors", st_header, "header length 4611686018427387904"}},
  };
  for (const Row& r : rows) {
    const bool can_reset = testing::reset_peak_rss();
    const std::int64_t before = testing::rss_bytes();
    const double t0 = testing::thread_cpu_seconds();
    run_table({r});
    const double seconds = testing::thread_cpu_seconds() - t0;  // CPU time: a busy machine does not count
    const std::int64_t growth = testing::peak_rss_bytes() - before;
    INFO(r.name << ": peak RSS grew by " << growth << " bytes in " << seconds << " s");
    CHECK(seconds < 1.0);
    if (can_reset) CHECK(growth < (std::int64_t{16} << 20));
  }
}
