// Embedding and the regularization penalties.
#include <cmath>

#include "nn_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using namespace xgrad::nn;

TEST_CASE("Embedding: lookup, shapes, N(0, 1) init, errors naming the index") {
  manual_seed(0);
  Embedding big(1000, 200);
  const auto w = big.weight().to_vector<double>();
  double mean = 0, sq = 0;
  for (double x : w) mean += x;
  mean /= static_cast<double>(w.size());
  for (double x : w) sq += (x - mean) * (x - mean);
  CHECK(std::abs(mean) < 0.01);
  CHECK(std::sqrt(sq / static_cast<double>(w.size())) == doctest::Approx(1.0).epsilon(0.01));

  Embedding emb(4, 2, kFloat64);
  {
    NoGradGuard g;
    emb.weight().copy_(tensor({{0, 1}, {10, 11}, {20, 21}, {30, 31}}, kFloat64));
  }
  const Tensor idx = from_vector(std::vector<std::int64_t>{3, 0, 3, 1, 2, 2}, {2, 3});
  const Tensor y = emb(idx);
  CHECK(y.shape() == Shape{2, 3, 2});
  check_values(y, {30, 31, 0, 1, 30, 31, 10, 11, 20, 21, 20, 21});
  CHECK(emb(tensor_int({2})).shape() == Shape{1, 2});
  // repeated indices accumulate their rows' gradients
  (y * 1.0).sum().backward();
  check_values(emb.weight().grad(), {1, 1, 1, 1, 2, 2, 2, 2});
  check_throws_with<IndexError>([&] { emb(tensor_int({1, 4, 0})); }, {"embedding", "index 4", "4 embeddings"});
  check_throws_with<IndexError>([&] { emb(tensor_int({-1})); }, {"index -1"});
  check_throws_with<DtypeError>([&] { emb(tensor({1.0})); }, {"embedding", "int64", "float32"});
  check_throws_with<ValueError>([] { Embedding(0, 3); }, {"Embedding", "positive"});
}

TEST_CASE("Embedding: gradcheck with respect to the table") {
  Embedding emb(5, 3, kFloat64);
  const Tensor idx = from_vector(std::vector<std::int64_t>{4, 1, 1, 0}, {2, 2});
  check_module_gradients(emb, idx);
}

TEST_CASE("l1_penalty and l2_penalty: values and gradients") {
  Tensor a = tensor({{1.0, -2.0}, {0.5, 0.0}}, kFloat64).requires_grad_();
  Tensor b = tensor({-3.0}, kFloat64).requires_grad_();
  const Tensor l1 = functional::l1_penalty({a, b}, 0.1);
  CHECK(l1.dim() == 0);
  CHECK(l1.item<double>() == doctest::Approx(0.1 * (1 + 2 + 0.5 + 0 + 3)));
  const Tensor l2 = functional::l2_penalty({a, b}, 0.1);
  CHECK(l2.item<double>() == doctest::Approx(0.1 * (1 + 4 + 0.25 + 0 + 9)));
  (l1 + l2).backward();
  // d/dw [λ|w| + λw²] = λ·sign(w) + 2λw
  check_values(a.grad(), {0.1 + 0.2, -0.1 - 0.4, 0.1 + 0.1, 0.0});
  check_values(b.grad(), {-0.1 - 0.6});
  CHECK(functional::l2_penalty({}, 1.0).item<double>() == 0.0);
  check_throws_with<ValueError>([&] { functional::l2_penalty({a}, -1.0); }, {"l2_penalty", "-1"});
  CHECK(gradcheck([](const TensorList& p) { return functional::l2_penalty(p, 0.3); }, {leaf({2, 3}), leaf({4}, -2, 2, 5)}));
  CHECK(gradcheck([](const TensorList& p) { return functional::l1_penalty(p, 0.3); }, {leaf_away_from({2, 3}, {0.0})}));
}

TEST_CASE("l2_penalty λ‖w‖² has the gradient of weight decay 2λ") {
  // weight decay wd adds wd·w to the gradient; the penalty's gradient is 2λw: equal when wd = 2λ
  const double lambda = 0.05;
  Tensor w = leaf({3, 4});
  functional::l2_penalty({w}, lambda).backward();
  CHECK(allclose(w.grad(), w.detach() * (2 * lambda), 1e-12, 1e-15));
  // a model's parameters
  Sequential mlp(Linear(3, 4), Tanh(), Linear(4, 1));
  mlp.to(kFloat64);
  functional::l2_penalty(mlp.parameters(), lambda).backward();
  for (const Tensor& p : mlp.parameters()) CHECK(allclose(p.grad(), p.detach() * (2 * lambda), 1e-12, 1e-15));
}
