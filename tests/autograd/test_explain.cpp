// Explaining backward: Tensor names, the engine's trace hook (BackwardTraceGuard), record_backward,
// explain / explain_backward (node-by-node steps and chain-rule lines) and to_dot. Expected numbers
// are derived by hand in the comments.
#include <algorithm>
#include <string>
#include <vector>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

Tensor named_leaf(double v, const char* name) {
  Tensor t = scalar_tensor(v, kFloat64).requires_grad_();
  t.set_name(name);
  return t;
}

Tensor named(Tensor t, const char* name) {
  t.set_name(name);
  return t;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void check_contains(const std::string& text, const std::vector<std::string>& parts) {
  for (const auto& p : parts) {
    INFO("text:\n" << text);
    CHECK_MESSAGE(contains(text, p), "missing '" << p << "'");
  }
}

}  // namespace

TEST_CASE("Tensor::set_name: stored on the tensor object, shared by handle copies, not by results") {
  Tensor a = scalar_tensor(1.0, kFloat64);
  CHECK(a.name().empty());
  const Tensor& same = a.set_name("a");
  CHECK(&same == &a);
  const Tensor copy = a;
  CHECK(copy.name() == "a");
  CHECK((a * 2.0).name().empty());
  check_throws_with<ValueError>([] { (void)Tensor().name(); }, {"name", "undefined"});
}

TEST_CASE("BackwardTraceGuard: sees every node once, in execution order, with what it received and passed on") {
  // L = (x * 3) + x at x = 2: dL/dx = 3 + 1 = 4.
  Tensor x = named_leaf(2.0, "x");
  const Tensor m = x * 3.0;
  const Tensor L = m + x;
  std::vector<std::string> names;
  std::vector<double> received;
  std::vector<std::size_t> passed;
  {
    autograd::BackwardTraceGuard guard([&](const Node& n, const TensorList& go, const TensorList& gi) {
      names.push_back(n.name());
      received.push_back(go.at(0).item<double>());
      passed.push_back(gi.size());
    });
    L.backward();
  }
  REQUIRE(names.size() == 3);
  CHECK(names[0] == std::string("AddBackward"));
  CHECK(names[1] == std::string("MulBackward"));
  CHECK(names[2] == std::string("AccumulateGrad"));
  CHECK(received == std::vector<double>{1.0, 1.0, 4.0});  // the leaf receives 3 + 1
  CHECK(passed == std::vector<std::size_t>{2, 1, 0});
  CHECK(x.grad().item<double>() == 4.0);  // the trace does not change the result

  // Without a guard nothing is traced; guards nest and restore the previous trace; the trace is off
  // inside the callback (a backward run there is not reported).
  int outer = 0, inner = 0;
  {
    autograd::BackwardTraceGuard g1([&](const Node&, const TensorList&, const TensorList&) { ++outer; });
    {
      autograd::BackwardTraceGuard g2([&](const Node&, const TensorList&, const TensorList&) {
        ++inner;
        EnableGradGuard record;  // the engine runs the callback with grad mode off (no create_graph)
        Tensor y = named_leaf(1.0, "y");
        (y * 2.0).backward();  // not traced
      });
      Tensor z = named_leaf(1.0, "z");
      (z * 2.0).backward();  // 2 nodes
    }
    Tensor z = named_leaf(1.0, "z");
    (z * 2.0).backward();  // 2 nodes, to the outer trace
  }
  Tensor z = named_leaf(1.0, "z");
  (z * 2.0).backward();  // no trace
  CHECK(inner == 2);
  CHECK(outer == 2);
}

TEST_CASE("record_backward: accumulates like backward and keeps the gradients of every node") {
  Tensor w = named_leaf(0.5, "w");
  const Tensor y = named(w * w, "y");  // dy/dw = 2w = 1
  const autograd::BackwardRecord rec = autograd::record_backward(y);
  REQUIRE(rec.steps.size() == 2);
  CHECK(rec.steps[0].node.get() == y.grad_fn().get());
  CHECK(rec.find(y.grad_fn().get()) == &rec.steps[0]);
  CHECK(rec.find(nullptr) == nullptr);
  CHECK(rec.steps[0].grad_inputs.size() == 2);  // w twice
  CHECK(rec.steps[0].grad_inputs[0].item<double>() == 0.5);
  CHECK(rec.steps[1].grad_outputs[0].item<double>() == 1.0);
  CHECK(w.grad().item<double>() == 1.0);
}

TEST_CASE("explain_backward: a chain of one-element tensors is written out like the slides") {
  // L = 2·y, y = x², x = 3: ∂L/∂y = 2, ∂y/∂x = 2x = 6, ∂L/∂x = 12.
  Tensor x = named_leaf(3.0, "x");
  const Tensor y = named(square(x), "y");
  const Tensor L = named(y * 2.0, "L");
  const std::string text = autograd::explain_backward(L, {y});
  check_contains(text, {"Backward pass of L: 3 nodes",
                        "[1] L = mul(y)",
                        "receives ∂L/∂L = 1",
                        "-> y: local ∂L/∂y = 2, passes 2",
                        "[2] y = square(x)",
                        "-> x: local ∂y/∂x = 6, passes 12",
                        "[3] x (leaf) receives ∂L/∂x = 12  -> accumulated into x.grad",
                        "∂L/∂y = 2",
                        "∂L/∂x = ∂L/∂y · ∂y/∂x",
                        "= (2) · (6) = 12"});
  CHECK(x.grad().item<double>() == 12.0);  // explain_backward is the backward pass
}

TEST_CASE("explain: unnamed values are labelled op#step and collapse into the local factor of a chain") {
  // E = ½(1 - out)², out = 0.8: ∂E/∂out = -(1 - 0.8) = -0.2; out = σ(z) is not named here, so the chain
  // runs straight from E to the leaf z through neg, add, square and mul.
  Tensor out = named_leaf(0.8, "out");
  const Tensor E = named(0.5 * square(1.0 - out), "E");
  const std::string text = autograd::explain_backward(E);
  check_contains(text, {"[1] E = mul(square#2)", "[2] square#2 = square(add#3)", "[3] add#3 = add(neg#4)",
                        "[4] neg#4 = neg(out)", "∂E/∂out = -0.2"});
}

TEST_CASE("explain: several named consumers give a sum of products") {
  // L = p + q with p = 2a, q = 3a: ∂L/∂a = 1·2 + 1·3 = 5.
  Tensor a = named_leaf(1.5, "a");
  const Tensor p = named(a * 2.0, "p"), q = named(a * 3.0, "q");
  const Tensor L = named(p + q, "L");
  const std::string text = autograd::explain_backward(L, {p, q});
  check_contains(text, {"∂L/∂a = ∂L/∂p · ∂p/∂a + ∂L/∂q · ∂q/∂a", "= (1) · (2) + (1) · (3) = 5"});
  CHECK(a.grad().item<double>() == 5.0);
}

TEST_CASE("explain: tensors show element-wise local derivatives or Jacobian products") {
  // a = σ(z) element-wise at z = 0: σ'(0) = 1/4. L = Σ (W·a): with W = [[1, 2]], ∂L/∂a = [1, 2].
  Tensor z = zeros({2}, kFloat64).requires_grad_();
  z.set_name("z");
  Tensor W = tensor({{1.0, 2.0}}, kFloat64).requires_grad_();
  W.set_name("W");
  const Tensor a = named(sigmoid(z), "a");
  const Tensor L = named(sum(linear(a, W)), "L");
  const std::string text = autograd::explain_backward(L, {a});
  check_contains(text, {"a = sigmoid(z), shape (2,)", "-> z: local ∂a/∂z = [0.25, 0.25] (element-wise), passes [0.25, 0.5]",
                        "-> W: Jacobian product, passes [[0.5, 0.5]]", "∂L/∂z = ∂L/∂a · ∂a/∂z", "[0.25, 0.5]"});
  autograd::ExplainOptions only_chains;
  only_chains.steps = false;
  Tensor z2 = zeros({2}, kFloat64).requires_grad_();
  const Tensor L2 = named(sum(sigmoid(z2)), "L2");
  const std::string chains = autograd::explain(autograd::record_backward(L2), L2, {}, only_chains);
  CHECK_FALSE(contains(chains, "Backward pass of"));
  CHECK(contains(chains, "Chain rule"));
  check_throws_with<ValueError>([] { (void)autograd::explain_backward(Tensor()); }, {"explain_backward", "undefined"});
}

TEST_CASE("to_dot: values, gradients, names, the root, and errors") {
  Tensor x = named_leaf(3.0, "x");
  const Tensor y = named(square(x), "y");
  const Tensor L = named(y * 2.0, "L");
  const autograd::BackwardRecord rec = autograd::record_backward(L);
  autograd::DotOptions opt;
  opt.named = {y};
  opt.record = &rec;
  opt.title = "a {title}";
  const std::string dot = autograd::to_dot(L, opt);
  check_contains(dot, {"digraph xgrad {", "rankdir=LR;", "{ x | data 3 | grad 12 }", "{ y | data 9 | grad 2 }",
                       "{ L | data 18 | grad 1 }", "peripheries=2", "label=\"square\"", "label=\"mul\"", "label=\"a {title}\""});
  CHECK(dot.back() == '\n');
  // Without a record only leaves show gradients (their grad()).
  const std::string plain = autograd::to_dot(L);
  check_contains(plain, {"{ x | data 3 | grad 12 }", "{ L | data 18 }"});
  // Compact: the unnamed square output loses its box; the square oval feeds the mul oval directly.
  const Tensor L2 = named(square(x) * 2.0, "L2");
  autograd::DotOptions compact;
  compact.compact = true;
  const std::string small = autograd::to_dot(L2, compact);
  const std::string full = autograd::to_dot(L2);
  CHECK(std::count(small.begin(), small.end(), '{') == 3);  // the graph, x and L2
  CHECK(std::count(full.begin(), full.end(), '{') == 4);    // and the square's output
  CHECK(contains(small, "op1 -> op0;"));
  check_throws_with<GraphError>([] { (void)autograd::to_dot(scalar_tensor(1.0)); }, {"to_dot", "does not require grad"});
  check_throws_with<ValueError>([] { (void)autograd::to_dot(Tensor()); }, {"to_dot", "undefined"});
}
