// User-defined differentiable functions (autograd/function.hpp): forward values, gradients (gradcheck,
// gradgradcheck), context features, graph integration, and the errors a user can make.
#include <cmath>
#include <memory>
#include <string>

#include "custom_functions.hpp"
#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using namespace xgrad::testing::custom;
using autograd::Function;
using autograd::FunctionContext;

namespace {
std::string here(int line) { return fmt::format("test_function.cpp:{}", line); }

// Records what its context said about the inputs, and returns a gradient only where asked.
struct Probe : Function<Probe> {
  static inline std::vector<bool> forward_needs, backward_needs;
  static inline int backward_calls = 0;
  static Tensor forward(FunctionContext& ctx, const TensorList& in) {
    forward_needs = {ctx.needs_input_grad(0), ctx.needs_input_grad(1), ctx.needs_input_grad(2)};
    CHECK_FALSE(GradMode::is_enabled());  // forward is never recorded
    return in[0] * 2.0 + in[1] * 3.0;
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) {
    ++backward_calls;
    backward_needs = {ctx.needs_input_grad(0), ctx.needs_input_grad(1), ctx.needs_input_grad(2)};
    return {ctx.needs_input_grad(0) ? g[0] * 2.0 : Tensor(), ctx.needs_input_grad(1) ? g[0] * 3.0 : Tensor(), Tensor()};
  }
};

// Returns (2x, mask of x > 0, argmax-like int64 index); the mask is marked non-differentiable.
struct WithMask : Function<WithMask> {
  static inline Tensor seen_mask_grad;
  static TensorList forward(FunctionContext& ctx, const TensorList& in) {
    Tensor mask = gt(in[0], 0.0);
    ctx.mark_non_differentiable({mask});
    return {in[0] * 2.0, mask, tensor_int({0})};
  }
  static TensorList backward(FunctionContext&, const TensorList& g) {
    seen_mask_grad = g[1];
    return {g[0] * 2.0};
  }
};

struct WrongShape : Function<WrongShape> {
  static Tensor forward(FunctionContext&, const TensorList& in) { return in[0] * 1.0; }
  static TensorList backward(FunctionContext&, const TensorList& g) { return {g[0].t()}; }
};
struct WrongDtype : Function<WrongDtype> {
  static Tensor forward(FunctionContext&, const TensorList& in) { return in[0] * 1.0; }
  static TensorList backward(FunctionContext&, const TensorList& g) { return {g[0].to(kFloat32)}; }
};
struct WrongCount : Function<WrongCount> {
  static Tensor forward(FunctionContext&, const TensorList& in) { return in[0] + in[1]; }
  static TensorList backward(FunctionContext&, const TensorList& g) { return {g[0]}; }
};

struct Identity : Function<Identity> {
  static Tensor forward(FunctionContext&, const TensorList& in) { return in[0]; }
  static TensorList backward(FunctionContext&, const TensorList& g) { return {g[0]}; }
};

// Saves an input, an intermediate and nothing (undefined), and reads them back.
struct SaveMany : Function<SaveMany> {
  static Tensor forward(FunctionContext& ctx, const TensorList& in) {
    Tensor sq = in[0] * in[0];
    ctx.save_for_backward({in[0], sq, Tensor()});
    return sq * in[0];
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) {
    const TensorList s = ctx.saved();
    REQUIRE(s.size() == 3);
    CHECK_FALSE(s[2].defined());
    return {g[0] * s[1] * 3.0};  // 3x² via the saved intermediate (a constant for double backward)
  }
};

struct MisusedContext : Function<MisusedContext> {
  static Tensor forward(FunctionContext& ctx, const TensorList& in) {
    check_throws_with<GraphError>([&] { (void)ctx.saved(); }, {"MisusedContext", "saved()", "backward"});
    return in[0] * 1.0;
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) {
    check_throws_with<GraphError>([&] { ctx.save_for_backward({g[0]}); }, {"MisusedContext", "save_for_backward", "forward"});
    check_throws_with<GraphError>([&] { ctx.mark_non_differentiable({g[0]}); }, {"mark_non_differentiable", "forward"});
    return {g[0]};
  }
};

struct Peek : Function<Peek> {
  static inline int backward_calls = 0;
  static Tensor forward(FunctionContext& ctx, const TensorList& in) {
    ctx.set("count", 3);
    CHECK(ctx.get<int>("count") == 3);
    check_throws_with<ValueError>([&] { (void)ctx.get<double>("count"); }, {"Peek", "count", "int", "double"});
    check_throws_with<ValueError>([&] { (void)ctx.get<int>("missing"); }, {"Peek", "missing", "count"});
    return in[0] * 1.0;
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) {
    ++backward_calls;
    CHECK(ctx.get<int>("count") == 3);  // kept for backward
    CHECK(ctx.name() == "Peek");
    return {g[0]};
  }
};

struct BadForward : Function<BadForward> {
  static Tensor forward(FunctionContext&, const TensorList& in) { return in[0] + ones({7}, kFloat64); }
  static TensorList backward(FunctionContext&, const TensorList& g) { return {g[0]}; }
};

struct NanForward : Function<NanForward> {
  static Tensor forward(FunctionContext&, const TensorList& in) { return in[0] * std::nan(""); }
  static TensorList backward(FunctionContext&, const TensorList& g) { return {g[0]}; }
};
}  // namespace

TEST_CASE("Function: forward values and first gradients") {
  Tensor x = from_vector({0.0, 1.0, -0.5}, {3}, kFloat64).requires_grad_();
  Tensor y = MyExp::apply({x});
  CHECK(allclose(y, from_vector({1.0, std::exp(1.0), std::exp(-0.5)}, {3}, kFloat64)));
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  CHECK(y.grad_fn_name() == "MyExpBackward");
  y.sum().backward();
  CHECK(allclose(x.grad(), y.detach()));
}

TEST_CASE("Function: gradcheck and gradgradcheck") {
  Tensor x = leaf({2, 3});
  CHECK(gradcheck([](const TensorList& in) { return MyExp::apply({in[0]}); }, {x}));
  CHECK(gradgradcheck([](const TensorList& in) { return MyExp::apply({in[0]}); }, {x}));
  CHECK(gradcheck([](const TensorList& in) { return Cube::apply(in[0]); }, {x}));
  CHECK(gradgradcheck([](const TensorList& in) { return Cube::apply(in[0]); }, {x}));
  Tensor b = leaf({3}, -2, 2, 7);
  CHECK(gradcheck([](const TensorList& in) { return MulAdd::apply(in); }, {x, b}));
  CHECK(gradgradcheck([](const TensorList& in) { return MulAdd::apply(in); }, {x, b}));
}

TEST_CASE("Function: double backward through the user's backward (d²/dx² x³ = 6x)") {
  Tensor x = from_vector({0.5, -2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = Cube::apply({x}).sum();
  const TensorList g = autograd::grad({y}, {x}, {}, {.create_graph = true});
  CHECK(allclose(g[0], from_vector({0.75, 12.0}, {2}, kFloat64)));
  CHECK(g[0].requires_grad());
  const TensorList g2 = autograd::grad({g[0].sum()}, {x});
  CHECK(allclose(g2[0], from_vector({3.0, -12.0}, {2}, kFloat64)));
  // A saved *output* is reconnected to the node: d²/dx² e^x = e^x.
  Tensor z = MyExp::apply({x}).sum();
  const TensorList e1 = autograd::grad({z}, {x}, {}, {.create_graph = true});
  const TensorList e2 = autograd::grad({e1[0].sum()}, {x});
  CHECK(allclose(e2[0], from_vector({std::exp(0.5), std::exp(-2.0)}, {2}, kFloat64)));
}

TEST_CASE("Function: the node name can be given, or is the type's name") {
  Tensor x = ones({1}, kFloat64).requires_grad_();
  CHECK(Cube::apply({x}).grad_fn_name() == "cubeBackward");
  CHECK(Affine::apply({x}, 1.0, 0.0).grad_fn_name() == "AffineBackward");
  CHECK(Identity::apply({x}).grad_fn_name() == "IdentityBackward");
}

TEST_CASE("Function: several inputs and outputs") {
  Tensor a = from_vector({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, kFloat64).requires_grad_();
  Tensor b = from_vector({1.0, -1.0, 0.5}, {3}, kFloat64).requires_grad_();
  const TensorList out = MulAdd::apply({a, b});
  REQUIRE(out.size() == 2);
  CHECK(out[0].output_nr() == 0);
  CHECK(out[1].output_nr() == 1);
  CHECK(out[0].grad_fn() == out[1].grad_fn());
  CHECK(allclose(out[0], a.detach() * b.detach()));
  CHECK(allclose(out[1], a.detach() + b.detach()));
  // Only one output used: the other gets zeros.
  out[1].sum().backward(Tensor(), {.retain_graph = true});
  CHECK(allclose(a.grad(), ones({2, 3}, kFloat64)));
  CHECK(allclose(b.grad(), full({3}, 2.0, kFloat64)));
  a.zero_grad();
  b.zero_grad();
  out[0].sum().backward();
  CHECK(allclose(a.grad(), b.detach().expand({2, 3})));
  CHECK(allclose(b.grad(), from_vector({5.0, 7.0, 9.0}, {3}, kFloat64)));
}

TEST_CASE("Function: non-tensor arguments and state in the context") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = Affine::apply({x}, 2.5, 1.0);
  CHECK(allclose(y, from_vector({3.5, 6.0}, {2}, kFloat64)));
  y.sum().backward();
  CHECK(allclose(x.grad(), full({2}, 2.5, kFloat64)));
}

TEST_CASE("Function: context value lookup errors") {
  Tensor x = ones({1}, kFloat64).requires_grad_();
  Peek::apply({x}).backward();
  CHECK(Peek::backward_calls == 1);
}

TEST_CASE("Function: needs_input_grad in forward and backward, unrequested gradients are dropped") {
  Tensor a = ones({2}, kFloat64).requires_grad_();
  Tensor b = ones({2}, kFloat64);
  Tensor c = ones({2}, kFloat64);
  Tensor y = Probe::apply({a, b, c});
  CHECK(Probe::forward_needs == std::vector<bool>{true, false, false});
  y.sum().backward();
  CHECK(Probe::backward_needs == std::vector<bool>{true, false, false});
  CHECK(allclose(a.grad(), full({2}, 2.0, kFloat64)));
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("Function: nothing is recorded without grad mode or inputs that require grad") {
  Tensor x = ones({2}, kFloat64).requires_grad_();
  {
    NoGradGuard no_grad;
    Tensor y = MyExp::apply({x});
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
  }
  Tensor z = MyExp::apply({ones({2}, kFloat64)});
  CHECK_FALSE(z.requires_grad());
  CHECK(z.grad_fn() == nullptr);
  NoGradGuard no_grad;
  const int before = Probe::backward_calls;
  Tensor p = Probe::apply({x, x, x});
  CHECK(Probe::forward_needs == std::vector<bool>{false, false, false});
  CHECK(Probe::backward_calls == before);
}

TEST_CASE("Function: non-differentiable outputs") {
  Tensor x = from_vector({-1.0, 2.0}, {2}, kFloat64).requires_grad_();
  const TensorList out = WithMask::apply({x});
  REQUIRE(out.size() == 3);
  CHECK(out[0].requires_grad());
  CHECK_FALSE(out[1].requires_grad());  // marked
  CHECK(out[1].is_leaf());
  CHECK_FALSE(out[2].requires_grad());  // int64
  CHECK(allclose(out[1], from_vector({0.0, 1.0}, {2}, kFloat64)));
  out[0].sum().backward();
  REQUIRE(WithMask::seen_mask_grad.defined());
  CHECK(allclose(WithMask::seen_mask_grad, zeros({2}, kFloat64)));  // backward sees zeros for it
  CHECK(allclose(x.grad(), full({2}, 2.0, kFloat64)));
  WithMask::seen_mask_grad = Tensor();
  check_throws_with<GraphError>([&] { out[1].sum().backward(); }, {"does not require grad"});
}

TEST_CASE("Function: returning an input gives a new tensor, the input keeps its identity") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = Identity::apply({x});
  CHECK_FALSE(y.is_same(x));
  CHECK(x.is_leaf());
  CHECK(y.grad_fn_name() == "IdentityBackward");
  CHECK(y.data<double>() == x.data<double>());  // same memory
  (y * 3.0).sum().backward();
  CHECK(allclose(x.grad(), full({2}, 3.0, kFloat64)));
}

TEST_CASE("Function: saved inputs, intermediates and undefined entries") {
  Tensor x = from_vector({1.0, -2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = SaveMany::apply({x});
  CHECK(allclose(y, from_vector({1.0, -8.0}, {2}, kFloat64)));
  y.sum().backward();
  CHECK(allclose(x.grad(), from_vector({3.0, 12.0}, {2}, kFloat64)));
}

TEST_CASE("Function: context misuse is a GraphError") {
  Tensor x = ones({1}, kFloat64).requires_grad_();
  MisusedContext::apply({x}).backward();
  CHECK(x.grad().item<double>() == 1.0);
}

TEST_CASE("Function: a wrong-shape gradient from the user's backward is a clear GraphError") {
  Tensor x = ones({2, 3}, kFloat64).requires_grad_();
  Tensor y = WrongShape::apply({x});
  const int line = __LINE__ - 1;
  check_throws_with<GraphError>([&] { y.sum().backward(); },
                                {"WrongShape::backward", "shape (3, 2)", "input 0", "shape (2, 3)", here(line)});
}

TEST_CASE("Function: wrong dtype or number of gradients are GraphErrors") {
  Tensor x = ones({2}, kFloat64).requires_grad_();
  check_throws_with<GraphError>([&] { WrongDtype::apply({x}).sum().backward(); }, {"WrongDtype::backward", "float32", "float64"});
  check_throws_with<GraphError>([&] { WrongCount::apply({x, x}).sum().backward(); },
                                {"WrongCount::backward", "returned 1 gradient", "2 inputs"});
}

TEST_CASE("Function: errors in forward name the apply call site") {
  Tensor x = ones({2, 3}, kFloat64).requires_grad_();
  check_throws_with<ShapeError>([&] { BadForward::apply({x}); }, {"add", "(2, 3)", "(7,)", "BadForward", here(__LINE__)});
  DetectAnomalyGuard anomaly;
  check_throws_with<AnomalyError>([&] { NanForward::apply({x}); }, {"NanForward", "NaN", here(__LINE__)});
}

TEST_CASE("Function: saved tensors get the version check and are freed by backward") {
  Tensor a = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor b = from_vector({3.0, 4.0}, {2}, kFloat64).requires_grad_();
  SUBCASE("in-place change of a saved input") {
    const TensorList out = MulAdd::apply({a, b});
    {
      NoGradGuard no_grad;
      b.add_(1.0);
    }
    check_throws_with<GraphError>([&] { out[0].sum().backward(); }, {"MulAddBackward", "version is 1", "expected 0"});
  }
  SUBCASE("second backward without retain_graph") {
    const TensorList out = MulAdd::apply({a, b});
    Tensor s = out[0].sum();
    s.backward(Tensor(), {.retain_graph = true});
    s.backward();
    CHECK(allclose(a.grad(), b.detach() * 2.0));
    check_throws_with<GraphError>([&] { s.backward(); }, {"MulAddBackward", "second time", "retain_graph"});
  }
  SUBCASE("saved tensors are released") {
    Tensor h = a * 2.0;
    std::weak_ptr<TensorImpl> saved = h.impl();
    Tensor y = Cube::apply({h}).sum();  // Cube saves h
    h = Tensor();
    CHECK_FALSE(saved.expired());
    y.backward();
    CHECK(saved.expired());
  }
}

TEST_CASE("Function: saving an output creates no reference cycle") {
  Tensor x = ones({3}, kFloat64).requires_grad_();
  Tensor y = MyExp::apply({x});  // saves y
  std::weak_ptr<Node> node = y.grad_fn();
  std::weak_ptr<TensorImpl> out = y.impl();
  REQUIRE_FALSE(node.expired());
  y = Tensor();
  CHECK(node.expired());
  CHECK(out.expired());
}
