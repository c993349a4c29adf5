// The backward engine: graph shapes (reuse, diamonds, deep chains, wide fans), accumulation, retain_graph,
// hooks, retain_grad, grad modes, detach, higher-order gradients, autograd::grad, the version counter,
// anomaly mode, error messages, and release of saved tensors. Expected values are hand-derived.
#include <cmath>
#include <memory>
#include <string>
#include <thread>

#include <xgrad/autograd/function.hpp>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

Tensor scalar_leaf(double v, Dtype dtype = kFloat64) { return full({1}, v, dtype).requires_grad_(); }

std::string here(int line) { return fmt::format("test_engine.cpp:{}", line); }

double value(const Tensor& t) { return t.item<double>(); }

// A weak observer of a tensor's implementation object: expired once nothing (handle, graph node,
// saved tensor) holds it any more.
std::weak_ptr<TensorImpl> observe(const Tensor& t) { return t.impl(); }

}  // namespace

// ---- graph shapes -------------------------------------------------------------------------------

TEST_CASE("engine: a tensor used twice by one op (x * x) gets both contributions") {
  Tensor x = scalar_leaf(3.0);
  Tensor y = x * x;
  y.backward();
  CHECK(value(x.grad()) == doctest::Approx(6.0));  // d(x²)/dx = 2x
}

TEST_CASE("engine: diamond graph sums every path exactly once") {
  Tensor x = scalar_leaf(0.5);
  Tensor a = x * 2.0;
  Tensor b = x.exp();
  Tensor c = a * b;
  Tensor d = c + a;  // d = 2x e^x + 2x
  d.backward();
  const double e = std::exp(0.5);
  CHECK(value(x.grad()) == doctest::Approx(2 * e + 2 * 0.5 * e + 2));
}

TEST_CASE("engine: shared subexpressions are propagated once per node (no exponential blowup)") {
  // y_{k+1} = 0.5 y_k + 0.5 y_k: 200 levels, 2^200 paths. Each intermediate's hook must run once.
  Tensor x = full({3}, 1.5, kFloat64).requires_grad_();
  Tensor y = x;
  int hook_calls = 0;
  constexpr int kLevels = 200;
  for (int k = 0; k < kLevels; ++k) {
    y = y * 0.5 + y * 0.5;
    y.register_hook([&](const Tensor&) {
      ++hook_calls;
      return Tensor();
    });
  }
  y.sum().backward();
  CHECK(hook_calls == kLevels);
  CHECK(allclose(y, full({3}, 1.5, kFloat64)));
  CHECK(allclose(x.grad(), ones({3}, kFloat64)));  // y = x, so dy/dx = 1
}

TEST_CASE("engine: several outputs at once and explicit upstream gradients") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y1 = x * 3.0;
  Tensor y2 = x * x;
  autograd::backward({y1, y2}, {from_vector({1.0, 1.0}, {2}, kFloat64), from_vector({0.5, 2.0}, {2}, kFloat64)});
  // d/dx <y1, g1> + <y2, g2> = 3 g1 + 2 x g2
  CHECK(allclose(x.grad(), from_vector({3.0 + 2 * 1 * 0.5, 3.0 + 2 * 2 * 2.0}, {2}, kFloat64)));
}

TEST_CASE("engine: gradients accumulate in leaves across backward calls until zero_grad") {
  Tensor x = from_vector({1.0, -2.0}, {2}, kFloat64).requires_grad_();
  (x * 3.0).sum().backward();
  CHECK(allclose(x.grad(), full({2}, 3.0, kFloat64)));
  (x * x).sum().backward();  // += 2x
  CHECK(allclose(x.grad(), from_vector({5.0, -1.0}, {2}, kFloat64)));
  const Tensor kept = x.grad();
  x.zero_grad(/*set_to_none=*/false);
  CHECK(x.grad().defined());
  CHECK(allclose(x.grad(), zeros({2}, kFloat64)));
  CHECK(kept.is_same(x.grad()));  // zeroed in place
  (x * 2.0).sum().backward();
  CHECK(allclose(x.grad(), full({2}, 2.0, kFloat64)));
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  (x * 2.0).sum().backward();
  CHECK(allclose(x.grad(), full({2}, 2.0, kFloat64)));
}

TEST_CASE("engine: set_grad replaces the gradient and checks its shape") {
  Tensor x = zeros({2, 3}, kFloat64).requires_grad_();
  x.set_grad(ones({2, 3}, kFloat64));
  (x * 2.0).sum().backward();
  CHECK(allclose(x.grad(), full({2, 3}, 3.0, kFloat64)));
  check_throws_with<ShapeError>([&] { x.set_grad(ones({3, 2}, kFloat64)); }, {"set_grad", "(3, 2)", "(2, 3)"});
  x.set_grad(Tensor());
  CHECK_FALSE(x.grad().defined());
}

// ---- retain_graph --------------------------------------------------------------------------------

TEST_CASE("engine: a second backward without retain_graph is a GraphError") {
  Tensor x = scalar_leaf(2.0);
  Tensor y = (x * x).sum();  // MulBackward saves x
  y.backward();
  check_throws_with<GraphError>([&] { y.backward(); }, {"MulBackward", "second time", "retain_graph"});
}

TEST_CASE("engine: retain_graph allows a second backward, which accumulates") {
  Tensor x = scalar_leaf(2.0);
  Tensor y = (x * x).sum();
  y.backward(Tensor(), {.retain_graph = true});
  CHECK(value(x.grad()) == doctest::Approx(4.0));
  y.backward();
  CHECK(value(x.grad()) == doctest::Approx(8.0));
  check_throws_with<GraphError>([&] { y.backward(); }, {"second time"});
}

TEST_CASE("engine: a graph without saved tensors can be walked again") {
  // Like PyTorch: only nodes whose saved tensors were freed refuse a second pass.
  Tensor x = scalar_leaf(2.0);
  Tensor y = (x + 1.0).sum();
  y.backward();
  y.backward();
  CHECK(value(x.grad()) == doctest::Approx(2.0));
}

// ---- hooks ---------------------------------------------------------------------------------------

TEST_CASE("engine: hooks on a leaf can inspect and replace its gradient, and be removed") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor seen;
  const int inspect = x.register_hook([&](const Tensor& g) {
    seen = g;
    return Tensor();  // keep the gradient
  });
  const int doubler = x.register_hook([](const Tensor& g) { return g * 2.0; });
  (x * x).sum().backward();
  REQUIRE(seen.defined());
  CHECK(allclose(seen, from_vector({2.0, 4.0}, {2}, kFloat64)));    // the hook saw 2x
  CHECK(allclose(x.grad(), from_vector({4.0, 8.0}, {2}, kFloat64)));  // then it was doubled
  x.remove_hook(doubler);
  x.zero_grad();
  (x * x).sum().backward();
  CHECK(allclose(x.grad(), from_vector({2.0, 4.0}, {2}, kFloat64)));
  x.remove_hook(inspect);
  seen = Tensor();
  (x * x).sum().backward();
  CHECK_FALSE(seen.defined());
}

TEST_CASE("engine: hooks on a non-leaf see and replace the gradient flowing through it, in registration order") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor h = x * 3.0;
  Tensor seen;
  h.register_hook([&](const Tensor& g) {
    seen = g;
    return g + 1.0;
  });
  const int times10 = h.register_hook([](const Tensor& g) { return g * 10.0; });
  (h * 2.0).sum().backward(Tensor(), {.retain_graph = true});
  CHECK(allclose(seen, full({2}, 2.0, kFloat64)));
  CHECK(allclose(x.grad(), full({2}, (2.0 + 1.0) * 10.0 * 3.0, kFloat64)));  // (g + 1) * 10, then * 3
  h.remove_hook(times10);
  x.zero_grad();
  (h * 2.0).sum().backward();
  CHECK(allclose(x.grad(), full({2}, (2.0 + 1.0) * 3.0, kFloat64)));
}

TEST_CASE("engine: hook errors") {
  Tensor c = ones({2});
  check_throws_with<GraphError>([&] { c.register_hook([](const Tensor& g) { return g; }); }, {"register_hook", "does not require grad"});
  Tensor x = ones({2, 3}, kFloat64).requires_grad_();
  Tensor h = x * 2.0;
  h.register_hook([](const Tensor&) { return ones({3, 2}, kFloat64); });
  check_throws_with<GraphError>([&] { h.sum().backward(); }, {"(3, 2)", "(2, 3)"});
  Tensor z = ones({2, 3}, kFloat64).requires_grad_();
  z.register_hook([](const Tensor&) { return ones({4}, kFloat64); });
  check_throws_with<GraphError>([&] { (z * 2.0).sum().backward(); }, {"AccumulateGrad", "(4,)", "(2, 3)"});
}

// ---- retain_grad ---------------------------------------------------------------------------------

TEST_CASE("engine: retain_grad keeps (and accumulates) the gradient of a non-leaf") {
  Tensor x = from_vector({1.0, -1.0}, {2}, kFloat64).requires_grad_();
  Tensor h = x * 2.0;
  Tensor other = x * 5.0;
  CHECK_FALSE(h.retains_grad());
  h.retain_grad();
  CHECK(h.retains_grad());
  Tensor y = (h * h).sum() + other.sum();
  y.backward(Tensor(), {.retain_graph = true});
  CHECK(allclose(h.grad(), from_vector({4.0, -4.0}, {2}, kFloat64)));  // 2h
  CHECK_FALSE(other.grad().defined());                                  // not retained
  CHECK_FALSE(h.grad().requires_grad());
  y.backward();
  CHECK(allclose(h.grad(), from_vector({8.0, -8.0}, {2}, kFloat64)));  // accumulated
  CHECK(allclose(x.grad(), from_vector({2 * 8.0 + 10.0, 2 * -8.0 + 10.0}, {2}, kFloat64)));
  Tensor leaf = ones({1}).requires_grad_();
  leaf.retain_grad();  // a no-op on leaves
  check_throws_with<GraphError>([] { ones({1}).retain_grad(); }, {"retain_grad", "does not require grad"});
}

TEST_CASE("engine: autograd::grad does not touch grad() of leaves or retained non-leaves") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor h = x * 2.0;
  h.retain_grad();
  Tensor y = (h * h).sum();
  const TensorList g = autograd::grad({y}, {x});
  CHECK(allclose(g[0], from_vector({8.0, 16.0}, {2}, kFloat64)));  // 8x
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(h.grad().defined());
}

// ---- grad modes ----------------------------------------------------------------------------------

TEST_CASE("grad mode: NoGradGuard and EnableGradGuard nest and restore") {
  Tensor x = ones({2}).requires_grad_();
  CHECK(GradMode::is_enabled());
  {
    NoGradGuard no_grad;
    CHECK_FALSE(GradMode::is_enabled());
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
    CHECK(y.grad_fn_name().empty());
    {
      EnableGradGuard enable;
      CHECK(GradMode::is_enabled());
      Tensor z = x * 2.0;
      CHECK(z.requires_grad());
      CHECK(z.grad_fn_name() == "MulBackward");
      {
        NoGradGuard inner;
        CHECK_FALSE(GradMode::is_enabled());
      }
      CHECK(GradMode::is_enabled());
    }
    CHECK_FALSE(GradMode::is_enabled());
  }
  CHECK(GradMode::is_enabled());
  {
    AutoGradMode off(false);
    CHECK_FALSE(GradMode::is_enabled());
  }
  CHECK(GradMode::is_enabled());
}

TEST_CASE("grad mode: is thread-local (a new thread records even inside a NoGradGuard)") {
  Tensor x = ones({2}).requires_grad_();
  NoGradGuard no_grad;
  bool thread_enabled = false, thread_records = false, thread_disabled_after = true;
  std::thread worker([&] {
    thread_enabled = GradMode::is_enabled();
    Tensor y = x * 2.0;
    thread_records = y.requires_grad();
    GradMode::set_enabled(false);  // does not leak to the main thread
    thread_disabled_after = !GradMode::is_enabled();
  });
  worker.join();
  CHECK(thread_enabled);
  CHECK(thread_records);
  CHECK(thread_disabled_after);
  CHECK_FALSE(GradMode::is_enabled());
  {
    EnableGradGuard enable;
    CHECK(GradMode::is_enabled());
  }
}

TEST_CASE("grad mode: backward works inside a NoGradGuard (the engine sets the mode it needs)") {
  Tensor x = scalar_leaf(3.0);
  Tensor y = x * x;
  NoGradGuard no_grad;
  y.backward();
  CHECK(value(x.grad()) == doctest::Approx(6.0));
  CHECK_FALSE(x.grad().requires_grad());
}

// ---- detach and requires_grad_ ---------------------------------------------------------------------

TEST_CASE("engine: detach shares data but leaves the graph") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = x * 2.0;
  Tensor d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.grad_fn() == nullptr);
  CHECK(allclose(d, y));
  d.add_(1.0);  // shares storage: y sees it
  CHECK(allclose(y, from_vector({3.0, 5.0}, {2}, kFloat64)));
  CHECK(y.version() == d.version());
  // Gradients do not flow through a detached tensor.
  Tensor z = (d * x).sum();
  z.backward();
  CHECK(allclose(x.grad(), from_vector({3.0, 5.0}, {2}, kFloat64)));
}

TEST_CASE("engine: detach_ turns a non-leaf into a leaf in place") {
  Tensor x = ones({2}, kFloat64).requires_grad_();
  Tensor y = x * 2.0;
  y.retain_grad();
  REQUIRE(y.grad_fn_name() == "MulBackward");
  Tensor& r = y.detach_();
  CHECK(&r == &y);
  CHECK(y.is_leaf());
  CHECK_FALSE(y.requires_grad());
  CHECK_FALSE(y.retains_grad());
  CHECK(y.grad_fn_name().empty());
  CHECK(allclose(y, full({2}, 2.0, kFloat64)));
  check_throws_with<GraphError>([&] { y.sum().backward(); }, {"does not require grad"});
}

TEST_CASE("engine: requires_grad_ rules") {
  Tensor x = ones({2});
  CHECK_FALSE(x.requires_grad());
  CHECK(&x.requires_grad_() == &x);
  CHECK(x.requires_grad());
  x.requires_grad_(false);
  CHECK_FALSE(x.requires_grad());
  x.requires_grad_();
  Tensor y = x * 2.0;
  y.requires_grad_(true);  // fine: already requires grad
  check_throws_with<GraphError>([&] { y.requires_grad_(false); }, {"requires_grad_", "non-leaf", "detach"});
  Tensor labels = tensor_int({1, 2});
  check_throws_with<DtypeError>([&] { labels.requires_grad_(); }, {"requires_grad_", "int64"});
}

// ---- backward argument errors ----------------------------------------------------------------------

TEST_CASE("engine: backward of a non-scalar needs an explicit gradient") {
  Tensor x = ones({2, 3}, kFloat64).requires_grad_();
  Tensor y = x * 2.0;
  check_throws_with<ShapeError>([&] { y.backward(); }, {"backward", "(2, 3)", "one-element"});
  Tensor g = full({2, 3}, 0.5, kFloat64);
  y.backward(g);
  CHECK(allclose(x.grad(), ones({2, 3}, kFloat64)));  // 2 * 0.5
  Tensor y2 = x * 2.0;
  check_throws_with<ShapeError>([&] { y2.backward(ones({3, 2}, kFloat64)); }, {"backward", "(3, 2)", "(2, 3)"});
  check_throws_with<ShapeError>([&] { y2.backward(ones({2, 3}, kFloat32)); }, {"float32", "float64"});
  check_throws_with<ValueError>([&] { autograd::backward({y2}, {g, g}); }, {"1 outputs", "2 gradients"});
}

TEST_CASE("engine: a one-element output of any rank gets an implicit gradient of one") {
  Tensor x = full({1, 1, 1}, 2.0, kFloat64).requires_grad_();
  (x * x).backward();
  CHECK(x.grad().at({0, 0, 0}) == doctest::Approx(4.0));
  Tensor s = scalar_tensor(3.0, kFloat64).requires_grad_();  // 0-d
  (s * s).backward();
  CHECK(s.grad().item<double>() == doctest::Approx(6.0));
}

TEST_CASE("engine: backward on a tensor that needs no gradient is a GraphError") {
  Tensor x = ones({1});
  check_throws_with<GraphError>([&] { (x * 2.0).backward(); }, {"backward", "does not require grad", "requires_grad_"});
  Tensor w = ones({1}).requires_grad_();
  Tensor y;
  {
    NoGradGuard no_grad;
    y = w * 2.0;
  }
  check_throws_with<GraphError>([&] { y.backward(); }, {"does not require grad", "NoGradGuard"});
  check_throws_with<ValueError>([&] { Tensor().backward(); }, {"undefined"});
}

// ---- higher-order gradients ---------------------------------------------------------------------

TEST_CASE("engine: second derivative of x^3 with create_graph") {
  Tensor x = from_vector({0.5, -1.5, 2.0}, {3}, kFloat64).requires_grad_();
  Tensor y = (x * x * x).sum();
  const TensorList g = autograd::grad({y}, {x}, {}, {.create_graph = true});
  REQUIRE(g[0].requires_grad());
  CHECK(allclose(g[0], from_vector({0.75, 6.75, 12.0}, {3}, kFloat64)));  // 3x²
  const TensorList g2 = autograd::grad({g[0].sum()}, {x});
  CHECK(allclose(g2[0], from_vector({3.0, -9.0, 12.0}, {3}, kFloat64)));  // 6x
  CHECK_FALSE(g2[0].requires_grad());
  // third derivative: 6
  Tensor z = (x * x * x).sum();
  const TensorList d1 = autograd::grad({z}, {x}, {}, {.create_graph = true});
  const TensorList d2 = autograd::grad({d1[0].sum()}, {x}, {}, {.create_graph = true});
  const TensorList d3 = autograd::grad({d2[0].sum()}, {x});
  CHECK(allclose(d3[0], full({3}, 6.0, kFloat64)));
}

TEST_CASE("engine: backward with create_graph makes x.grad differentiable") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  (x * x * x).sum().backward(Tensor(), {.create_graph = true});
  Tensor g = x.grad();
  REQUIRE(g.requires_grad());
  CHECK(allclose(g, from_vector({3.0, 12.0}, {2}, kFloat64)));
  x.zero_grad();  // also breaks the x -> x.grad -> graph -> x reference cycle
  g.sum().backward();
  CHECK(allclose(x.grad(), from_vector({6.0, 12.0}, {2}, kFloat64)));
}

TEST_CASE("engine: a leaf keeps one AccumulateGrad node across steps, and the graph does not keep the leaf") {
  Tensor x = scalar_leaf(2.0);
  Tensor y1 = x * 3.0;
  const std::weak_ptr<Node> acc = y1.grad_fn()->next_edges()[0].node;
  y1.backward();
  y1 = Tensor();  // the first graph is gone; the leaf still owns its accumulator
  REQUIRE_FALSE(acc.expired());
  Tensor y2 = x * 5.0;
  CHECK(y2.grad_fn()->next_edges()[0].node == acc.lock());  // made once per leaf, not once per graph
  y2.backward();
  CHECK(value(x.grad()) == 8.0);

  // Dropping the leaf while a graph still uses it (add saves nothing, so only the AccumulateGrad node
  // refers to z, weakly): z is freed, backward still runs and reaches w.
  Tensor z = scalar_leaf(1.5);
  Tensor w = scalar_leaf(4.0);
  const auto z_impl = observe(z);
  Tensor out = (z + w) * 2.0;
  z = Tensor();
  CHECK(z_impl.expired());
  out.backward();
  CHECK(value(w.grad()) == 2.0);
}

TEST_CASE("engine: Hessian-vector product") {
  // f(x) = Σ x_i³ + (Σ x_i)²  ->  H = diag(6x) + 2·11ᵀ,  Hv = 6 x ⊙ v + 2 (Σ v) 1
  Tensor x = from_vector({0.5, -1.0, 2.0}, {3}, kFloat64).requires_grad_();
  Tensor v = from_vector({1.0, 2.0, -0.5}, {3}, kFloat64);
  Tensor f = (x * x * x).sum() + x.sum() * x.sum();
  const TensorList g = autograd::grad({f}, {x}, {}, {.create_graph = true});
  const TensorList hv = autograd::grad({(g[0] * v).sum()}, {x});
  const double sv = 1.0 + 2.0 - 0.5;
  CHECK(allclose(hv[0], from_vector({6 * 0.5 * 1.0 + 2 * sv, 6 * -1.0 * 2.0 + 2 * sv, 6 * 2.0 * -0.5 + 2 * sv}, {3}, kFloat64)));
}

TEST_CASE("engine: saved outputs take part in double backward (exp)") {
  // d/dx e^x = e^x (ExpBackward reads its saved output), d²/dx² = e^x
  Tensor x = scalar_leaf(0.3);
  Tensor y = x.exp();
  const TensorList g = autograd::grad({y}, {x}, {}, {.create_graph = true});
  const TensorList g2 = autograd::grad({g[0]}, {x});
  CHECK(value(g2[0]) == doctest::Approx(std::exp(0.3)));
}

// ---- autograd::grad ------------------------------------------------------------------------------

TEST_CASE("autograd::grad: allow_unused and the unused-input error") {
  Tensor x = ones({2}, kFloat64).requires_grad_();
  Tensor z = ones({3}, kFloat64).requires_grad_();
  Tensor y = (x * 2.0).sum();
  const TensorList g = autograd::grad({y}, {x, z}, {}, {.retain_graph = true, .allow_unused = true});
  REQUIRE(g.size() == 2);
  CHECK(allclose(g[0], full({2}, 2.0, kFloat64)));
  CHECK_FALSE(g[1].defined());
  check_throws_with<GraphError>([&] { autograd::grad({y}, {x, z}); }, {"autograd::grad", "input 1", "(3,)", "allow_unused"});
}

TEST_CASE("autograd::grad: inputs that do not require grad are rejected") {
  Tensor x = ones({2}, kFloat64).requires_grad_();
  Tensor c = ones({2}, kFloat64);
  Tensor y = (x * c).sum();
  check_throws_with<GraphError>([&] { autograd::grad({y}, {x, c}); }, {"autograd::grad", "input 1", "does not require grad"});
}

TEST_CASE("autograd::grad: with respect to non-leaf tensors, running only the needed part of the graph") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor u = x * 1.0;
  int u_hook_calls = 0;
  u.register_hook([&](const Tensor&) {
    ++u_hook_calls;
    return Tensor();
  });
  Tensor h = u * 2.0;
  Tensor y = (h * h).sum();
  const TensorList g = autograd::grad({y}, {h});
  CHECK(allclose(g[0], from_vector({4.0, 8.0}, {2}, kFloat64)));  // 2h
  CHECK(u_hook_calls == 0);                                         // nothing behind h ran
  CHECK_FALSE(x.grad().defined());
  // grad with respect to both a non-leaf and a leaf behind it
  Tensor y2 = (h * h).sum();
  const TensorList g2 = autograd::grad({y2}, {h, x});
  CHECK(allclose(g2[0], from_vector({4.0, 8.0}, {2}, kFloat64)));
  CHECK(allclose(g2[1], from_vector({8.0, 16.0}, {2}, kFloat64)));  // 8x
  CHECK(u_hook_calls == 1);
}

TEST_CASE("autograd::grad: leaf hooks apply to the returned gradient like in backward") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  x.register_hook([](const Tensor& g) { return g * 2.0; });
  const TensorList g = autograd::grad({(x * x).sum()}, {x});
  CHECK(allclose(g[0], from_vector({4.0, 8.0}, {2}, kFloat64)));
}

TEST_CASE("autograd::grad: create_graph returns differentiable gradients, default returns detached ones") {
  Tensor x = scalar_leaf(2.0);
  const TensorList g = autograd::grad({x * x}, {x});
  CHECK_FALSE(g[0].requires_grad());
  const TensorList gc = autograd::grad({x * x}, {x}, {}, {.create_graph = true});
  CHECK(gc[0].requires_grad());
  CHECK(value(gc[0]) == doctest::Approx(4.0));
  // the same input twice gets the same gradient twice
  const TensorList twice = autograd::grad({x * x * x}, {x, x});
  CHECK(value(twice[0]) == doctest::Approx(12.0));
  CHECK(value(twice[1]) == doctest::Approx(12.0));
}

// ---- version counter and in-place ops ---------------------------------------------------------------

TEST_CASE("version counter: modifying a saved input under NoGradGuard makes backward throw") {
  Tensor a = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor b = from_vector({3.0, 4.0}, {2}, kFloat64);
  Tensor c = mul(a, b).sum();  // MulBackward saves b
  const int line = __LINE__ - 1;
  CHECK(b.version() == 0);
  {
    NoGradGuard no_grad;
    b.mul_(2.0);
  }
  CHECK(b.version() == 1);
  check_throws_with<GraphError>([&] { c.backward(); },
                                {"MulBackward", "modified by an in-place operation", "version is 1", "expected 0", here(line)});
}

TEST_CASE("version counter: modifying a saved output through a view is caught too") {
  Tensor x = from_vector({0.1, 0.2}, {2}, kFloat64).requires_grad_();
  Tensor y = x.exp();  // ExpBackward saves y
  Tensor s = y.sum();
  {
    NoGradGuard no_grad;
    y.detach().add_(1.0);  // same storage
  }
  check_throws_with<GraphError>([&] { s.backward(); }, {"ExpBackward", "version is 1", "expected 0"});
}

TEST_CASE("version counter: in-place changes of tensors nobody saved are fine") {
  Tensor a = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor b = from_vector({3.0, 4.0}, {2}, kFloat64);
  Tensor c = (a + b).sum();  // AddBackward saves nothing
  {
    NoGradGuard no_grad;
    b.mul_(2.0);
  }
  c.backward();
  CHECK(allclose(a.grad(), ones({2}, kFloat64)));
}

TEST_CASE("in-place ops on tensors that require grad are refused in grad mode") {
  Tensor w = ones({2, 2}).requires_grad_();
  check_throws_with<GraphError>([&] { w.add_(1.0); }, {"add_", "requires grad", "(2, 2)", "a leaf", "NoGradGuard"});
  check_throws_with<GraphError>([&] { w.mul_(ones({2})); }, {"mul_", "requires grad"});
  check_throws_with<GraphError>([&] { w.zero_(); }, {"fill_", "requires grad"});
  Tensor y = w * 2.0;
  check_throws_with<GraphError>([&] { y.fill_(0.0); }, {"fill_", "requires grad"});
  {
    NoGradGuard no_grad;  // an optimizer step
    w.add_(ones({2, 2}), -0.5);
  }
  CHECK(allclose(w, full({2, 2}, 0.5)));
  CHECK(w.version() == 1);
}

// ---- anomaly mode --------------------------------------------------------------------------------

TEST_CASE("anomaly mode: a NaN produced in forward names the op and the call site") {
  Tensor x = from_vector({1.0, -1.0}, {2}, kFloat64).requires_grad_();
  CHECK_FALSE(AnomalyMode::is_enabled());
  Tensor quiet = x.log();  // off by default: NaN passes silently
  CHECK(std::isnan(quiet.at({1})));
  DetectAnomalyGuard guard;
  CHECK(AnomalyMode::is_enabled());
  check_throws_with<AnomalyError>([&] { Tensor y = log(x); }, {"log", "NaN", here(__LINE__)});
  Tensor c = from_vector({-1.0}, {1}, kFloat64);  // also without a graph
  check_throws_with<AnomalyError>([&] { Tensor y = c.sqrt(); }, {"sqrt", here(__LINE__)});
}

TEST_CASE("anomaly mode: a NaN gradient in backward names the node and its forward call site") {
  // y = sqrt(x) * 0 at x = 0: forward is finite (0), SqrtBackward computes 0 / (2·0) = NaN.
  Tensor x = zeros({1}, kFloat64).requires_grad_();
  DetectAnomalyGuard guard;
  Tensor y = x.sqrt() * 0.0;
  const int line = __LINE__ - 1;
  check_throws_with<AnomalyError>([&] { y.backward(); }, {"SqrtBackward", "NaN", here(line)});
}

TEST_CASE("anomaly mode: off, the same NaN gradient passes, the guard restores the mode") {
  Tensor x = zeros({1}, kFloat64).requires_grad_();
  {
    DetectAnomalyGuard on;
    {
      DetectAnomalyGuard off(false);
      CHECK_FALSE(AnomalyMode::is_enabled());
    }
    CHECK(AnomalyMode::is_enabled());
  }
  CHECK_FALSE(AnomalyMode::is_enabled());
  Tensor y = x.sqrt() * 0.0;
  y.backward();
  CHECK(std::isnan(x.grad().item<double>()));
}

// ---- error messages ------------------------------------------------------------------------------

TEST_CASE("errors: a shape mismatch names the op, both shapes and the caller's file:line") {
  Tensor a = ones({2, 3});
  Tensor b = ones({4});
  check_throws_with<ShapeError>([&] { Tensor c = add(a, b); }, {"add", "(2, 3)", "(4,)", here(__LINE__)});
  check_throws_with<ShapeError>([&] { Tensor c = mul(a, b); }, {"mul", "(2, 3)", "(4,)", here(__LINE__)});
  check_throws_with<ShapeError>([&] { Tensor c = a.reshape({5}); }, {"reshape", "(2, 3)", "(5,)", here(__LINE__)});
  // Operators cannot take a defaulted source-location argument: their messages name the op and shapes.
  check_throws_with<ShapeError>([&] { Tensor c = a - b; }, {"sub", "(2, 3)", "(4,)"});
}

TEST_CASE("errors: mixing dtypes names both dtypes") {
  Tensor a = ones({2}, kFloat32);
  Tensor b = ones({2}, kFloat64);
  check_throws_with<DtypeError>([&] { Tensor c = add(a, b); }, {"add", "float32", "float64", here(__LINE__)});
  check_throws_with<DtypeError>([&] { Tensor c = a + b; }, {"add", "float32", "float64"});
  check_throws_with<DtypeError>([&] { Tensor c = a * b; }, {"mul", "float32", "float64"});
  check_throws_with<DtypeError>([&] { a.add_(b); }, {"add_", "float32", "float64"});
}

namespace {
// A function whose backward makes a shape error inside an xgrad op.
struct BadBackward : autograd::Function<BadBackward> {
  static Tensor forward(autograd::FunctionContext&, const TensorList& in) { return in[0] * 2.0; }
  static TensorList backward(autograd::FunctionContext&, const TensorList& g) { return {g[0] + ones({5}, kFloat64)}; }
};
}  // namespace

TEST_CASE("errors: an error inside a backward formula names the forward call site") {
  Tensor x = ones({2, 3}, kFloat64).requires_grad_();
  Tensor y = BadBackward::apply({x});
  const int line = __LINE__ - 1;
  check_throws_with<ShapeError>([&] { y.sum().backward(); }, {"add", "(2, 3)", "(5,)", "BadBackwardBackward", here(line)});
  // The engine recovers: another backward works.
  (x * 2.0).sum().backward();
  CHECK(allclose(x.grad(), full({2, 3}, 2.0, kFloat64)));
}

// ---- deep and wide graphs -------------------------------------------------------------------------

TEST_CASE("engine: a 1,000,000-op chain builds, backpropagates and is destroyed without recursion") {
  Tensor x = scalar_leaf(1.0);
  {
    Tensor y = x;
    for (int i = 0; i < 500'000; ++i) {
      y = y * 1.0000001;
      y = y + 0.0;
    }
    y.backward();
    CHECK(value(y) == doctest::Approx(std::pow(1.0000001, 500'000)).epsilon(1e-9));
  }  // the whole chain is freed here
  CHECK(value(x.grad()) == doctest::Approx(std::pow(1.0000001, 500'000)).epsilon(1e-9));
}

TEST_CASE("engine: a 1,000,000-op chain is destroyed without backward") {
  Tensor x = scalar_leaf(1.0);
  std::weak_ptr<TensorImpl> leaf = observe(x);
  {
    Tensor y = x;
    for (int i = 0; i < 500'000; ++i) {
      y = y * 1.0000001;
      y = y + 0.0;
    }
    CHECK(y.grad_fn_name() == "AddBackward");
  }
  x = Tensor();
  CHECK(leaf.expired());  // the graph held the leaf (through AccumulateGrad); all of it is gone
}

TEST_CASE("engine: deep graphs with saved tensors and retain_graph") {
  // y = x^(2^k) through repeated y*y (each node saves both inputs); dy/dx = 2^k x^(2^k - 1).
  Tensor x = scalar_leaf(1.0000001);
  Tensor y = x;
  for (int i = 0; i < 20; ++i) y = y * y;
  y.backward(Tensor(), {.retain_graph = true});
  const double n = std::pow(2.0, 20);
  CHECK(value(x.grad()) == doctest::Approx(n * std::pow(1.0000001, n - 1)).epsilon(1e-9));
  Tensor z = x;
  for (int i = 0; i < 100'000; ++i) z = z * scalar_leaf(1.0);  // saves every input
  z.backward();
}

TEST_CASE("engine: wide graphs (one leaf feeding 100,000 nodes, 100,000 outputs at once)") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  constexpr int kWidth = 100'000;
  TensorList terms;
  terms.reserve(kWidth);
  for (int i = 0; i < kWidth; ++i) terms.push_back(x * static_cast<double>(i % 3));
  Tensor s = terms[0];
  for (int i = 1; i < kWidth; ++i) s = s + terms[static_cast<std::size_t>(i)];
  s.sum().backward();
  const double expected = 33'333 * (0 + 1 + 2) + 0;  // Σ_{i<100,000} (i mod 3): 33,333 full cycles, then i = 99,999 ≡ 0
  CHECK(allclose(x.grad(), full({2}, expected, kFloat64)));
  x.zero_grad();
  // autograd::backward over many roots at once
  autograd::backward(TensorList(terms.begin(), terms.end()), TensorList(terms.size(), ones({2}, kFloat64)));
  CHECK(allclose(x.grad(), full({2}, expected, kFloat64)));
}

namespace {
// y = Σ_i inputs[i]: one node with thousands of inputs.
struct SumAllN : autograd::Function<SumAllN> {
  static Tensor forward(autograd::FunctionContext& ctx, const TensorList& in) {
    ctx.set("n", in.size());
    Tensor s = zeros_like(in[0]);
    for (const Tensor& t : in) s.add_(t);
    return s;
  }
  static TensorList backward(autograd::FunctionContext& ctx, const TensorList& g) {
    return TensorList(ctx.get<std::size_t>("n"), g[0]);
  }
};
}  // namespace

TEST_CASE("engine: one node with 100,000 inputs") {
  constexpr int kInputs = 100'000;
  TensorList leaves;
  leaves.reserve(kInputs);
  for (int i = 0; i < kInputs; ++i) leaves.push_back(full({1}, static_cast<double>(i), kFloat64).requires_grad_());
  Tensor s = SumAllN::apply(leaves);
  CHECK(value(s) == doctest::Approx(static_cast<double>(kInputs) * (kInputs - 1) / 2));
  (s * 3.0).backward();
  bool all_three = true;
  for (const Tensor& l : leaves) all_three = all_three && l.grad().item<double>() == 3.0;
  CHECK(all_three);
}

// ---- release of saved tensors --------------------------------------------------------------------

TEST_CASE("memory: saved tensors are released by backward, kept with retain_graph") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  SUBCASE("released by backward") {
    Tensor h = x * 2.0;
    Tensor z = (h * h).sum();  // MulBackward saves h
    std::weak_ptr<TensorImpl> saved = observe(h);
    h = Tensor();
    CHECK_FALSE(saved.expired());  // only the graph holds it now
    z.backward();
    CHECK(saved.expired());
  }
  SUBCASE("kept by retain_graph until the graph goes") {
    Tensor h = x * 2.0;
    Tensor z = (h * h).sum();
    std::weak_ptr<TensorImpl> saved = observe(h);
    h = Tensor();
    z.backward(Tensor(), {.retain_graph = true});
    CHECK_FALSE(saved.expired());
    z.backward();
    CHECK(saved.expired());
  }
  SUBCASE("released when the graph is dropped without backward") {
    Tensor h = x * 2.0;
    Tensor z = (h * h).sum();
    std::weak_ptr<TensorImpl> saved = observe(h);
    h = Tensor();
    z = Tensor();
    CHECK(saved.expired());
  }
  SUBCASE("autograd::grad releases like backward") {
    Tensor h = x * 2.0;
    Tensor z = (h * h).sum();
    std::weak_ptr<TensorImpl> saved = observe(h);
    h = Tensor();
    autograd::grad({z}, {x});
    CHECK(saved.expired());
  }
}

TEST_CASE("memory: the gradient buffer is stolen, not copied, when nobody else holds it") {
  Tensor x = ones({4}, kFloat64).requires_grad_();
  (x * 2.0).sum().backward();
  const Tensor g1 = x.grad();
  (x * 2.0).sum().backward();
  CHECK(g1.is_same(x.grad()));  // accumulated in place into the same tensor
  CHECK(allclose(x.grad(), full({4}, 4.0, kFloat64)));
}

TEST_CASE("engine: accumulating into a gradient that has a graph never modifies it in place") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  (x * x).sum().backward(Tensor(), {.create_graph = true});
  const Tensor first = x.grad();
  REQUIRE(first.requires_grad());
  (x * 3.0).sum().backward();
  CHECK(allclose(first, from_vector({2.0, 4.0}, {2}, kFloat64)));  // untouched
  CHECK(first.version() == 0);
  CHECK(allclose(x.grad(), from_vector({5.0, 7.0}, {2}, kFloat64)));
  x.zero_grad();
}
