// Tensor::register_post_accumulate_grad_hook: when it fires (after accumulation, once per backward that
// reaches the leaf, after the tensor hooks), what it sees (the accumulated grad()), removal, and what it
// refuses. distributed::DistributedDataParallel is built on it.
#include <string>
#include <vector>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

TEST_CASE("post-accumulate hook: fires once per backward with grad() already accumulated") {
  Tensor w = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  std::vector<std::vector<double>> seen;
  w.register_post_accumulate_grad_hook([&](const Tensor& leaf) {
    CHECK(leaf.is_same(w));
    seen.push_back(leaf.grad().to_vector<double>());
  });
  // w is used three times: the engine sums every use first, so the hook fires once per backward.
  Tensor loss = (w * 3.0 + w * w + w).sum();  // d/dw = 3 + 2w + 1 = (6, 8)
  loss.backward();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::vector<double>{6.0, 8.0});
  // A second backward without zero_grad: the hook sees the sum of both passes.
  ((w * w).sum()).backward();  // d/dw = 2w = (2, 4)
  REQUIRE(seen.size() == 2);
  CHECK(seen[1] == std::vector<double>{8.0, 12.0});
}

TEST_CASE("post-accumulate hook: runs after the tensor hooks and may rewrite grad() in place") {
  Tensor w = tensor({1.0, -1.0}, kFloat64).requires_grad_();
  std::vector<std::string> order;
  w.register_hook([&](const Tensor& g) {
    order.push_back("tensor hook");
    return g * 2.0;  // replaces the incoming gradient before accumulation
  });
  w.register_post_accumulate_grad_hook([&](const Tensor& leaf) {
    order.push_back("post-accumulate hook");
    CHECK(leaf.grad().to_vector<double>() == std::vector<double>{2.0, 2.0});
    Tensor g = leaf.grad();
    g.mul_(0.5);  // e.g. averaging across processes
  });
  w.sum().backward();
  CHECK(order == std::vector<std::string>{"tensor hook", "post-accumulate hook"});
  CHECK(w.grad().to_vector<double>() == std::vector<double>{1.0, 1.0});
}

TEST_CASE("post-accumulate hook: not fired by autograd::grad, nor for leaves the backward does not reach") {
  Tensor a = tensor({1.0}, kFloat64).requires_grad_();
  Tensor b = tensor({2.0}, kFloat64).requires_grad_();
  int fired_a = 0, fired_b = 0;
  a.register_post_accumulate_grad_hook([&](const Tensor&) { ++fired_a; });
  b.register_post_accumulate_grad_hook([&](const Tensor&) { ++fired_b; });
  const TensorList g = autograd::grad({(a * b).sum()}, {a});
  CHECK(g[0].item<double>() == 2.0);
  CHECK(fired_a == 0);
  CHECK(fired_b == 0);
  (a * 3.0).sum().backward();  // b is not part of this graph
  CHECK(fired_a == 1);
  CHECK(fired_b == 0);
}

TEST_CASE("post-accumulate hook: fires with create_graph too") {
  Tensor x = scalar_tensor(0.5, kFloat64).requires_grad_();
  int fired = 0;
  x.register_post_accumulate_grad_hook([&](const Tensor& leaf) {
    ++fired;
    CHECK(leaf.grad().requires_grad());  // the accumulated gradient keeps its graph
  });
  (x * x * x).backward({}, {.create_graph = true});
  CHECK(fired == 1);
  CHECK(x.grad().item<double>() == doctest::Approx(0.75));  // 3x²
  x.zero_grad();  // breaks the x -> x.grad -> graph -> x reference cycle of create_graph
}

TEST_CASE("post-accumulate hook: remove_hook unregisters it, also from inside a hook") {
  Tensor w = tensor({1.0}, kFloat64).requires_grad_();
  int first = 0, second = 0;
  int h1 = 0;
  h1 = w.register_post_accumulate_grad_hook([&](const Tensor& leaf) {
    ++first;
    leaf.remove_hook(h1);  // a one-shot hook
  });
  const int h2 = w.register_post_accumulate_grad_hook([&](const Tensor&) { ++second; });
  w.sum().backward();
  w.sum().backward();
  CHECK(first == 1);
  CHECK(second == 2);
  w.remove_hook(h2);
  w.remove_hook(12345);  // unknown handles are ignored
  w.sum().backward();
  CHECK(second == 2);
}

TEST_CASE("post-accumulate hook: refused on non-leaves, on tensors without grad, and when empty") {
  Tensor w = tensor({1.0}, kFloat64).requires_grad_();
  Tensor y = w * 2.0;
  check_throws_with<GraphError>([&] { y.register_post_accumulate_grad_hook([](const Tensor&) {}); },
                                {"register_post_accumulate_grad_hook", "leaf", "MulBackward"});
  Tensor c = tensor({1.0}, kFloat64);
  check_throws_with<GraphError>([&] { c.register_post_accumulate_grad_hook([](const Tensor&) {}); },
                                {"register_post_accumulate_grad_hook", "does not require grad"});
  check_throws_with<ValueError>([&] { w.register_post_accumulate_grad_hook(PostAccumulateGradHook()); }, {"empty"});
}
