// Dropout (inverted) and ClassicDropout (lectures): rates, scaling, modes, reproducibility, gradients.
#include <cmath>

#include "nn_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using namespace xgrad::nn;

TEST_CASE("Dropout: drop rate ≈ p, survivors scaled by 1/(1-p) in training") {
  manual_seed(123);
  Dropout drop(0.3);
  const std::int64_t n = 200000;
  const Tensor x = ones({n}, kFloat64);
  const auto v = drop(x).to_vector<double>();
  std::int64_t zeros_count = 0;
  for (double a : v) {
    if (a == 0.0) ++zeros_count;
    else CHECK_MESSAGE(a == doctest::Approx(1.0 / 0.7).epsilon(1e-15), "value " << a);
  }
  // binomial: the fraction's standard deviation is √(0.21/n) ≈ 0.001
  CHECK(static_cast<double>(zeros_count) / n == doctest::Approx(0.3).epsilon(0.02));
}

TEST_CASE("Dropout: the mask comes from xgrad::bernoulli and is reproducible") {
  const Tensor x = leaf({50, 40}, 1, 2).detach();
  manual_seed(5);
  const Tensor a = Dropout(0.4)(x);
  manual_seed(5);
  const Tensor b = Dropout(0.4)(x);
  CHECK(allclose(a, b, 0, 0));
  manual_seed(5);
  const Tensor keep = bernoulli(x.shape(), 0.6, kFloat64);
  CHECK(allclose(a, x * keep / 0.6, 1e-15, 0));
  const Tensor c = Dropout(0.4)(x);  // the generator moved on: a new mask
  CHECK_FALSE(allclose(a, c));
}

TEST_CASE("Dropout: identity in eval mode, p = 0, p = 1, validation") {
  Dropout drop(0.5);
  const Tensor x = leaf({3, 4});
  drop.eval();
  CHECK(drop(x).is_same(x));
  drop.train();
  CHECK(Dropout(0.0)(x).is_same(x));
  CHECK(Dropout(1.0)(x).abs().sum().item<double>() == 0.0);
  CHECK(functional::dropout(x, 0.9, false).is_same(x));
  check_throws_with<ValueError>([] { Dropout(1.5); }, {"Dropout", "1.5"});
  check_throws_with<ValueError>([] { Dropout(-0.1); }, {"Dropout", "-0.1"});
  check_throws_with<ValueError>([&] { functional::dropout(x, 2.0); }, {"dropout", "[0, 1]", "2"});
}

TEST_CASE("Dropout: gradient is the scaled mask") {
  manual_seed(11);
  Tensor x = leaf({4, 5});
  const Tensor y = Dropout(0.25)(x);
  y.sum().backward();
  // y = x·m/(1-p), so dy/dx = m/(1-p) = y/x
  CHECK(allclose(x.grad(), y.detach() / x.detach(), 1e-12, 1e-12));
  // gradcheck with the mask fixed by reseeding before each forward
  Dropout drop(0.5);
  check_module_gradients(drop, leaf({3, 4}), true, [] { manual_seed(3); });
}

TEST_CASE("ClassicDropout: keep probability p, no scaling in training, p·x at inference") {
  manual_seed(7);
  ClassicDropout drop(0.8);
  CHECK(drop.name() == "ClassicDropout(keep_prob=0.8)");
  const std::int64_t n = 200000;
  const Tensor x = full({n}, 3.0, kFloat64);
  const auto v = drop(x).to_vector<double>();
  std::int64_t kept = 0;
  for (double a : v) {
    if (a != 0.0) {
      ++kept;
      CHECK(a == 3.0);  // no rescaling
    }
  }
  CHECK(static_cast<double>(kept) / n == doctest::Approx(0.8).epsilon(0.01));
  drop.eval();
  check_values(drop(tensor({1.0, -2.0, 5.0}, kFloat64)), {0.8, -1.6, 4.0});
  // same expectation in both modes; inverted dropout with p_drop = 1 - p_keep has it at x instead of p·x
  CHECK(ClassicDropout(1.0)(x).is_same(x));
  check_throws_with<ValueError>([] { ClassicDropout(0.0); }, {"ClassicDropout", "(0, 1]", "0"});
  manual_seed(21);
  const Tensor mask = bernoulli({5, 6}, 0.8, kFloat64);
  manual_seed(21);
  ClassicDropout train_drop(0.8);
  const Tensor y = train_drop(ones({5, 6}, kFloat64));
  CHECK(allclose(y, mask, 0, 0));
  ClassicDropout grad_drop(0.6);
  check_module_gradients(grad_drop, leaf({3, 4}), true, [] { manual_seed(4); });
  grad_drop.eval();
  check_module_gradients(grad_drop, leaf({3, 4}));
}
