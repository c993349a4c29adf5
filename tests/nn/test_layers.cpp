// Layers: Linear, Sequential, Identity, Flatten, activations; gradchecks of every module with respect to
// its input and its parameters (float64).
#include <cmath>

#include "nn_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using namespace xgrad::nn;

TEST_CASE("Linear: shapes, PyTorch default init bounds, forward value") {
  manual_seed(0);
  Linear lin(100, 50);
  CHECK(lin.weight().shape() == Shape{50, 100});
  CHECK(lin.bias().shape() == Shape{50});
  CHECK(lin.weight().requires_grad());
  CHECK(lin.named_parameters().keys() == std::vector<std::string>{"weight", "bias"});
  CHECK(lin.name() == "Linear(in_features=100, out_features=50, bias=true)");
  // kaiming_uniform(a=√5): bound = √3·√(2/(1+5))/√100 = 1/√100 = 0.1, and bias U(-0.1, 0.1)
  const double bound = 0.1;
  for (const Tensor& t : {lin.weight(), lin.bias()}) {
    const auto v = t.to_vector<double>();
    double lo = 1, hi = -1, sq = 0;
    for (double x : v) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
      sq += x * x;
    }
    CHECK(lo >= -bound);
    CHECK(hi <= bound);
    if (v.size() > 1000) {
      CHECK(hi > 0.99 * bound);
      CHECK(lo < -0.99 * bound);
      CHECK(sq / static_cast<double>(v.size()) == doctest::Approx(bound * bound / 3).epsilon(0.03));  // Var U(-b, b) = b²/3
    }
  }
  // forward against a hand computation: y = x Wᵀ + b
  Linear small(2, 3, true, kFloat64);
  {
    NoGradGuard g;
    small.weight().copy_(tensor({{1, 2}, {3, 4}, {5, 6}}, kFloat64));
    small.bias().copy_(tensor({0.5, -1, 2}, kFloat64));
  }
  check_values(small(tensor({{1, -1}, {2, 0.5}}, kFloat64)), {-0.5, -2, 1, 3.5, 7, 15});
  Linear nobias(3, 2, false);
  CHECK_FALSE(nobias.bias().defined());
  CHECK(nobias.parameters().size() == 1);
  CHECK(nobias.name() == "Linear(in_features=3, out_features=2, bias=false)");
  check_throws_with<ValueError>([] { Linear(0, 3); }, {"Linear", "in_features=0"});
}

TEST_CASE("Linear: init is reproducible from manual_seed") {
  manual_seed(42);
  Linear a(5, 4);
  manual_seed(42);
  Linear b(5, 4);
  CHECK(allclose(a.weight(), b.weight(), 0, 0));
  CHECK(allclose(a.bias(), b.bias(), 0, 0));
  a.reset_parameters();
  CHECK_FALSE(allclose(a.weight(), b.weight()));
}

TEST_CASE("Sequential: construction, indexing, iteration, forward chain") {
  auto shared = std::make_shared<Tanh>();
  Sequential seq(Identity(), shared, ReLU());
  CHECK(seq.size() == 3);
  CHECK(seq[1].get() == shared.get());
  CHECK(seq.at(-1)->type_name() == "ReLU");
  CHECK(seq.at<Tanh>(1) == shared);
  check_throws_with<IndexError>([&] { seq[3]; }, {"Sequential", "index 3", "3 modules"});
  check_throws_with<IndexError>([&] { seq.at(-4); }, {"index -4"});
  check_throws_with<ValueError>([&] { seq.at<ReLU>(0); }, {"module 0 is a Identity", "ReLU"});
  std::vector<std::string> names;
  for (const auto& m : seq) names.push_back(m->type_name());
  CHECK(names == std::vector<std::string>{"Identity", "Tanh", "ReLU"});
  auto added = seq.push_back(Sigmoid());
  CHECK(added->type_name() == "Sigmoid");
  CHECK(seq.named_children().keys() == std::vector<std::string>{"0", "1", "2", "3"});
  // forward chains through every module: relu(tanh(x)) then sigmoid
  Tensor x = tensor({-1.0, 0.5});
  check_values(seq(x), {0.5, 1.0 / (1.0 + std::exp(-std::tanh(0.5)))});
  // from a vector; null entries rejected; empty returns its input
  Sequential from_list(std::vector<ModulePtr>{std::make_shared<ReLU>(), std::make_shared<Identity>()});
  CHECK(from_list.size() == 2);
  check_throws_with<ValueError>([] { Sequential(std::vector<ModulePtr>{nullptr}); }, {"Sequential", "null"});
  Sequential empty;
  CHECK(empty(x).is_same(x));
  // nested Sequential: dotted names
  Sequential outer(std::make_shared<Sequential>(Linear(2, 3)), Linear(3, 1));
  CHECK(outer.named_parameters().keys() == std::vector<std::string>{"0.0.weight", "0.0.bias", "1.weight", "1.bias"});
}

TEST_CASE("ModuleList: registered children for the owner's forward, no forward of its own") {
  struct Deep : Module {
    std::shared_ptr<ModuleList> layers = register_module("layers", std::make_shared<ModuleList>());
    explicit Deep(int depth) : Module("Deep") {
      for (int i = 0; i < depth; ++i) layers->push_back(Linear(3, 3, true, kFloat64));
      layers->push_back(std::make_shared<Dropout>(0.5));
    }
    Tensor forward(const Tensor& x) override {
      Tensor h = x;
      for (std::size_t i = 0; i + 1 < layers->size(); ++i) h = tanh((*(*layers)[static_cast<std::int64_t>(i)])(h)) + h;  // residual
      return (*layers->at<Dropout>(-1))(h);
    }
  };
  manual_seed(4);
  Deep deep(2);
  CHECK(deep.named_parameters().keys() ==
        std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"});
  CHECK(deep.layers->size() == 3);
  std::size_t count = 0;
  for (const ModulePtr& m : *deep.layers) count += m->type_name() == "Linear";
  CHECK(count == 2);
  deep.eval();
  CHECK_FALSE(deep.layers->at<Dropout>(2)->is_training());
  check_module_gradients(deep, leaf({4, 3}));  // eval mode: the dropout is the identity
  check_throws_with<ValueError>([&] { (*deep.layers)(leaf({4, 3})); }, {"ModuleList has no forward", "3 modules"});
  check_throws_with<IndexError>([&] { (*deep.layers)[3]; }, {"ModuleList", "3", "3 modules"});
  check_throws_with<ValueError>([&] { deep.layers->at<Linear>(2); }, {"ModuleList::at", "Dropout", "Linear"});
  ModuleList from_values{ReLU(), Tanh()};
  CHECK(from_values.size() == 2);
  CHECK(to_string(from_values).find("(1): Tanh()") != std::string::npos);
}

TEST_CASE("Identity and Flatten") {
  Tensor x = leaf({2, 3, 4});
  CHECK(Identity()(x).is_same(x));
  CHECK(Flatten()(x).shape() == Shape{2, 12});
  CHECK(Flatten(0)(x).shape() == Shape{24});
  CHECK(Flatten(1, 1)(x).shape() == Shape{2, 3, 4});
  check_throws_with<IndexError>([&] { Flatten(3)(x); }, {"flatten"});
}

TEST_CASE("activation modules compute their ops") {
  const Tensor x = tensor({-2.0, -0.5, 0.0, 1.5}, kFloat64);
  const std::vector<double> v{-2.0, -0.5, 0.0, 1.5};
  auto map = [&](auto f) {
    std::vector<double> out;
    for (double a : v) out.push_back(f(a));
    return out;
  };
  check_values(Sigmoid()(x), map([](double a) { return 1 / (1 + std::exp(-a)); }));
  check_values(Tanh()(x), map([](double a) { return std::tanh(a); }));
  check_values(ReLU()(x), map([](double a) { return a > 0 ? a : 0.0; }));
  check_values(LeakyReLU(0.1)(x), map([](double a) { return a > 0 ? a : 0.1 * a; }));
  check_values(ELU(2.0)(x), map([](double a) { return a > 0 ? a : 2.0 * std::expm1(a); }));
  const double sa = 1.6732632423543772848170429916717, ss = 1.0507009873554804934193349852946;
  check_values(SELU()(x), map([&](double a) { return ss * (a > 0 ? a : sa * std::expm1(a)); }));
  check_values(Softplus(2.0)(x), map([](double a) { return std::log1p(std::exp(2 * a)) / 2; }));
  check_values(GELU()(x), map([](double a) { return a * 0.5 * (1 + std::erf(a / std::sqrt(2.0))); }));
  check_values(SiLU()(x), map([](double a) { return a / (1 + std::exp(-a)); }));
  check_values(Step()(x), {0, 0, 0, 1});
  check_values(Step(1.0)(x), {0, 0, 1, 1});  // the slides' u(0) = 1
  CHECK(Step().name() == "Step()");
  CHECK(Step(1.0).name() == "Step(value_at_zero=1)");
  check_throws_with<ValueError>([] { Step(std::nan("")); }, {"Step", "value_at_zero", "nan"});
  PReLU prelu_layer(1, 0.25, kFloat64);
  check_values(prelu_layer(x), map([](double a) { return a > 0 ? a : 0.25 * a; }));
  CHECK(prelu_layer.parameters().size() == 1);
  CHECK(prelu_layer.name() == "PReLU(num_parameters=1)");
  double z = 0;
  for (double a : v) z += std::exp(a);
  check_values(Softmax(0)(x), map([&](double a) { return std::exp(a) / z; }));
  check_values(LogSoftmax()(x), map([&](double a) { return a - std::log(z); }));
  CHECK(Softmax(1).name() == "Softmax(dim=1)");
  check_throws_with<ValueError>([] { Softplus(0.0); }, {"Softplus", "beta"});
  check_throws_with<ValueError>([] { PReLU(0); }, {"PReLU", "num_parameters"});
}

TEST_CASE("PReLU: one learnable slope per channel") {
  PReLU p(3, 0.1, kFloat64);
  CHECK(p.weight().shape() == Shape{3});
  Tensor x = leaf_away_from({4, 3}, {0.0});
  check_module_gradients(p, x);
  check_throws_with<ShapeError>([&] { p(leaf({4, 2})); }, {"prelu", "(3,)", "(4, 2)"});
}

TEST_CASE("gradcheck: activation modules with respect to their input") {
  std::vector<std::pair<ModulePtr, std::vector<double>>> cases{
      {std::make_shared<Sigmoid>(), {}},
      {std::make_shared<Tanh>(), {}},
      {std::make_shared<ReLU>(), {0.0}},
      {std::make_shared<LeakyReLU>(0.2), {0.0}},
      {std::make_shared<ELU>(1.3), {0.0}},
      {std::make_shared<SELU>(), {0.0}},
      {std::make_shared<Softplus>(2.0, 3.0), {1.5}},
      {std::make_shared<GELU>(), {}},
      {std::make_shared<SiLU>(), {}},
      {std::make_shared<Step>(), {0.0}},
      {std::make_shared<Softmax>(1), {}},
      {std::make_shared<LogSoftmax>(0), {}},
      {std::make_shared<Identity>(), {}},
      {std::make_shared<Flatten>(), {}},
  };
  for (auto& [m, kinks] : cases) {
    SUBCASE(m->name().c_str()) {
      check_module_gradients(*m, leaf_away_from({3, 2, 2}, kinks));
      check_module_gradients(*m, noncontiguous_leaf({4, 3}));
    }
  }
}

TEST_CASE("gradcheck: Linear and an MLP with respect to input and parameters") {
  manual_seed(1);
  Linear lin(4, 3, true, kFloat64);
  check_module_gradients(lin, leaf({5, 4}));
  check_module_gradients(lin, noncontiguous_leaf({2, 4}));
  Linear nobias(4, 2, false, kFloat64);
  check_module_gradients(nobias, leaf({3, 4}));
  Sequential mlp(Linear(4, 5), Tanh(), Linear(5, 3), LogSoftmax(1));
  mlp.to(kFloat64);
  check_module_gradients(mlp, leaf({2, 4}));
}

TEST_CASE("Module::summary: layers, output shapes, parameter totals") {
  Sequential mlp(Flatten(), Linear(784, 256), ReLU(), Linear(256, 128), ReLU(), Linear(128, 10));
  const std::string s = mlp.summary({1, 28, 28});
  INFO(s);
  for (const char* part : {"Model: Sequential", "Input: (1, 28, 28) float32 -> Output: (1, 10)", "0 (Flatten)", "(1, 784)",
                           "1 (Linear)", "(1, 256)", "200,960", "2 (ReLU)", "3 (Linear)", "(1, 128)", "32,896", "5 (Linear)",
                           "(1, 10)", "1,290", "Total params: 235,146", "Trainable params: 235,146", "Non-trainable params: 0",
                           "Params size: 940,584 bytes (0.90 MB)"})
    CHECK_MESSAGE(s.find(part) != std::string::npos, "missing: " << part);
  CHECK(count_parameters(mlp) == 235146);
  // dtype-aware: float64 parameters take twice the bytes; the input follows the parameters' dtype
  mlp.to(kFloat64);
  const std::string s64 = mlp.summary({2, 784});
  INFO(s64);
  CHECK(s64.find("Input: (2, 784) float64") != std::string::npos);
  CHECK(s64.find("Params size: 1,881,168 bytes (1.79 MB)") != std::string::npos);
}

TEST_CASE("Module::summary: nested modules, frozen parameters, buffers, modes and RNG untouched") {
  struct Model : Module {
    std::shared_ptr<Sequential> body;
    std::shared_ptr<Linear> out;
    Model() : Module("Model") {
      body = register_module("body", std::make_shared<Sequential>(Linear(8, 4), BatchNorm1d(4), Dropout(0.5), ReLU()));
      out = register_module("out", std::make_shared<Linear>(4, 2));
    }
    Tensor forward(const Tensor& x) override { return (*out)((*body)(x)); }
  } model;
  model.out->weight().requires_grad_(false);
  manual_seed(9);
  const double next_before = rand({1}).item<double>();
  manual_seed(9);
  const std::string s = model.summary({1, 8});  // batch 1: BatchNorm must run in eval mode
  INFO(s);
  CHECK(rand({1}).item<double>() == next_before);  // no random numbers drawn (Dropout ran in eval mode)
  for (const auto& m : model.modules()) CHECK(m->is_training());
  for (const char* part : {"body (Sequential)", "  body.0 (Linear)", "  body.1 (BatchNorm1d)", "  body.2 (Dropout)", "out (Linear)",
                           "(1, 4)", "(1, 2)", "36", "8", "10", "Total params: 54", "Trainable params: 46", "Non-trainable params: 8",
                           "Buffer elements: 9", "Buffers size: 40 bytes"})
    CHECK_MESSAGE(s.find(part) != std::string::npos, "missing: " << part);
  // the container row shows "--" (its parameters belong to its children)
  const auto row = s.find("body (Sequential)");
  const auto eol = s.find('\n', row);
  CHECK(s.substr(row, eol - row).find("--") != std::string::npos);
}
