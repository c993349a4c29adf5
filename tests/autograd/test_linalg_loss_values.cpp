// Forward values of matmul, linear, softmax and the losses against hand computations and closed
// forms; stability at logits of ±1e4; every error path with its message.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

// Independent reference: C[i][j] = Σ_k A[i][k] B[k][j] by a plain triple loop over at().
std::vector<double> naive_mm(const Tensor& a, const Tensor& b) {
  const auto m = a.size(0), k = a.size(1), n = b.size(1);
  std::vector<double> out(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::int64_t q = 0; q < k; ++q) s += a.at({i, q}) * b.at({q, j});
      out[static_cast<std::size_t>(i * n + j)] = s;
    }
  return out;
}

void check_values(const Tensor& t, const std::vector<double>& expect, double tol = 1e-12) {
  const auto got = t.to_vector<double>();
  REQUIRE(got.size() == expect.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == doctest::Approx(expect[i]).epsilon(tol).scale(1.0));
  }
}

double lse(const std::vector<double>& x) {
  double m = x[0];
  for (double v : x) m = std::max(m, v);
  double s = 0;
  for (double v : x) s += std::exp(v - m);
  return m + std::log(s);
}

std::vector<double> seq(std::int64_t n, double start, double step) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = start + step * static_cast<double>(i);
  return v;
}

}  // namespace

// ============================================================================================
// matmul and linear
// ============================================================================================

TEST_CASE("matmul: 2x2 by hand, dot product, matrix-vector") {
  const Tensor a = tensor({{1, 2}, {3, 4}}, kFloat64), b = tensor({{5, 6}, {7, 8}}, kFloat64);
  const Tensor c = matmul(a, b);
  CHECK(c.shape() == Shape{2, 2});
  check_values(c, {19, 22, 43, 50});  // [1*5+2*7, 1*6+2*8; 3*5+4*7, 3*6+4*8]

  const Tensor d = matmul(tensor({1, 2, 3}, kFloat64), tensor({4, 5, 6}, kFloat64));
  CHECK(d.shape() == Shape{});
  CHECK(d.item<double>() == 32.0);

  const Tensor mv = matmul(a, tensor({1, -1}, kFloat64));  // (2,2)·(2) -> (2)
  CHECK(mv.shape() == Shape{2});
  check_values(mv, {-1, -1});
  const Tensor vm = matmul(tensor({1, -1}, kFloat64), a);  // (2)·(2,2) -> (2)
  CHECK(vm.shape() == Shape{2});
  check_values(vm, {-2, -2});
}

TEST_CASE("matmul: float32 2x2 by hand") {
  const Tensor c = matmul(tensor({{1, 2}, {3, 4}}), tensor({{5, 6}, {7, 8}}));
  CHECK(c.dtype() == kFloat32);
  check_values(c, {19, 22, 43, 50});
}

TEST_CASE("matmul: gradients of sum(A·B) by hand") {
  Tensor a = tensor({{1, 2}, {3, 4}}, kFloat64).requires_grad_();
  Tensor b = tensor({{5, 6}, {7, 8}}, kFloat64).requires_grad_();
  sum(matmul(a, b)).backward();
  // d/dA[i][k] = Σ_j B[k][j]; d/dB[k][j] = Σ_i A[i][k]
  check_values(a.grad(), {11, 15, 11, 15});
  check_values(b.grad(), {4, 4, 6, 6});
}

TEST_CASE("matmul: transposed views on both sides, float32 and float64") {
  for (Dtype dt : {kFloat32, kFloat64}) {
    INFO("dtype " << dtype_name(dt));
    const double tol = dt == kFloat32 ? 1e-5 : 1e-12;
    const Tensor abase = from_vector(seq(12, -1.5, 0.25), {4, 3}, dt);  // a = abase.t(): (3, 4)
    const Tensor bbase = from_vector(seq(20, 2.0, -0.3), {5, 4}, dt);   // b = bbase.t(): (4, 5)
    const Tensor a = abase.t(), b = bbase.t();
    REQUIRE_FALSE(a.is_contiguous());
    REQUIRE_FALSE(b.is_contiguous());
    const auto expect = naive_mm(a, b);
    check_values(matmul(a, b), expect, tol);
    check_values(matmul(a.contiguous(), b), expect, tol);
    check_values(matmul(a, b.contiguous()), expect, tol);
    // batched transposed views: (2, 3, 4) from a (2, 4, 3) tensor
    const Tensor xb = from_vector(seq(24, -2.0, 0.17), {2, 4, 3}, dt).transpose(1, 2);
    const Tensor yb = from_vector(seq(40, 1.0, -0.05), {2, 5, 4}, dt).transpose(1, 2);
    const Tensor zb = matmul(xb, yb);
    REQUIRE(zb.shape() == Shape{2, 3, 5});
    for (std::int64_t i = 0; i < 2; ++i) {
      // batch i sliced by hand through at() (which follows the views' strides)
      std::vector<double> av, bv;
      for (std::int64_t r = 0; r < 3; ++r)
        for (std::int64_t c = 0; c < 4; ++c) av.push_back(xb.at({i, r, c}));
      for (std::int64_t r = 0; r < 4; ++r)
        for (std::int64_t c = 0; c < 5; ++c) bv.push_back(yb.at({i, r, c}));
      const auto expect_i = naive_mm(from_vector(av, {3, 4}, kFloat64), from_vector(bv, {4, 5}, kFloat64));
      std::vector<double> got;
      for (std::int64_t r = 0; r < 3; ++r)
        for (std::int64_t c = 0; c < 5; ++c) got.push_back(zb.at({i, r, c}));
      for (std::size_t q = 0; q < got.size(); ++q) CHECK(got[q] == doctest::Approx(expect_i[q]).epsilon(tol).scale(1.0));
    }
  }
}

TEST_CASE("matmul: broadcast batch dims and folded batches match per-batch products") {
  const Tensor a = from_vector(seq(12, -1.0, 0.3), {2, 1, 2, 3}, kFloat64);
  const Tensor b = from_vector(seq(18, 0.5, -0.1), {3, 3, 2}, kFloat64);
  const Tensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{2, 3, 2, 2});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      for (std::int64_t r = 0; r < 2; ++r)
        for (std::int64_t q = 0; q < 2; ++q) {
          double s = 0;
          for (std::int64_t k = 0; k < 3; ++k) s += a.at({i, 0, r, k}) * b.at({j, k, q});
          CHECK(c.at({i, j, r, q}) == doctest::Approx(s).epsilon(1e-12));
        }
  // (2, 3, 4)·(4, 2): the batch folds into the rows; same values as a loop over batches
  const Tensor x = from_vector(seq(24, -1.0, 0.1), {2, 3, 4}, kFloat64), w = from_vector(seq(8, 1.0, -0.25), {4, 2}, kFloat64);
  const Tensor y = matmul(x, w);
  REQUIRE(y.shape() == Shape{2, 3, 2});
  check_values(reshape(y, {6, 2}), naive_mm(reshape(x, {6, 4}), w));
  // (2, 2, 3)·(3) -> (2, 2); (3)·(2, 3, 2) -> (2, 2)
  CHECK(matmul(from_vector(seq(12, 0, 1), {2, 2, 3}, kFloat64), tensor({1, 0, -1}, kFloat64)).shape() == Shape{2, 2});
  const Tensor v = matmul(tensor({1, 0, -1}, kFloat64), from_vector(seq(12, 0, 1), {2, 3, 2}, kFloat64));
  REQUIRE(v.shape() == Shape{2, 2});
  check_values(v, {-4, -4, -4, -4});  // row 0 - row 2 of each (3, 2) block: (0-4, 1-5), (6-10, 7-11)
}

TEST_CASE("matmul: expanded (stride 0) operand and empty sizes") {
  const Tensor row = tensor({{1, 2, 3}}, kFloat64);
  const Tensor e = expand(row, {3, 3});
  const Tensor w = from_vector(seq(6, 1, 1), {3, 2}, kFloat64);
  check_values(matmul(e, w), {22, 28, 22, 28, 22, 28});
  // k = 0: a (2, 0)·(0, 3) is a (2, 3) matrix of zeros
  const Tensor z = matmul(zeros({2, 0}, kFloat64), zeros({0, 3}, kFloat64));
  CHECK(z.shape() == Shape{2, 3});
  check_values(z, std::vector<double>(6, 0.0));
  CHECK(matmul(zeros({0, 4}), zeros({4, 2})).shape() == Shape{0, 2});
}

TEST_CASE("linear: values by hand, with and without bias, 1-D and 3-D inputs, transposed weight") {
  const Tensor x = tensor({{1, 2, 3}, {-1, 0, 2}}, kFloat64);
  const Tensor w = tensor({{1, 0, -1}, {2, 1, 0}}, kFloat64);
  const Tensor b = tensor({10, 20}, kFloat64);
  // x·wᵀ = [[1-3, 2+2], [-1-2, -2+0]] = [[-2, 4], [-3, -2]]
  check_values(linear(x, w), {-2, 4, -3, -2});
  check_values(linear(x, w, b), {8, 24, 7, 18});
  const Tensor y1 = linear(tensor({1, 2, 3}, kFloat64), w, b);
  CHECK(y1.shape() == Shape{2});
  check_values(y1, {8, 24});
  const Tensor x3 = reshape(tensor({{1, 2, 3}, {-1, 0, 2}, {1, 2, 3}, {-1, 0, 2}}, kFloat64), {2, 2, 3});
  const Tensor y3 = linear(x3, w, b);
  CHECK(y3.shape() == Shape{2, 2, 2});
  check_values(y3, {8, 24, 7, 18, 8, 24, 7, 18});
  const Tensor wt = tensor({{1, 2}, {0, 1}, {-1, 0}}, kFloat64).t();  // the same weight as a transposed view
  REQUIRE_FALSE(wt.is_contiguous());
  check_values(linear(x, wt, b), {8, 24, 7, 18});
  check_values(linear(x.t().contiguous().t(), w, b), {8, 24, 7, 18});  // transposed-view input
  const Tensor y32 = linear(tensor({{1, 2, 3}, {-1, 0, 2}}), tensor({{1, 0, -1}, {2, 1, 0}}), tensor({10, 20}));
  CHECK(y32.dtype() == kFloat32);
  check_values(y32, {8, 24, 7, 18});
}

TEST_CASE("linear: gradients by hand, a constant input gets no gradient") {
  const Tensor x = tensor({{1, 2, 3}, {-1, 0, 2}}, kFloat64);  // does not require grad
  Tensor w = tensor({{1, 0, -1}, {2, 1, 0}}, kFloat64).requires_grad_();
  Tensor b = tensor({10, 20}, kFloat64).requires_grad_();
  const Tensor g = tensor({{1, 0}, {0, 2}}, kFloat64);
  linear(x, w, b).backward(g);
  // dW = gᵀ·x = [[1, 2, 3], [-2, 0, 4]], db = column sums of g
  check_values(w.grad(), {1, 2, 3, -2, 0, 4});
  check_values(b.grad(), {1, 2});
  CHECK_FALSE(x.grad().defined());

  Tensor x2 = x.clone().requires_grad_();
  linear(x2, w.detach(), b.detach()).backward(g);
  // dx = g·W = [[1, 0, -1], [4, 2, 0]]
  check_values(x2.grad(), {1, 0, -1, 4, 2, 0});
}

TEST_CASE("matmul and linear: errors") {
  const Tensor a23 = zeros({2, 3}), b45 = zeros({4, 5});
  check_throws_with<ShapeError>([&] { matmul(a23, b45); }, {"matmul", "(2, 3)", "(4, 5)", "not aligned"});
  check_throws_with<ShapeError>([&] { matmul(zeros({3}), zeros({4})); }, {"matmul", "(3,)", "(4,)"});
  check_throws_with<ShapeError>([&] { matmul(scalar_tensor(1.0), zeros({2})); }, {"matmul", "()", "(2,)", "at least one dimension"});
  check_throws_with<ShapeError>([&] { matmul(zeros({2, 2, 3}), zeros({3, 3, 2})); }, {"matmul", "(2, 2, 3)", "(3, 3, 2)", "batch"});
  check_throws_with<DtypeError>([&] { matmul(zeros({2, 2}), zeros({2, 2}, kFloat64)); }, {"matmul", "float32", "float64"});
  check_throws_with<DtypeError>([&] { matmul(randint(0, 3, {2, 2}), zeros({2, 2})); }, {"matmul", "int64"});

  const Tensor x = zeros({4, 3}), w = zeros({2, 3}), b = zeros({2});
  check_throws_with<ShapeError>([&] { linear(x, zeros({2, 3, 1})); }, {"linear", "weight", "(2, 3, 1)"});
  check_throws_with<ShapeError>([&] { linear(zeros({4, 5}), w); }, {"linear", "(4, 5)", "(2, 3)"});
  check_throws_with<ShapeError>([&] { linear(x, w, zeros({3})); }, {"linear", "bias", "(3,)", "(2, 3)"});
  check_throws_with<ShapeError>([&] { linear(scalar_tensor(1.0), w); }, {"linear", "()", "(2, 3)"});
  check_throws_with<DtypeError>([&] { linear(x, zeros({2, 3}, kFloat64)); }, {"linear", "float32", "float64"});
  check_throws_with<DtypeError>([&] { linear(x, w, zeros({2}, kFloat64)); }, {"linear", "float32", "float64"});
}

// ============================================================================================
// softmax
// ============================================================================================

TEST_CASE("softmax / log_softmax: values from the formula along each dim") {
  const std::vector<double> v = {1.0, 2.0, 3.0};
  const double l = lse(v);
  check_values(softmax(tensor({1, 2, 3}, kFloat64), 0), {std::exp(1 - l), std::exp(2 - l), std::exp(3 - l)});
  check_values(log_softmax(tensor({1, 2, 3}, kFloat64), 0), {1 - l, 2 - l, 3 - l});
  // dim 0 of a (2, 3): columns [1, 4], [2, 2], [3, 0]
  const Tensor m = tensor({{1, 2, 3}, {4, 2, 0}}, kFloat64);
  const double l0 = lse({1, 4}), l2 = lse({3, 0});
  check_values(softmax(m, 0), {std::exp(1 - l0), 0.5, std::exp(3 - l2), std::exp(4 - l0), 0.5, std::exp(0 - l2)});
  check_values(log_softmax(m, -1), {1 - l, 2 - l, 3 - l, 4 - lse({4, 2, 0}), 2 - lse({4, 2, 0}), 0 - lse({4, 2, 0})});
  // middle dim of (2, 3, 2) and a long row (vectorized path): every slice sums to 1
  const Tensor x = from_vector(seq(12, -3, 0.55), {2, 3, 2}, kFloat64);
  check_values(sum(softmax(x, 1), {1}), std::vector<double>(4, 1.0));
  check_values(sum(exp(log_softmax(x, 1)), {1}), std::vector<double>(4, 1.0));
  const Tensor wide = from_vector(seq(37, -4, 0.21), {37}, kFloat32);
  CHECK(sum(softmax(wide, 0)).item<double>() == doctest::Approx(1.0).epsilon(1e-6));
  const auto lw = log_softmax(wide, 0).to_vector<double>();
  const double lse_w = lse(seq(37, -4, 0.21));
  for (std::size_t i = 0; i < lw.size(); ++i) CHECK(lw[i] == doctest::Approx(-4 + 0.21 * static_cast<double>(i) - lse_w).epsilon(1e-5));
}

TEST_CASE("softmax / log_softmax: stable for logits of ±1e4 (float32 and float64)") {
  for (Dtype dt : {kFloat32, kFloat64}) {
    INFO("dtype " << dtype_name(dt));
    Tensor x = tensor({1e4, 0, -1e4}, dt).requires_grad_();
    const Tensor s = softmax(x, 0);
    check_values(s, {1, 0, 0});
    const Tensor ls = log_softmax(x, 0);
    check_values(ls, {0, -1e4, -2e4});
    for (double v : ls.to_vector<double>()) CHECK(std::isfinite(v));
    sum(ls * tensor({1, 2, 3}, dt)).backward();
    // g - softmax·Σg with g = (1, 2, 3): (1 - 6, 2, 3)
    check_values(x.grad(), {-5, 2, 3});
    // identical large logits: uniform
    check_values(softmax(tensor({1e4, 1e4}, dt), 0), {0.5, 0.5});
    check_values(log_softmax(tensor({-1e4, -1e4}, dt), 0), {-std::log(2.0), -std::log(2.0)}, 1e-6);
  }
}

TEST_CASE("softmax / log_softmax: errors") {
  check_throws_with<IndexError>([] { softmax(zeros({2, 3}), 2); }, {"softmax", "dimension 2", "rank 2"});
  check_throws_with<IndexError>([] { log_softmax(zeros({2, 3}), -3); }, {"log_softmax", "-3"});
  check_throws_with<DtypeError>([] { softmax(randint(0, 2, {3}), 0); }, {"softmax", "int64"});
  check_throws_with<ValueError>([] { log_softmax(Tensor(), 0); }, {"log_softmax", "undefined"});
}

// ============================================================================================
// regression losses
// ============================================================================================

TEST_CASE("mse / l1 / huber / smooth_l1: values by hand for each reduction") {
  const Tensor x = tensor({0, 2, -3}, kFloat64), y = tensor({0.5, 0, 0}, kFloat64);  // d = (-0.5, 2, -3)
  check_values(mse_loss(x, y, Reduction::none), {0.25, 4, 9});
  CHECK(mse_loss(x, y).item<double>() == doctest::Approx(13.25 / 3));
  CHECK(mse_loss(x, y, Reduction::sum).item<double>() == doctest::Approx(13.25));
  check_values(l1_loss(x, y, Reduction::none), {0.5, 2, 3});
  CHECK(l1_loss(x, y).item<double>() == doctest::Approx(5.5 / 3));
  CHECK(l1_loss(x, y, Reduction::sum).item<double>() == doctest::Approx(5.5));
  // huber δ=1: 0.5·0.25, 1·(2-0.5), 1·(3-0.5); δ=2.5: 0.125, 2, 2.5·(3-1.25)
  check_values(huber_loss(x, y, Reduction::none), {0.125, 1.5, 2.5});
  check_values(huber_loss(x, y, Reduction::none, 2.5), {0.125, 2, 4.375});
  CHECK(huber_loss(x, y, Reduction::sum).item<double>() == doctest::Approx(4.125));
  CHECK(huber_loss(x, y).item<double>() == doctest::Approx(4.125 / 3));
  // smooth_l1 β=2: 0.5·0.25/2, 2-1, 3-1; β=0 is l1
  check_values(smooth_l1_loss(x, y, Reduction::none, 2.0), {0.0625, 1, 2});
  check_values(smooth_l1_loss(x, y, Reduction::none, 0.0), {0.5, 2, 3});
  CHECK(smooth_l1_loss(x, y, Reduction::mean, 1.0).item<double>() == doctest::Approx(4.125 / 3));
  // gradient of mse mean: 2(x-y)/n
  Tensor xg = x.clone().requires_grad_();
  mse_loss(xg, y).backward();
  check_values(xg.grad(), {-1.0 / 3, 4.0 / 3, -2.0});
}

TEST_CASE("losses: empty mean is NaN, empty sum is 0") {
  const Tensor e = zeros({0, 3}, kFloat64);
  CHECK(std::isnan(mse_loss(e, e).item<double>()));
  CHECK(mse_loss(e, e, Reduction::sum).item<double>() == 0.0);
  CHECK(std::isnan(binary_cross_entropy_with_logits(e, e).item<double>()));
  Tensor logits = zeros({0, 4}, kFloat64).requires_grad_();
  const Tensor loss = cross_entropy(logits, from_vector(std::vector<std::int64_t>{}, {0}));
  CHECK(std::isnan(loss.item<double>()));
  loss.backward();
  CHECK(logits.grad().shape() == Shape{0, 4});
  CHECK(cross_entropy(logits, from_vector(std::vector<std::int64_t>{}, {0}), {.reduction = Reduction::sum}).item<double>() == 0.0);
  CHECK(std::isnan(nll_loss(logits, from_vector(std::vector<std::int64_t>{}, {0})).item<double>()));
}

TEST_CASE("regression losses: errors") {
  const Tensor a = zeros({2, 3}), b = zeros({3, 2});
  check_throws_with<ShapeError>([&] { mse_loss(a, b); }, {"mse_loss", "(2, 3)", "(3, 2)"});
  check_throws_with<ShapeError>([&] { l1_loss(a, zeros({3})); }, {"l1_loss", "(2, 3)", "(3,)"});
  check_throws_with<ShapeError>([&] { huber_loss(a, b); }, {"huber_loss", "(2, 3)", "(3, 2)"});
  check_throws_with<ShapeError>([&] { smooth_l1_loss(a, b); }, {"smooth_l1_loss", "(2, 3)", "(3, 2)"});
  check_throws_with<DtypeError>([&] { mse_loss(a, zeros({2, 3}, kFloat64)); }, {"mse_loss", "float32", "float64"});
  check_throws_with<DtypeError>([&] { l1_loss(randint(0, 2, {2, 3}), a); }, {"l1_loss", "int64"});
  check_throws_with<ValueError>([&] { huber_loss(a, a, Reduction::mean, 0.0); }, {"huber_loss", "delta", "0"});
  check_throws_with<ValueError>([&] { smooth_l1_loss(a, a, Reduction::mean, -1.0); }, {"smooth_l1_loss", "beta", "-1"});
}

// ============================================================================================
// binary cross entropy
// ============================================================================================

TEST_CASE("binary_cross_entropy: values, clamped logs, weights") {
  const Tensor p = tensor({0.8, 0.25, 0.0, 1.0, 0.0}, kFloat64), y = tensor({1, 0, 1, 0, 0}, kFloat64);
  check_values(binary_cross_entropy(p, y, Reduction::none), {-std::log(0.8), -std::log(0.75), 100, 100, 0});
  CHECK(binary_cross_entropy(p, y, Reduction::sum).item<double>() == doctest::Approx(200 - std::log(0.8) - std::log(0.75)));
  const Tensor w = tensor({2, 1, 1, 1, 1}, kFloat64);
  CHECK(binary_cross_entropy(p, y, Reduction::none, w).at({0}) == doctest::Approx(-2 * std::log(0.8)));
  // soft target y = 0.3 at p = 0.6
  CHECK(binary_cross_entropy(tensor({0.6}, kFloat64), tensor({0.3}, kFloat64)).item<double>() ==
        doctest::Approx(-(0.3 * std::log(0.6) + 0.7 * std::log(0.4))));
  // gradient (p - y)/(p(1-p)) stays finite at p = 0 and 1
  Tensor pg = tensor({0.0, 1.0, 0.5}, kFloat64).requires_grad_();
  binary_cross_entropy(pg, tensor({0, 1, 1}, kFloat64), Reduction::sum).backward();
  check_values(pg.grad(), {0, 0, -2});
}

TEST_CASE("binary_cross_entropy_with_logits and sigmoid: stable at ±1e4, pos_weight by hand") {
  for (Dtype dt : {kFloat32, kFloat64}) {
    INFO("dtype " << dtype_name(dt));
    const Tensor s = sigmoid(tensor({1e4, -1e4, 0}, dt));
    check_values(s, {1, 0, 0.5});
    Tensor z = tensor({1e4, 1e4, -1e4, -1e4}, dt).requires_grad_();
    const Tensor y = tensor({1, 0, 1, 0}, dt);
    const Tensor l = binary_cross_entropy_with_logits(z, y, Reduction::none);
    check_values(l, {0, 1e4, 1e4, 0});
    sum(l).backward();
    check_values(z.grad(), {0, 1, -1, 0});  // σ(z) - y
  }
  // moderate logits: equals BCE of sigmoid, and ln 2 at z = 0
  const Tensor z = tensor({-2, -0.5, 0, 1.5}, kFloat64), y = tensor({0, 1, 0.5, 1}, kFloat64);
  check_values(binary_cross_entropy_with_logits(z, y, Reduction::none), binary_cross_entropy(sigmoid(z), y, Reduction::none).to_vector<double>(),
               1e-12);
  CHECK(binary_cross_entropy_with_logits(tensor({0.0}, kFloat64), tensor({1.0}, kFloat64)).item<double>() == doctest::Approx(std::log(2.0)));
  // pos_weight 3, y = 1: 3·ln(1 + e^-z); y = 0 unaffected: ln(1 + e^z); weight multiplies
  const Tensor lp = binary_cross_entropy_with_logits(tensor({0.5, 0.5}, kFloat64), tensor({1, 0}, kFloat64), Reduction::none,
                                                     tensor({2, 1}, kFloat64), tensor({3.0}, kFloat64));
  check_values(lp, {2 * 3 * std::log1p(std::exp(-0.5)), std::log1p(std::exp(0.5))});
}

TEST_CASE("binary cross entropy: errors") {
  check_throws_with<ValueError>([] { binary_cross_entropy(tensor({{0.5, 0.2}, {1.5, 0.1}}), zeros({2, 2})); },
                                {"binary_cross_entropy", "1.5", "[1, 0]", "[0, 1]"});
  check_throws_with<ValueError>([] { binary_cross_entropy(tensor({0.5, -0.25}), zeros({2})); }, {"binary_cross_entropy", "-0.25", "[1]"});
  check_throws_with<ValueError>([] { binary_cross_entropy(tensor({std::numeric_limits<double>::quiet_NaN()}), zeros({1})); },
                                {"binary_cross_entropy", "nan", "[0]"});
  check_throws_with<ShapeError>([] { binary_cross_entropy(zeros({2, 3}), zeros({3})); }, {"binary_cross_entropy", "(2, 3)", "(3,)"});
  check_throws_with<DtypeError>([] { binary_cross_entropy(zeros({2}), zeros({2}, kFloat64)); }, {"binary_cross_entropy", "float32", "float64"});
  check_throws_with<ShapeError>([] { binary_cross_entropy(zeros({2, 3}), zeros({2, 3}), Reduction::mean, zeros({2})); },
                                {"binary_cross_entropy", "(2,)", "(2, 3)"});
  check_throws_with<ShapeError>([] { binary_cross_entropy(zeros({2, 3}), zeros({2, 3}), Reduction::mean, zeros({4, 2, 3})); },
                                {"binary_cross_entropy", "weight", "(4, 2, 3)", "(2, 3)"});
  check_throws_with<DtypeError>([] { binary_cross_entropy(zeros({2}), zeros({2}), Reduction::mean, zeros({2}, kFloat64)); },
                                {"binary_cross_entropy", "weight", "float64"});
  check_throws_with<ShapeError>([] { binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 2})); },
                                {"binary_cross_entropy_with_logits", "(2, 3)", "(2, 2)"});
  check_throws_with<ShapeError>([] { binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 3}), Reduction::mean, Tensor(), zeros({2})); },
                                {"binary_cross_entropy_with_logits", "pos_weight", "(2,)", "(2, 3)"});
  check_throws_with<DtypeError>([] { binary_cross_entropy_with_logits(zeros({2}, kFloat64), zeros({2})); },
                                {"binary_cross_entropy_with_logits", "float64", "float32"});
}

// ============================================================================================
// cross entropy and nll
// ============================================================================================

TEST_CASE("cross_entropy: known logit vector from the formula") {
  const double expect = lse({1, 2, 3}) - 3;  // -ln(e³ / (e + e² + e³)) ≈ 0.40760596
  CHECK(expect == doctest::Approx(0.40760596444));
  const Tensor one = cross_entropy(tensor({1, 2, 3}, kFloat64), from_vector(std::vector<std::int64_t>{2}, {}));
  CHECK(one.shape() == Shape{});
  CHECK(one.item<double>() == doctest::Approx(expect).epsilon(1e-12));
  // float32 too
  CHECK(cross_entropy(tensor({1, 2, 3}), from_vector(std::vector<std::int64_t>{2}, {})).item<double>() == doctest::Approx(expect).epsilon(1e-6));
}

TEST_CASE("cross_entropy: batch, reductions, weights, ignore_index, label smoothing") {
  const std::vector<std::vector<double>> rows = {{1, 2, 3}, {0.5, -1, 2}, {3, 0, 0}};
  const Tensor x = tensor({{1, 2, 3}, {0.5, -1, 2}, {3, 0, 0}}, kFloat64);
  const Tensor y = tensor_int({2, 0, 1});
  std::vector<double> per;
  for (std::size_t i = 0; i < 3; ++i) per.push_back(lse(rows[i]) - rows[i][static_cast<std::size_t>(y.to_vector<std::int64_t>()[i])]);
  check_values(cross_entropy(x, y, {.reduction = Reduction::none}), per);
  CHECK(cross_entropy(x, y).item<double>() == doctest::Approx((per[0] + per[1] + per[2]) / 3));
  CHECK(cross_entropy(x, y, {.reduction = Reduction::sum}).item<double>() == doctest::Approx(per[0] + per[1] + per[2]));
  // class weights: mean divides by Σ w[y_i] = w2 + w0 + w1
  const Tensor w = tensor({0.5, 2.0, 1.5}, kFloat64);
  const double wsum = 1.5 + 0.5 + 2.0;
  CHECK(cross_entropy(x, y, {.weight = w}).item<double>() == doctest::Approx((1.5 * per[0] + 0.5 * per[1] + 2.0 * per[2]) / wsum));
  check_values(cross_entropy(x, y, {.reduction = Reduction::none, .weight = w}), {1.5 * per[0], 0.5 * per[1], 2.0 * per[2]});
  // ignore_index: row 1 skipped, the mean over the 2 others
  const Tensor yi = tensor_int({2, -100, 1});
  check_values(cross_entropy(x, yi, {.reduction = Reduction::none}), {per[0], 0, per[2]});
  CHECK(cross_entropy(x, yi).item<double>() == doctest::Approx((per[0] + per[2]) / 2));
  CHECK(cross_entropy(x, tensor_int({2, 0, 0}), {.ignore_index = 0}).item<double>() == doctest::Approx(per[0]));
  // label smoothing ε: (1-ε)(lse - x_y) + ε/C Σ_c (lse - x_c)
  const double eps = 0.1;
  std::vector<double> smooth;
  for (std::size_t i = 0; i < 3; ++i) {
    const double l = lse(rows[i]);
    double all = 0;
    for (double v : rows[i]) all += l - v;
    smooth.push_back((1 - eps) * per[i] + eps / 3 * all);
  }
  check_values(cross_entropy(x, y, {.reduction = Reduction::none, .label_smoothing = eps}), smooth);
  // with weights: (1-ε) w_y (lse - x_y) + ε/C Σ_c w_c (lse - x_c); the mean still divides by Σ w[y_i]
  double num = 0;
  const double wv[3] = {0.5, 2.0, 1.5};
  for (std::size_t i = 0; i < 3; ++i) {
    const double l = lse(rows[i]);
    double all = 0;
    for (std::size_t c = 0; c < 3; ++c) all += wv[c] * (l - rows[i][c]);
    num += (1 - eps) * wv[y.to_vector<std::int64_t>()[i]] * per[i] + eps / 3 * all;
  }
  CHECK(cross_entropy(x, y, {.weight = w, .label_smoothing = eps}).item<double>() == doctest::Approx(num / wsum));
  // integral float targets read as class indices
  CHECK(cross_entropy(x, tensor({2, 0, 1}, kFloat64)).item<double>() == doctest::Approx((per[0] + per[1] + per[2]) / 3));
}

TEST_CASE("cross_entropy: gradient is (softmax - onehot)/N, all-ignored batch is NaN with zero gradient") {
  Tensor x = tensor({{1, 2, 3}, {0.5, -1, 2}}, kFloat64).requires_grad_();
  cross_entropy(x, tensor_int({2, 0})).backward();
  const auto g = x.grad().to_vector<double>();
  const double l0 = lse({1, 2, 3}), l1 = lse({0.5, -1, 2});
  const std::vector<double> expect = {std::exp(1 - l0) / 2, std::exp(2 - l0) / 2, (std::exp(3 - l0) - 1) / 2,
                                      (std::exp(0.5 - l1) - 1) / 2, std::exp(-1 - l1) / 2, std::exp(2 - l1) / 2};
  for (std::size_t i = 0; i < 6; ++i) CHECK(g[i] == doctest::Approx(expect[i]).epsilon(1e-12));

  Tensor z = tensor({{1, 2, 3}, {0.5, -1, 2}}, kFloat64).requires_grad_();
  const Tensor loss = cross_entropy(z, tensor_int({-100, -100}));
  CHECK(std::isnan(loss.item<double>()));
  loss.backward();
  check_values(z.grad(), std::vector<double>(6, 0.0));
}

TEST_CASE("cross_entropy: probability targets") {
  const Tensor x = tensor({{1, 2, 3}, {0.5, -1, 2}}, kFloat64);
  const Tensor q = tensor({{0.2, 0.3, 0.5}, {1, 0, 0}}, kFloat64);
  const double l0 = lse({1, 2, 3}), l1 = lse({0.5, -1, 2});
  const double r0 = -(0.2 * (1 - l0) + 0.3 * (2 - l0) + 0.5 * (3 - l0)), r1 = -(0.5 - l1);
  check_values(cross_entropy(x, q, {.reduction = Reduction::none}), {r0, r1});
  CHECK(cross_entropy(x, q).item<double>() == doctest::Approx((r0 + r1) / 2));
  // one-hot probabilities agree with class indices
  const Tensor oh = tensor({{0, 0, 1}, {1, 0, 0}}, kFloat64);
  CHECK(cross_entropy(x, oh).item<double>() == doctest::Approx(cross_entropy(x, tensor_int({2, 0})).item<double>()));
  CHECK(cross_entropy(x, oh, {.label_smoothing = 0.2}).item<double>() ==
        doctest::Approx(cross_entropy(x, tensor_int({2, 0}), {.label_smoothing = 0.2}).item<double>()));
  // weights: -Σ w_c q_c log p_c, the mean divides by N
  const Tensor w = tensor({1, 2, 3}, kFloat64);
  const double wr0 = -(0.2 * (1 - l0) + 2 * 0.3 * (2 - l0) + 3 * 0.5 * (3 - l0)), wr1 = -(0.5 - l1);
  CHECK(cross_entropy(x, q, {.weight = w}).item<double>() == doctest::Approx((wr0 + wr1) / 2));
}

TEST_CASE("cross_entropy: stable at logits of ±1e4") {
  for (Dtype dt : {kFloat32, kFloat64}) {
    INFO("dtype " << dtype_name(dt));
    Tensor x = tensor({{1e4, -1e4}, {1e4, -1e4}, {-1e4, 1e4}}, dt).requires_grad_();
    const Tensor l = cross_entropy(x, tensor_int({0, 1, 0}), {.reduction = Reduction::none});
    check_values(l, {0, 2e4, 2e4});
    sum(l).backward();
    check_values(x.grad(), {0, 0, 1, -1, -1, 1});
    const Tensor s = cross_entropy(x.detach(), tensor_int({0, 1, 0}), {.label_smoothing = 0.1});
    CHECK(std::isfinite(s.item<double>()));
  }
}

TEST_CASE("cross_entropy equals nll_loss of log_softmax, nll_loss values") {
  const Tensor x = from_vector(seq(20, -2, 0.23), {4, 5}, kFloat64);
  const Tensor y = tensor_int({4, 0, -100, 2});
  const Tensor w = tensor({1, 0.5, 2, 1, 3}, kFloat64);
  for (Reduction r : {Reduction::none, Reduction::mean, Reduction::sum}) {
    const Tensor a = cross_entropy(x, y, {.reduction = r, .weight = w});
    const Tensor b = nll_loss(log_softmax(x, 1), y, r, w);
    check_values(a, b.to_vector<double>(), 1e-12);
  }
  const Tensor lp = tensor({{-1, -2, -3}, {-0.5, -0.25, -4}}, kFloat64);
  check_values(nll_loss(lp, tensor_int({1, 2}), Reduction::none), {2, 4});
  CHECK(nll_loss(lp, tensor_int({1, 2})).item<double>() == 3.0);
  CHECK(nll_loss(lp, tensor_int({1, 2}), Reduction::mean, tensor({1, 1, 3}, kFloat64)).item<double>() == doctest::Approx((2 + 12) / 4.0));
  CHECK(nll_loss(tensor({-1, -2, -3}, kFloat64), from_vector(std::vector<std::int64_t>{0}, {})).item<double>() == 1.0);
}

TEST_CASE("cross_entropy / nll_loss of (N, C, d1, ..., dk): each position is a sample") {
  // (N=2, C=3, d=2): position (n, j) has logits x[n, :, j]
  const Tensor x = from_vector(seq(12, -1.5, 0.31), {2, 3, 2}, kFloat64);
  const Tensor y = from_vector(std::vector<std::int64_t>{2, 0, 1, 1}, {2, 2});
  // reference: row (n, j) by hand from the formula ln Σ e^x - x_y
  std::vector<double> expect;
  const auto xv = x.to_vector<double>();
  const auto yv = y.to_vector<std::int64_t>();
  for (int n = 0; n < 2; ++n)
    for (int j = 0; j < 2; ++j) {
      double s = 0;
      for (int c = 0; c < 3; ++c) s += std::exp(xv[static_cast<std::size_t>(n * 6 + c * 2 + j)]);
      const auto label = yv[static_cast<std::size_t>(n * 2 + j)];
      expect.push_back(std::log(s) - xv[static_cast<std::size_t>(n * 6 + label * 2 + j)]);
    }
  const Tensor none = cross_entropy(x, y, {.reduction = Reduction::none});
  CHECK(none.shape() == Shape{2, 2});
  check_values(none, expect);
  CHECK(cross_entropy(x, y).item<double>() == doctest::Approx((expect[0] + expect[1] + expect[2] + expect[3]) / 4).epsilon(1e-14));
  CHECK(cross_entropy(x, y, {.reduction = Reduction::sum}).item<double>() ==
        doctest::Approx(expect[0] + expect[1] + expect[2] + expect[3]).epsilon(1e-14));
  // weighted mean divides by Σ w[y] over all positions; ignore_index drops a position
  const Tensor w = tensor({1.0, 2.0, 4.0}, kFloat64);
  CHECK(cross_entropy(x, y, {.weight = w}).item<double>() ==
        doctest::Approx((4 * expect[0] + 1 * expect[1] + 2 * expect[2] + 2 * expect[3]) / 9).epsilon(1e-14));
  const Tensor yi = from_vector(std::vector<std::int64_t>{2, -100, 1, 1}, {2, 2});
  CHECK(cross_entropy(x, yi).item<double>() == doctest::Approx((expect[0] + expect[2] + expect[3]) / 3).epsilon(1e-14));
  // nll_loss of log_softmax over dim 1 gives the same; probability targets of one-hot rows too
  check_values(nll_loss(log_softmax(x, 1), y, Reduction::none), expect);
  const Tensor onehot = permute(one_hot(y, 3, kFloat64), {0, 2, 1});  // (2, 2, 3) -> (2, 3, 2)
  check_values(cross_entropy(x, onehot, {.reduction = Reduction::none}), expect);
  // 3 spatial dims, gradient equals the 2-D loss of the permuted rows
  const Tensor x4 = from_vector(seq(24, -2, 0.17), {2, 3, 2, 2}, kFloat64).requires_grad_();
  const Tensor y4 = from_vector(std::vector<std::int64_t>{0, 1, 2, 0, 2, 2, 1, 0}, {2, 2, 2});
  cross_entropy(x4, y4, {.label_smoothing = 0.1}).backward();
  const Tensor rows = permute(x4.detach(), {0, 2, 3, 1}).reshape({8, 3}).requires_grad_();
  cross_entropy(rows, y4.reshape({8}), {.label_smoothing = 0.1}).backward();
  check_values(permute(x4.grad(), {0, 2, 3, 1}).reshape({24}), rows.grad().to_vector<double>());
  // errors name both shapes and the expected target shape
  check_throws_with<ShapeError>([&] { cross_entropy(x, tensor_int({0, 1})); }, {"cross_entropy", "(2,)", "(2, 3, 2)", "(2, 2)"});
  check_throws_with<ShapeError>([&] { nll_loss(x, from_vector(std::vector<std::int64_t>{0, 1, 2, 0}, {4})); },
                                {"nll_loss", "(4,)", "(2, 3, 2)", "(2, 2)"});
  check_throws_with<IndexError>([&] { cross_entropy(x, from_vector(std::vector<std::int64_t>{0, 1, 3, 0}, {2, 2})); },
                                {"cross_entropy", "target 3", "index 2", "3 classes", "test_linalg_loss_values.cpp:"});
}

TEST_CASE("cross_entropy / nll_loss: errors") {
  const Tensor x = zeros({3, 4});
  check_throws_with<IndexError>([&] { cross_entropy(x, tensor_int({0, 5, 1})); },
                                {"cross_entropy", "target 5", "index 1", "4 classes"});
  check_throws_with<IndexError>([&] { cross_entropy(x, tensor_int({0, 1, -1})); }, {"cross_entropy", "target -1", "index 2", "4 classes"});
  check_throws_with<IndexError>([&] { cross_entropy(x, tensor_int({0, 1, 4})); }, {"cross_entropy", "target 4", "index 2"});
  check_throws_with<IndexError>([&] { cross_entropy(x, tensor_int({-100, 2, 3}), {.ignore_index = 3}); }, {"cross_entropy", "-100", "index 0"});
  check_throws_with<ValueError>([&] { cross_entropy(x, tensor({0, 1.5, 2})); }, {"cross_entropy", "1.5", "index 1", "integral"});
  check_throws_with<ShapeError>([&] { cross_entropy(x, tensor_int({0, 1})); }, {"cross_entropy", "(2,)", "(3, 4)"});
  check_throws_with<ShapeError>([&] { cross_entropy(x, randint(0, 3, {3, 4})); }, {"cross_entropy", "(3, 4)"});
  check_throws_with<ShapeError>([&] { cross_entropy(zeros({2, 3, 4}), tensor_int({0, 1})); }, {"cross_entropy", "(2, 3, 4)"});
  check_throws_with<DtypeError>([&] { cross_entropy(x, zeros({3, 4}, kFloat64)); }, {"cross_entropy", "float64", "float32"});
  check_throws_with<DtypeError>([&] { cross_entropy(randint(0, 3, {3, 4}), tensor_int({0, 1, 2})); }, {"cross_entropy", "int64"});
  check_throws_with<DtypeError>([&] { cross_entropy(x, tensor_int({0, 1, 2}), {.weight = zeros({4}, kFloat64)}); },
                                {"cross_entropy", "weight", "float64"});
  check_throws_with<ShapeError>([&] { cross_entropy(x, tensor_int({0, 1, 2}), {.weight = zeros({3})}); },
                                {"cross_entropy", "weight", "(3,)", "(3, 4)"});
  check_throws_with<ValueError>([&] { cross_entropy(x, tensor_int({0, 1, 2}), {.label_smoothing = 1.5}); },
                                {"cross_entropy", "label_smoothing", "1.5"});
  check_throws_with<ValueError>([&] { cross_entropy(x, tensor_int({0, 1, 2}), {.weight = ones({4}).requires_grad_()}); },
                                {"cross_entropy", "class weights", "detach"});

  check_throws_with<IndexError>([&] { nll_loss(x, tensor_int({7, 0, 0})); }, {"nll_loss", "target 7", "index 0", "4 classes"});
  check_throws_with<ShapeError>([&] { nll_loss(x, tensor_int({0})); }, {"nll_loss", "(1,)", "(3, 4)"});
  check_throws_with<ShapeError>([&] { nll_loss(zeros({2, 2, 2}), tensor_int({0, 1})); }, {"nll_loss", "(2, 2, 2)"});
  check_throws_with<ShapeError>([&] { nll_loss(x, tensor_int({0, 1, 2}), Reduction::mean, zeros({5})); }, {"nll_loss", "(5,)", "(3, 4)"});
  check_throws_with<DtypeError>([&] { nll_loss(x, tensor_int({0, 1, 2}), Reduction::mean, zeros({4}, kFloat64)); }, {"nll_loss", "float64"});
  check_throws_with<ValueError>([&] { nll_loss(x, tensor({0.5, 1, 2})); }, {"nll_loss", "0.5", "integral"});
}
