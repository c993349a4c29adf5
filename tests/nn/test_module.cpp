// Module base: registry, dotted names, modes, dtype conversion, state dicts, hooks, printing.
#include "nn_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using namespace xgrad::nn;

namespace {

/// A module with its own parameter and buffer and a nested child, built without Linear (so these tests
/// do not depend on the matmul ops).
struct Scale : Module {
  Tensor* w;
  Tensor* count;
  explicit Scale(std::int64_t n, double init = 1.0) : Module("Scale") {
    w = &register_parameter("w", full({n}, init));
    count = &register_buffer("count", zeros({n}));
  }
  Tensor forward(const Tensor& x) override { return x * *w; }
  std::string extra_repr() const override { return fmt::format("n={}", w->numel()); }
};

struct Block : Module {
  std::shared_ptr<Scale> a, b;
  Block() : Module("Block") {
    a = register_module("a", std::make_shared<Scale>(3, 2.0));
    b = register_module("b", Scale(3, 3.0));
  }
  Tensor forward(const Tensor& x) override { return (*b)((*a)(x)); }
};

struct Net : Module {
  Tensor* gain;
  std::shared_ptr<Block> encoder;
  std::shared_ptr<Sequential> head;
  Net() {  // no type name given: demangled from the class
    gain = &register_parameter("gain", ones({1}));
    encoder = register_module("encoder", std::make_shared<Block>());
    head = register_module("head", std::make_shared<Sequential>(Scale(3, 0.5), Tanh()));
  }
  Tensor forward(const Tensor& x) override { return (*head)((*encoder)(x) * *gain); }
};

std::vector<std::string> keys_of(const OrderedDict<Tensor>& d) { return d.keys(); }

}  // namespace

TEST_CASE("Module: dotted names follow registration order") {
  Net net;
  CHECK(net.type_name() == "Net");
  const std::vector<std::string> params{"gain", "encoder.a.w", "encoder.b.w", "head.0.w"};
  CHECK(keys_of(net.named_parameters()) == params);
  CHECK(net.parameters().size() == 4);
  CHECK(net.parameters(false).size() == 1);
  CHECK(keys_of(net.named_buffers()) == std::vector<std::string>{"encoder.a.count", "encoder.b.count", "head.0.count"});
  CHECK(net.named_children().keys() == std::vector<std::string>{"encoder", "head"});
  CHECK(net.children().size() == 2);
  CHECK(net.named_modules().keys() == std::vector<std::string>{"", "encoder", "encoder.a", "encoder.b", "head", "head.0", "head.1"});
  CHECK(net.modules(false).size() == 6);
  // every parameter requires grad, and the handles share data with the registry
  for (const Tensor& p : net.parameters()) CHECK(p.requires_grad());
  CHECK(net.named_parameters()["encoder.b.w"].is_same(net.encoder->b->parameter("w")));
  CHECK(net.parameter("encoder.a.w").at({0}) == 2.0);
  CHECK(net.buffer("head.0.count").numel() == 3);
  CHECK(net.child("head").get() == net.head.get());
  // state_dict: own parameters, own buffers, then children, recursively
  CHECK(net.state_dict().keys() == std::vector<std::string>{"gain", "encoder.a.w", "encoder.a.count", "encoder.b.w", "encoder.b.count",
                                                             "head.0.w", "head.0.count"});
}

TEST_CASE("Module: registration errors name the module and the key") {
  Scale s(2);
  check_throws_with<ValueError>([&] { s.register_parameter("w", ones({1})); }, {"Scale::register_parameter", "'w'", "parameter"});
  check_throws_with<ValueError>([&] { s.register_buffer("w", ones({1})); }, {"register_buffer", "'w'", "already used"});
  check_throws_with<ValueError>([&] { s.register_parameter("a.b", ones({1})); }, {"'a.b'", "must not contain '.'"});
  check_throws_with<ValueError>([&] { s.register_parameter("", ones({1})); }, {"must not be empty"});
  check_throws_with<ValueError>([&] { s.register_module("count", std::make_shared<ReLU>()); }, {"'count'", "buffer"});
  check_throws_with<ValueError>([&] { s.register_module("m", std::shared_ptr<ReLU>()); }, {"'m'", "null"});
  check_throws_with<DtypeError>([&] { s.register_parameter("i", tensor_int({1, 2})); }, {"'i'", "int64"});
  check_throws_with<IndexError>([&] { s.parameter("nope"); }, {"no parameter named 'nope'", "'w'"});
  check_throws_with<IndexError>([&] { s.buffer("x.y"); }, {"no buffer named 'x.y'"});
  check_throws_with<IndexError>([&] { s.child("c"); }, {"no child module named 'c'"});
  // a non-leaf is detached; requires_grad can be off; undefined parameters are skipped
  Tensor x = leaf({2});
  Tensor& q = s.register_parameter("q", x * 2.0, false);
  CHECK(q.is_leaf());
  CHECK_FALSE(q.requires_grad());
  s.register_parameter("absent", Tensor());
  CHECK(s.named_parameters().keys() == std::vector<std::string>{"w", "q"});
  CHECK_FALSE(s.state_dict().contains("absent"));
}

TEST_CASE("Module: shared parameters are listed once") {
  struct Tied : Module {
    std::shared_ptr<Scale> a, b;
    Tied() : Module("Tied") {
      a = register_module("a", std::make_shared<Scale>(2));
      b = register_module("b", std::make_shared<Scale>(2));
      b->parameter("w") = a->parameter("w");
    }
  } tied;
  CHECK(tied.parameters().size() == 1);
  CHECK(count_parameters(tied) == 2);
  CHECK(tied.state_dict().size() == 4);  // state dicts keep both names, like PyTorch
  Scale s(2);
  s.register_parameter("alias", s.parameter("w"));
  CHECK(s.parameters().size() == 1);
  CHECK(s.state_dict().keys() == std::vector<std::string>{"w", "alias", "count"});
}

TEST_CASE("Module: train/eval recurse, apply visits children first") {
  Net net;
  CHECK(net.is_training());
  net.eval();
  for (const auto& m : net.modules()) CHECK_FALSE(m->is_training());
  net.head->train();
  CHECK(net.head->at(1)->is_training());
  CHECK_FALSE(net.encoder->is_training());
  net.train();
  for (const auto& m : net.modules()) CHECK(m->is_training());
  std::vector<std::string> order;
  net.encoder->apply([&](Module& m) { order.push_back(m.type_name()); });
  CHECK(order == std::vector<std::string>{"Scale", "Scale", "Block"});
}

TEST_CASE("Module: zero_grad clears or zeroes every parameter's grad") {
  Net net;
  Tensor x = randn({2, 3});
  net(x).sum().backward();
  for (const Tensor& p : net.parameters()) REQUIRE(p.grad().defined());
  net.zero_grad(false);
  for (const Tensor& p : net.parameters()) {
    REQUIRE(p.grad().defined());
    CHECK(p.grad().abs().sum().item<double>() == 0.0);
  }
  net.zero_grad();
  for (const Tensor& p : net.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("Module: requires_grad_ freezes and unfreezes a subtree, frozen parameters get no gradient") {
  Net net;
  CHECK(&net.encoder->requires_grad_(false) == net.encoder.get());
  for (const auto& [name, p] : net.named_parameters()) {
    INFO(name);
    CHECK(p.requires_grad() == (name.rfind("encoder.", 0) != 0));
  }
  CHECK(count_parameters(net, /*trainable_only=*/true) == count_parameters(net) - 6);
  net(randn({2, 3})).sum().backward();
  CHECK_FALSE(net.encoder->a->w->grad().defined());
  CHECK_FALSE(net.encoder->b->w->grad().defined());
  CHECK(net.gain->grad().defined());
  CHECK(net.head->at<Scale>(0)->w->grad().defined());
  for (const Tensor& b : net.buffers()) CHECK_FALSE(b.requires_grad());  // buffers untouched
  net.requires_grad_();
  for (const Tensor& p : net.parameters()) CHECK(p.requires_grad());
}

TEST_CASE("Module: to(dtype) replaces floating parameters and buffers, keeping requires_grad and ties") {
  Net net;
  net.encoder->b->parameter("w").requires_grad_(false);
  net.head->at<Scale>(0)->parameter("w") = net.encoder->a->parameter("w");  // tie two parameters
  net(ones({1, 3})).sum().backward();
  BatchNorm1d bn(3);
  net.to(kFloat64);
  bn.to(kFloat64);
  for (const auto& [name, p] : net.named_parameters()) {
    INFO(name);
    CHECK(p.dtype() == kFloat64);
  }
  for (const Tensor& b : net.buffers()) CHECK(b.dtype() == kFloat64);
  CHECK(net.parameter("encoder.a.w").requires_grad());
  CHECK_FALSE(net.parameter("encoder.b.w").requires_grad());
  CHECK(net.parameter("encoder.a.w").grad().dtype() == kFloat64);
  CHECK(net.parameter("encoder.a.w").is_same(net.parameter("head.0.w")));
  CHECK(net.encoder->a->w->dtype() == kFloat64);  // layers read their slots
  CHECK(bn.running_mean().dtype() == kFloat64);
  CHECK(bn.weight().dtype() == kFloat64);
  CHECK(bn.num_batches_tracked().dtype() == kInt64);
  const Tensor y = net(ones({1, 3}, kFloat64));
  CHECK(y.dtype() == kFloat64);
  check_throws_with<DtypeError>([&] { net.to(kInt64); }, {"Net::to", "int64"});
}

TEST_CASE("Module: state_dict round trip copies into the existing tensors") {
  Net a, b;
  for (const Tensor& p : a.parameters()) init::uniform_(p, -1, 1);
  init::uniform_(a.buffer("encoder.a.count"), 5, 6);
  const Tensor b_gain = b.parameter("gain");
  const auto sd = a.state_dict();
  for (const auto& [k, t] : sd) {
    CHECK_FALSE(t.requires_grad());
    CHECK_FALSE(t.grad_fn());
  }
  const auto result = b.load_state_dict(sd);
  CHECK(result.missing_keys.empty());
  CHECK(result.unexpected_keys.empty());
  for (const auto& [k, t] : a.state_dict()) {
    INFO(k);
    CHECK(allclose(t, b.state_dict()[k], 0, 0));
  }
  CHECK(b.parameter("gain").is_same(b_gain));  // same tensor object: optimizers keep their references
  CHECK(b.parameter("gain").requires_grad());
  // the state dict shares data with the module (clone for a snapshot)
  {
    NoGradGuard g;
    a.parameter("gain").fill_(7.0);
  }
  CHECK(sd["gain"].at({0}) == 7.0);
  // a float64 state dict loads into a float32 module (converted)
  Net c;
  c.to(kFloat64);
  b.load_state_dict(c.state_dict());
  CHECK(b.parameter("gain").dtype() == kFloat32);
  CHECK(allclose(b.parameter("gain"), c.parameter("gain").to(kFloat32)));
}

TEST_CASE("Module: load_state_dict reports every missing, unexpected and mis-shaped key at once") {
  Net net;
  const auto good = net.state_dict();
  StateDict bad;
  for (const auto& [k, t] : good) {
    if (k == "encoder.b.w" || k == "head.0.count") continue;  // missing
    bad.insert(k, k == "gain" ? zeros({2, 2}) : t.clone());    // gain mis-shaped
  }
  bad.insert("encoder.c.w", zeros({3}));  // unexpected
  bad.insert("extra", zeros({1}));
  const Tensor before = net.parameter("encoder.a.w").clone();
  init::zeros_(bad["encoder.a.w"]);
  check_throws_with<ValueError>([&] { net.load_state_dict(bad); },
                                {"Net::load_state_dict", "missing keys: 'encoder.b.w', 'head.0.count'",
                                 "unexpected keys: 'encoder.c.w', 'extra'", "'gain' expected shape (1,), got (2, 2)"});
  CHECK(allclose(net.parameter("encoder.a.w"), before));  // nothing was copied
  // non-strict: shape mismatches still throw, but keys may differ
  check_throws_with<ValueError>([&] { net.load_state_dict(bad, false); }, {"shape mismatch", "'gain'"});
  bad.erase("gain");
  const auto result = net.load_state_dict(bad, false);
  CHECK(result.missing_keys == std::vector<std::string>{"gain", "encoder.b.w", "head.0.count"});
  CHECK(result.unexpected_keys == std::vector<std::string>{"encoder.c.w", "extra"});
  CHECK(net.parameter("encoder.a.w").abs().sum().item<double>() == 0.0);  // the matching entries were loaded
}

TEST_CASE("Module: forward hooks observe and replace, handles remove them") {
  Scale s(2, 3.0);
  Tensor x = ones({2});
  std::vector<std::string> calls;
  auto pre = s.register_forward_pre_hook([&](Module& m, const Tensor& in) -> Tensor {
    calls.push_back("pre " + m.type_name());
    return in * 2.0;
  });
  auto post = s.register_forward_hook([&](Module&, const Tensor& in, const Tensor& out) -> Tensor {
    calls.push_back(fmt::format("post {}", in.at({0})));  // the hook sees the (replaced) input
    return out + 1.0;
  });
  auto observe = s.register_forward_hook([&](Module&, const Tensor&, const Tensor& out) { calls.push_back(fmt::format("see {}", out.at({0}))); });
  CHECK(s(x).at({0}) == 7.0);  // (1*2)*3 + 1
  CHECK(calls == std::vector<std::string>{"pre Scale", "post 2", "see 7"});
  CHECK(pre.active());
  pre.remove();
  pre.remove();  // idempotent
  CHECK_FALSE(pre.active());
  CHECK(s(x).at({0}) == 4.0);
  post.remove();
  observe.remove();
  CHECK(s(x).at({0}) == 3.0);
  HookHandle outlives;
  {
    Scale tmp(1);
    outlives = tmp.register_forward_hook([](Module&, const Tensor&, const Tensor&) {});
  }
  CHECK_FALSE(outlives.active());
  outlives.remove();  // harmless after the module is gone
}

TEST_CASE("Module: full backward hooks receive grad_input and grad_output and may replace grad_input") {
  Tanh tanh_layer;
  Tensor x = leaf({2, 3});
  Tensor w = leaf({2, 3}, -1, 1, 2).detach();
  Tensor seen_in, seen_out;
  int calls = 0;
  auto h = tanh_layer.register_full_backward_hook([&](Module& m, const Tensor& gi, const Tensor& go) {
    CHECK(m.type_name() == "Tanh");
    seen_in = gi.clone();
    seen_out = go.clone();
    ++calls;
  });
  Tensor y = tanh_layer(x);
  (y * w).sum().backward();
  CHECK(calls == 1);
  CHECK(allclose(seen_out, w));
  const Tensor expected = w * (1.0 - tanh(x.detach()).square());
  CHECK(allclose(seen_in, expected));
  CHECK(allclose(x.grad(), expected));
  h.remove();

  // replacing grad_input changes what reaches x
  x.zero_grad();
  auto h2 = tanh_layer.register_full_backward_hook([](Module&, const Tensor& gi, const Tensor&) -> Tensor { return gi * 0.0; });
  (tanh_layer(x) * w).sum().backward();
  CHECK(x.grad().abs().sum().item<double>() == 0.0);
  h2.remove();

  // an input that needs no gradient: the hook fires with an undefined grad_input
  Scale s(3, 2.0);
  bool fired = false;
  s.register_full_backward_hook([&](Module&, const Tensor& gi, const Tensor& go) {
    fired = true;
    CHECK_FALSE(gi.defined());
    CHECK(allclose(go, ones({2, 3})));
  });
  s(ones({2, 3})).sum().backward();
  CHECK(fired);
  CHECK(allclose(s.parameter("w").grad(), full({3}, 2.0)));
  // no hooks wired without grad mode
  fired = false;
  {
    NoGradGuard g;
    s(ones({2, 3}));
  }
  CHECK_FALSE(fired);
}

TEST_CASE("Module: printing names and trees") {
  CHECK(Flatten().name() == "Flatten(start_dim=1, end_dim=-1)");
  CHECK(ReLU().name() == "ReLU()");
  CHECK(LeakyReLU(0.2).name() == "LeakyReLU(alpha=0.2)");
  CHECK(Dropout(0.25).name() == "Dropout(p=0.25)");
  CHECK(BatchNorm1d(4).name() == "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)");
  CHECK(BatchNorm1d(4, BatchNormOptions::keras_defaults()).name() ==
        "BatchNorm1d(4, eps=0.001, momentum=0.99 (keras convention), affine=true, track_running_stats=true)");
  CHECK(BatchNorm1d(4, 1e-5, std::nullopt).name() == "BatchNorm1d(4, eps=1e-05, momentum=cumulative, affine=true, track_running_stats=true)");
  CHECK(LayerNorm(10).name() == "LayerNorm((10,), eps=1e-05, elementwise_affine=true)");
  CHECK(LayerNorm({2, 3}, 1e-3, false).name() == "LayerNorm((2, 3), eps=0.001, elementwise_affine=false)");
  CHECK(Embedding(10, 3).name() == "Embedding(10, 3)");
  Net net;
  CHECK(to_string(net) ==
        "Net(\n"
        "  (encoder): Block(\n"
        "    (a): Scale(n=3)\n"
        "    (b): Scale(n=3)\n"
        "  )\n"
        "  (head): Sequential(\n"
        "    (0): Scale(n=3)\n"
        "    (1): Tanh()\n"
        "  )\n"
        ")");
}

TEST_CASE("Module: forward not implemented, errors inside forward name the call site") {
  Module plain;
  check_throws_with<ValueError>([&] { plain(ones({1})); }, {"Module::forward is not implemented", "test_module.cpp"});
  BatchNorm1d bn(3);
  check_throws_with<ShapeError>([&] { bn(ones({2, 4})); }, {"BatchNorm1d", "(N, 3)", "(2, 4)", "test_module.cpp"});
}

TEST_CASE("functional_call swaps tensors in and restores them") {
  Scale s(2, 3.0);
  const Tensor original = s.parameter("w");
  Tensor w = leaf({2});
  Tensor y = functional_call(s, {{"w", w}}, ones({2}, kFloat64));
  CHECK(allclose(y, w.detach()));
  CHECK(s.parameter("w").is_same(original));
  y.sum().backward();
  CHECK(allclose(w.grad(), ones({2}, kFloat64)));
  CHECK_FALSE(original.grad().defined());
  check_throws_with<IndexError>([&] { functional_call(s, {{"v", w}}, ones({2})); }, {"functional_call", "'v'"});
  CHECK(s.parameter("w").is_same(original));
  // restored even when forward throws, and the error names the caller's line
  check_throws_with<DtypeError>([&] { functional_call(s, {{"w", w}}, ones({2})); }, {"float32", "float64", "test_module.cpp"});
  CHECK(s.parameter("w").is_same(original));
}

TEST_CASE("OrderedDict keeps order and names missing keys") {
  OrderedDict<int> d{{"b", 1}, {"a", 2}};
  d.insert("c", 3);
  CHECK(d.keys() == std::vector<std::string>{"b", "a", "c"});
  CHECK(d["a"] == 2);
  d.insert_or_assign("a", 5);
  CHECK(d.at("a") == 5);
  d.erase("b");
  CHECK(d.keys() == std::vector<std::string>{"a", "c"});
  CHECK(d["c"] == 3);
  check_throws_with<ValueError>([&] { d.insert("c", 1); }, {"'c'", "already exists"});
  check_throws_with<IndexError>([&] { d.at("zz"); }, {"no key 'zz'"});
}
