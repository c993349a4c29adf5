// Numerical robustness: the stable formulations hold at extreme logits (±1e4, where a naive exp
// overflows in both float32 and float64), saturating activations never produce NaN in values or
// gradients, and anomaly mode names the first op that produced a NaN/Inf, in forward and backward.
// Expected values are closed forms: softmax of [1e4, -1e4, 0] is [1, 0, 0] to within exp(-1e4),
// log_softmax is [0, -2e4, -1e4], and so on.
#include <xgrad/xgrad.hpp>

#include <cmath>

#include "support/test_util.hpp"

using namespace xgrad;
using xgrad::testing::check_throws_with;

namespace {

constexpr double kBig = 1e4;

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

// The elements of t, as double.
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

std::string here(int line) { return "test_numerics.cpp:" + std::to_string(line); }

// Relative tolerance of the dtype (results are compared with closed forms, not bit patterns).
double tol(Dtype d) { return d == kFloat32 ? 1e-6 : 1e-12; }

}  // namespace

TEST_CASE("numerics: softmax and log_softmax stay finite and exact at logits of ±1e4") {
  for (Dtype d : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(d));
    Tensor x = tensor({{kBig, -kBig, 0.0}, {-kBig, -kBig, -kBig}, {kBig, kBig, kBig}}, d).requires_grad_();
    const Tensor s = softmax(x, 1);
    const Tensor ls = log_softmax(x, 1);
    REQUIRE(all_finite(s));
    REQUIRE(all_finite(ls));
    const auto sv = values(s), lv = values(ls);
    // Row 0: one logit dominates; rows 1 and 2: equal logits (shifted by the max, so no overflow).
    const std::vector<double> s_expected = {1, 0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3};
    const std::vector<double> l_expected = {0, -2 * kBig, -kBig, -std::log(3.0), -std::log(3.0), -std::log(3.0),
                                            -std::log(3.0), -std::log(3.0), -std::log(3.0)};
    for (std::size_t i = 0; i < sv.size(); ++i) {
      CHECK(sv[i] == doctest::Approx(s_expected[i]).epsilon(tol(d)));
      CHECK(lv[i] == doctest::Approx(l_expected[i]).epsilon(tol(d)));
    }
    // Gradients: d/dx sum(w * log_softmax(x)) = w - softmax(x) * sum(w) per row; with w = e_1 on row 0
    // that is [-1, 1, 0]. Everything finite.
    const Tensor w = tensor({{0.0, 1.0, 0.0}, {1.0, 0.0, 0.0}, {0.0, 0.0, 1.0}}, d);
    (ls * w).sum().backward();
    REQUIRE(all_finite(x.grad()));
    const auto g = values(x.grad());
    CHECK(g[0] == doctest::Approx(-1.0));
    CHECK(g[1] == doctest::Approx(1.0));
    CHECK(g[2] == doctest::Approx(0.0));
    x.zero_grad();
    (s * w).sum().backward();  // softmax gradient s (w - <s, w>) is 0 at a saturated row
    REQUIRE(all_finite(x.grad()));
    CHECK(values(x.grad())[0] == doctest::Approx(0.0));
  }
}

TEST_CASE("numerics: cross_entropy and nll_loss at logits of ±1e4 are finite with exact values and gradients") {
  for (Dtype d : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(d));
    Tensor x = tensor({{kBig, -kBig}, {kBig, -kBig}, {-kBig, -kBig}}, d).requires_grad_();
    const Tensor y = tensor_int({0, 1, 1});
    // Per sample: 0 (right and certain), 2e4 (wrong and certain), log 2 (tie).
    const Tensor per = cross_entropy(x, y, {.reduction = Reduction::none});
    REQUIRE(all_finite(per));
    const auto pv = values(per);
    CHECK(pv[0] == doctest::Approx(0.0));
    CHECK(pv[1] == doctest::Approx(2 * kBig).epsilon(tol(d)));
    CHECK(pv[2] == doctest::Approx(std::log(2.0)).epsilon(tol(d)));
    const Tensor loss = cross_entropy(x, y);
    CHECK(loss.item<double>() == doctest::Approx((2 * kBig + std::log(2.0)) / 3).epsilon(tol(d)));
    loss.backward();
    // d/dx = (softmax(x) - onehot(y)) / N. At |x| = 1e4 one float32 ulp of x is 1e-3, which moves the
    // exact softmax of the tied row by 2.5e-4 of its value: float32 results are held to that
    // (backward-stable) accuracy, float64 ones to 1e-12.
    const std::vector<double> expected = {0, 0, 1.0 / 3, -1.0 / 3, 0.5 / 3, -0.5 / 3};
    const auto g = values(x.grad());
    const double g_tol = d == kFloat32 ? 5e-4 : 1e-12;
    for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(expected[i]).epsilon(g_tol));
    // With label smoothing the log-probabilities of the wrong classes enter too: still finite.
    x.zero_grad();
    const Tensor smooth = cross_entropy(x, y, {.label_smoothing = 0.1});
    CHECK(std::isfinite(smooth.item<double>()));
    smooth.backward();
    CHECK(all_finite(x.grad()));
    // nll_loss on log_softmax is the same number.
    CHECK(nll_loss(log_softmax(x, 1), y).item<double>() == doctest::Approx(loss.item<double>()).epsilon(tol(d)));
  }
}

TEST_CASE("numerics: binary_cross_entropy_with_logits at ±1e4 is finite with exact values and gradients") {
  for (Dtype d : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(d));
    Tensor x = tensor({kBig, kBig, -kBig, -kBig, 0.0}, d).requires_grad_();
    const Tensor y = tensor({1.0, 0.0, 1.0, 0.0, 1.0}, d);
    // loss = max(x, 0) - x y + log(1 + exp(-|x|)): 0, 1e4, 1e4, 0, log 2.
    const Tensor per = binary_cross_entropy_with_logits(x, y, Reduction::none);
    REQUIRE(all_finite(per));
    const std::vector<double> expected = {0, kBig, kBig, 0, std::log(2.0)};
    const auto pv = values(per);
    for (std::size_t i = 0; i < pv.size(); ++i) CHECK(pv[i] == doctest::Approx(expected[i]).epsilon(tol(d)));
    binary_cross_entropy_with_logits(x, y, Reduction::sum).backward();
    // d/dx = sigmoid(x) - y: 0, 1, -1, 0, -0.5.
    const std::vector<double> g_expected = {0, 1, -1, 0, -0.5};
    const auto g = values(x.grad());
    for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(g_expected[i]).epsilon(tol(d)));
    // pos_weight multiplies the positive term only; still finite at the extremes.
    x.zero_grad();
    const Tensor pw = full({5}, 3.0, d);
    const Tensor weighted = binary_cross_entropy_with_logits(x, y, Reduction::sum, Tensor(), pw);
    CHECK(weighted.item<double>() == doctest::Approx(3 * kBig + kBig + 3 * std::log(2.0)).epsilon(tol(d)));
    weighted.backward();
    CHECK(all_finite(x.grad()));
  }
}

TEST_CASE("numerics: sigmoid, softplus, tanh and logsumexp saturate without NaN (values and gradients)") {
  for (Dtype d : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(d));
    // ±1e4 overflows exp() in both dtypes; ±800 overflows exp() in float64 too; ±100 only in float32.
    Tensor x = tensor({kBig, -kBig, 800.0, -800.0, 100.0, -100.0, 0.0}, d).requires_grad_();
    const Tensor s = sigmoid(x);
    REQUIRE(all_finite(s));
    const auto sv = values(s);
    CHECK(sv[0] == 1.0);
    CHECK(sv[1] == 0.0);
    CHECK(sv[2] == 1.0);
    CHECK(sv[3] == 0.0);
    CHECK(sv[6] == 0.5);
    s.sum().backward();  // sigmoid' = s (1 - s): exactly 0 at saturation, 1/4 at 0
    REQUIRE(all_finite(x.grad()));
    CHECK(values(x.grad())[0] == 0.0);
    CHECK(values(x.grad())[1] == 0.0);
    CHECK(values(x.grad())[6] == 0.25);

    x.zero_grad();
    const Tensor sp = softplus(x);
    REQUIRE(all_finite(sp));
    const auto spv = values(sp);
    CHECK(spv[0] == doctest::Approx(kBig));  // log(1 + e^x) = x above the threshold
    CHECK(spv[1] == 0.0);
    CHECK(spv[2] == doctest::Approx(800.0));
    CHECK(spv[3] == 0.0);
    CHECK(spv[6] == doctest::Approx(std::log(2.0)).epsilon(tol(d)));
    sp.sum().backward();  // softplus' = sigmoid(x)
    REQUIRE(all_finite(x.grad()));
    const auto g = values(x.grad());
    CHECK(g[0] == doctest::Approx(1.0));
    CHECK(g[1] == doctest::Approx(0.0));
    CHECK(g[6] == doctest::Approx(0.5));
    // A large beta makes beta * x overflow as well.
    x.zero_grad();
    const Tensor sp_beta = softplus(x, 50.0);
    REQUIRE(all_finite(sp_beta));
    sp_beta.sum().backward();
    REQUIRE(all_finite(x.grad()));

    x.zero_grad();
    const Tensor t = tanh(x);
    REQUIRE(all_finite(t));
    CHECK(values(t)[0] == 1.0);
    CHECK(values(t)[1] == -1.0);
    t.sum().backward();
    REQUIRE(all_finite(x.grad()));
    CHECK(values(x.grad())[0] == 0.0);

    x.zero_grad();
    const Tensor lse = logsumexp(x, {0});
    CHECK(lse.item<double>() == doctest::Approx(kBig).epsilon(tol(d)));
    lse.backward();  // softmax(x): all mass on the largest element
    REQUIRE(all_finite(x.grad()));
    CHECK(values(x.grad())[0] == doctest::Approx(1.0));
  }
}

TEST_CASE("numerics: pow at a zero base follows IEEE (std::pow) for every length, SIMD lanes and scalar tail alike") {
  // 0^0 = 1, 0^y = inf for y < 0 (-0^-1 = -inf), 0^y = 0 for y > 0; lengths 1..19 put zeros both in
  // full SIMD batches and in the remainder handled element by element.
  for (Dtype d : {kFloat32, kFloat64}) {
    for (std::int64_t n = 1; n < 20; ++n) {
      CAPTURE(n);
      const Tensor z = zeros({n}, d);
      for (double v : values(pow(z, 0.0))) CHECK(v == 1.0);
      for (double v : values(pow(z, -0.5))) CHECK(v == INFINITY);
      for (double v : values(pow(z, 2.5))) CHECK(v == 0.0);
      for (double v : values(pow(z, full({n}, -2.0, d)))) CHECK(v == INFINITY);
      for (double v : values(pow(0.0, full({n}, 0.0, d)))) CHECK(v == 1.0);
      for (double v : values(pow(full({n}, -0.0, d), -1.0))) CHECK(v == -INFINITY);
      // and the gradient of sqrt-like powers at 0 is infinite, as d/dx x^0.5 = 0.5 x^-0.5 says
      const Tensor x = zeros({n}, d).requires_grad_();
      pow(x, 0.5).sum().backward();
      for (double v : values(x.grad())) CHECK(v == INFINITY);
    }
  }
}

TEST_CASE("anomaly mode: the first NaN/Inf of a forward chain is named with its op and call site") {
  DetectAnomalyGuard guard;
  const Tensor x = tensor({1.0, 2.0, 3.0}, kFloat64).requires_grad_();
  const Tensor a = x * 2.0;  // finite
  int line = 0;
  try {
    line = __LINE__ + 1;
    const Tensor b = log(a - 5.0);  // log of a negative number: the first NaN
    const Tensor c = b.exp();       // never reached
    FAIL("no anomaly reported");
  } catch (const AnomalyError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("log") != std::string::npos);
    CHECK(msg.find("NaN") != std::string::npos);
    CHECK(msg.find(here(line)) != std::string::npos);
    CHECK(msg.find("exp") == std::string::npos);
  }
  // An Inf is reported too: exp(1000) in float64, here from the method form.
  const Tensor big = tensor({1.0, 1000.0}, kFloat64);
  const int exp_line = __LINE__ + 1;
  check_throws_with<AnomalyError>([&] { (void)big.exp(); }, {"exp", "Inf", here(exp_line)});
  // float32 overflows earlier: exp(100) is Inf in float32.
  const int f32_line = __LINE__ + 1;
  check_throws_with<AnomalyError>([&] { (void)exp(tensor({100.0})); }, {"exp", here(f32_line)});
  // Without anomaly mode the same NaN passes silently.
  DetectAnomalyGuard off(false);
  CHECK_FALSE(all_finite(log(a - 5.0)));
}

TEST_CASE("anomaly mode: the first NaN/Inf gradient of a backward pass is named with the node and its forward call site") {
  DetectAnomalyGuard guard;
  const Tensor x = tensor({0.0, 1.0}, kFloat64).requires_grad_();
  const int sqrt_line = __LINE__ + 1;
  const Tensor u = sqrt(x);  // forward finite (sqrt 0 = 0); backward 1 / (2 sqrt 0) = Inf
  const int exp_line = __LINE__ + 1;
  const Tensor v = u.exp();  // backward finite
  const Tensor loss = v.sum();
  try {
    loss.backward();
    FAIL("no anomaly reported");
  } catch (const AnomalyError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("SqrtBackward") != std::string::npos);
    CHECK(msg.find(here(sqrt_line)) != std::string::npos);
    CHECK(msg.find(here(exp_line)) == std::string::npos);
    CHECK(msg.find("NaN or Inf") != std::string::npos);
  }
  // In a model: a NaN in the loss's gradient is traced to the op where it starts, not where it ends.
  const Tensor w = tensor({{1.0, -1.0}}, kFloat64).requires_grad_();
  const Tensor inp = tensor({{2.0}, {-3.0}}, kFloat64);
  const Tensor h = matmul(inp, w);  // (2, 2)
  const int pow_line = __LINE__ + 1;
  const Tensor r = pow(relu(h), 0.5);  // d/dh h^0.5 = Inf at h = 0 (relu zeroes the negatives)
  check_throws_with<AnomalyError>([&] { r.sum().backward(); }, {"PowBackward", here(pow_line)});
}
