// BatchNorm1d and LayerNorm against hand-computed statistics, both momentum conventions, gradchecks.
#include <cmath>

#include "nn_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using namespace xgrad::nn;

namespace {
// Channel 0 holds 1, 3, 5, 7: mean 4, biased variance 5, unbiased 20/3.
// Channel 1 holds 2, 4, 4, 10: mean 5, biased variance 9, unbiased 12.
Tensor batch() { return tensor({{1, 2}, {3, 4}, {5, 4}, {7, 10}}, kFloat64); }
const double r5 = std::sqrt(5.0);
}  // namespace

TEST_CASE("BatchNorm1d: train mode normalizes with batch statistics and updates running stats (PyTorch momentum)") {
  BatchNorm1d bn(2, 0.0, 0.1, true, true, kFloat64);
  CHECK(bn.named_parameters().keys() == std::vector<std::string>{"weight", "bias"});
  CHECK(bn.named_buffers().keys() == std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
  check_values(bn.running_mean(), {0, 0});
  check_values(bn.running_var(), {1, 1});
  check_values(bn(batch()), {-3 / r5, -1, -1 / r5, -1.0 / 3, 1 / r5, -1.0 / 3, 3 / r5, 5.0 / 3});
  // running = 0.9·running + 0.1·batch, with the unbiased variance
  check_values(bn.running_mean(), {0.4, 0.5});
  check_values(bn.running_var(), {0.9 + 0.1 * 20.0 / 3, 0.9 + 0.1 * 12});
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 1);
  bn(batch());
  check_values(bn.running_mean(), {0.76, 0.95});
  const double rv0 = 0.9 * (0.9 + 0.1 * 20.0 / 3) + 0.1 * 20.0 / 3, rv1 = 0.9 * 2.1 + 1.2;
  check_values(bn.running_var(), {rv0, rv1});
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 2);

  // eval: running statistics, nothing updated
  bn.eval();
  check_values(bn(batch()), {(1 - 0.76) / std::sqrt(rv0), (2 - 0.95) / std::sqrt(rv1), (3 - 0.76) / std::sqrt(rv0),
                             (4 - 0.95) / std::sqrt(rv1), (5 - 0.76) / std::sqrt(rv0), (4 - 0.95) / std::sqrt(rv1),
                             (7 - 0.76) / std::sqrt(rv0), (10 - 0.95) / std::sqrt(rv1)});
  check_values(bn.running_mean(), {0.76, 0.95});
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 2);
  bn.reset_running_stats();
  check_values(bn.running_var(), {1, 1});
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 0);
}

TEST_CASE("BatchNorm1d: affine scale and shift, eps") {
  BatchNorm1d bn(2, 0.0, 0.1, true, true, kFloat64);
  {
    NoGradGuard g;
    bn.weight().copy_(tensor({2.0, -1.0}, kFloat64));
    bn.bias().copy_(tensor({0.5, 1.0}, kFloat64));
  }
  check_values(bn(batch()), {-6 / r5 + 0.5, 2, -2 / r5 + 0.5, 1 + 1.0 / 3, 2 / r5 + 0.5, 1 + 1.0 / 3, 6 / r5 + 0.5, 1 - 5.0 / 3});
  BatchNorm1d with_eps(2, 1.0, 0.1, false, true, kFloat64);
  check_values(with_eps(batch()), {-3 / std::sqrt(6.0), -3 / std::sqrt(10.0), -1 / std::sqrt(6.0), -1 / std::sqrt(10.0),
                                   1 / std::sqrt(6.0), -1 / std::sqrt(10.0), 3 / std::sqrt(6.0), 5 / std::sqrt(10.0)});
  CHECK(with_eps.parameters().empty());
}

TEST_CASE("BatchNorm1d: Keras momentum convention") {
  BatchNormOptions o;
  o.eps = 0.0;
  o.momentum = 0.99;
  o.convention = MomentumConvention::keras;
  o.dtype = kFloat64;
  BatchNorm1d keras(2, o);
  keras(batch());
  // running = 0.99·running + 0.01·batch
  check_values(keras.running_mean(), {0.04, 0.05});
  check_values(keras.running_var(), {0.99 + 0.01 * 20.0 / 3, 0.99 + 0.01 * 12});
  // the same update as PyTorch's momentum 1 - 0.99
  BatchNorm1d torch_style(2, 0.0, 0.01, true, true, kFloat64);
  torch_style(batch());
  CHECK(allclose(keras.running_mean(), torch_style.running_mean(), 1e-12, 1e-15));
  CHECK(allclose(keras.running_var(), torch_style.running_var(), 1e-12, 1e-15));
  // Keras' defaults: eps 1e-3, biased variance in the running average
  auto kd = BatchNormOptions::keras_defaults();
  kd.dtype = kFloat64;
  BatchNorm1d keras_defaults(2, kd);
  keras_defaults(batch());
  check_values(keras_defaults.running_var(), {0.99 + 0.01 * 5, 0.99 + 0.01 * 9});
  check_values(keras_defaults.running_mean(), {0.04, 0.05});
}

TEST_CASE("BatchNorm1d: cumulative moving average (momentum nullopt)") {
  BatchNorm1d bn(2, 0.0, std::nullopt, true, true, kFloat64);
  bn(batch());
  check_values(bn.running_mean(), {4, 5});
  check_values(bn.running_var(), {20.0 / 3, 12});
  bn(batch() * 2.0);  // means 8, 10; unbiased variances 80/3, 48
  check_values(bn.running_mean(), {6, 7.5});
  check_values(bn.running_var(), {50.0 / 3, 30});
}

TEST_CASE("BatchNorm1d: (N, C, L) inputs pool the batch and length dimensions") {
  BatchNorm1d bn(2, 0.0, 0.1, false, true, kFloat64);
  const Tensor x = tensor({{{1, 3}, {2, 4}}, {{5, 7}, {4, 10}}}, kFloat64);
  check_values(bn(x), {-3 / r5, -1 / r5, -1, -1.0 / 3, 1 / r5, 3 / r5, -1.0 / 3, 5.0 / 3});
  check_values(bn.running_mean(), {0.4, 0.5});
  check_values(bn.running_var(), {0.9 + 0.1 * 20.0 / 3, 0.9 + 0.1 * 12});
}

TEST_CASE("BatchNorm1d: without running stats, batch statistics in both modes") {
  BatchNorm1d bn(2, 0.0, 0.1, true, false, kFloat64);
  CHECK(bn.buffers().empty());
  const Tensor train_out = bn(batch());
  bn.eval();
  CHECK(allclose(bn(batch()), train_out));
}

TEST_CASE("BatchNorm1d: the gradient flows through the batch statistics") {
  BatchNorm1d bn(3, 1e-5, 0.1, true, true, kFloat64);
  init::uniform_(bn.weight(), 0.5, 1.5);
  init::uniform_(bn.bias(), -1, 1);
  check_module_gradients(bn, leaf({5, 3}));
  check_module_gradients(bn, leaf({4, 3, 2}));
  check_module_gradients(bn, noncontiguous_leaf({4, 3}));
  // without affine, y is invariant to shifting and scaling a channel, so for any upstream g the input
  // gradient sums to zero over the batch and is orthogonal to x̂ — the terms that come from μ and σ²
  BatchNorm1d plain(3, 0.0, 0.1, false, true, kFloat64);
  Tensor x = leaf({6, 3});
  Tensor y = plain(x);
  const Tensor g = leaf({6, 3}, -1, 1, 7).detach();
  (y * g).sum().backward();
  check_values(x.grad().sum({0}), {0, 0, 0}, 1e-9);
  check_values((x.grad() * y.detach()).sum({0}), {0, 0, 0}, 1e-9);
  // eval mode: a fixed affine map of x
  bn.eval();
  check_module_gradients(bn, leaf({5, 3}));
}

TEST_CASE("BatchNorm1d: errors") {
  BatchNorm1d bn(2);
  check_throws_with<ShapeError>([&] { bn(ones({4})); }, {"BatchNorm1d", "(N, 2) or (N, 2, L)", "(4,)"});
  check_throws_with<ShapeError>([&] { bn(ones({4, 3})); }, {"(4, 3)"});
  check_throws_with<ValueError>([&] { bn(ones({1, 2})); }, {"more than 1 value per channel", "(1, 2)"});
  check_throws_with<ValueError>([] { BatchNorm1d(2, 1e-5, 1.5); }, {"momentum", "1.5"});
  check_throws_with<ValueError>([] { BatchNorm1d(0); }, {"num_features", "0"});
  bn.eval();
  CHECK(bn(ones({1, 2})).shape() == Shape{1, 2});  // one sample is fine at inference
  check_throws_with<DtypeError>([&] { bn(ones({3, 2}, kFloat64)); }, {"float32", "float64"});
}

TEST_CASE("functional::batch_norm: argument checks") {
  const Tensor x = batch();
  const Tensor rm = zeros({2}, kFloat64), rv = ones({2}, kFloat64);
  check_throws_with<ValueError>([&] { functional::batch_norm(x, rm, Tensor()); }, {"batch_norm", "both defined"});
  check_throws_with<ValueError>([&] { functional::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false); },
                                {"batch_norm", "running_mean"});
  check_throws_with<ShapeError>([&] { functional::batch_norm(x, zeros({3}, kFloat64), rv); }, {"running_mean", "(3,)", "(4, 2)"});
  check_throws_with<ShapeError>([&] { functional::batch_norm(x, rm, rv, ones({3}, kFloat64)); }, {"weight", "(3,)"});
}

TEST_CASE("LayerNorm: per-sample statistics over the trailing dimensions") {
  LayerNorm ln(4, 0.0, true, kFloat64);
  const Tensor x = tensor({{1, 2, 3, 4}, {2, 2, 2, 6}}, kFloat64);
  const double s0 = std::sqrt(1.25), s1 = std::sqrt(3.0);
  const std::vector<double> expected{-1.5 / s0, -0.5 / s0, 0.5 / s0, 1.5 / s0, -1 / s1, -1 / s1, -1 / s1, 3 / s1};
  check_values(ln(x), expected);
  ln.eval();
  check_values(ln(x), expected);  // same in both modes
  {
    NoGradGuard g;
    ln.weight().copy_(tensor({1, 2, 3, 4}, kFloat64));
    ln.bias().fill_(1.0);
  }
  check_values(ln(x), {1 - 1.5 / s0, 1 - 1.0 / s0, 1 + 1.5 / s0, 1 + 6 / s0, 1 - 1 / s1, 1 - 2 / s1, 1 - 3 / s1, 1 + 12 / s1});
  // two normalized dims: the same numbers for a (2, 2, 2) view of x
  LayerNorm ln2({2, 2}, 0.0, false, kFloat64);
  check_values(ln2(x.reshape({2, 2, 2})), expected);
  CHECK(ln2.parameters().empty());
  check_throws_with<ShapeError>([&] { ln(ones({2, 3}, kFloat64)); }, {"layer_norm", "(4,)", "(2, 3)"});
  check_throws_with<ValueError>([] { LayerNorm(Shape{}); }, {"LayerNorm", "at least one"});
}

TEST_CASE("LayerNorm: gradcheck with respect to input, weight and bias") {
  LayerNorm ln(4, 1e-5, true, kFloat64);
  init::uniform_(ln.weight(), 0.5, 1.5);
  init::uniform_(ln.bias(), -1, 1);
  check_module_gradients(ln, leaf({3, 4}));
  LayerNorm ln2({2, 3}, 1e-5, true, kFloat64);
  init::uniform_(ln2.weight(), 0.5, 1.5);
  check_module_gradients(ln2, leaf({2, 2, 3}));
  check_module_gradients(ln2, noncontiguous_leaf({2, 3}));
}
