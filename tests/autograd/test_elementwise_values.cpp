// Forward values of arithmetic, comparisons and every element-wise op against independent references:
// hand values, the defining formulas evaluated with <cmath>, and identities. The op table
// (op_cases_*.cpp) checks gradients against finite differences of these forwards, so a wrong forward
// would go unnoticed there; this file is where forwards are pinned down.
//
// Also: the gradient conventions at kinks and edges, chosen to match PyTorch's derivatives.yaml (abs,
// sign, relu, leaky_relu, elu at 0; clamp at its bounds; maximum/minimum ties; softplus above its
// threshold; pow at 0), and NaN propagation.
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

using V = std::vector<double>;
constexpr double kInf = std::numeric_limits<double>::infinity();

V vals(const Tensor& t) { return t.to_vector<double>(); }
Tensor f64(const V& v) { return from_vector(v, {static_cast<std::int64_t>(v.size())}, kFloat64); }
Tensor leaf64(const V& v) { return f64(v).requires_grad_(); }

// 37 values spread over [lo, hi]: long enough for full SIMD lanes and a scalar tail.
V spread(double lo, double hi, int n = 37) {
  V v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = lo + (hi - lo) * i / (n - 1);
  return v;
}

// f(x) element-wise equals ref(x), in float64 (relative 1e-14) and float32 (2e-6 relative, or absolute
// near 0; the reference is computed from the float32-rounded inputs), on contiguous and non-contiguous
// inputs.
void check_unary(const std::function<Tensor(const Tensor&)>& f, const std::function<double(double)>& ref, const V& xs,
                 double tol64 = 1e-14, double tol32 = 2e-6) {
  const V got64 = vals(f(f64(xs)));
  REQUIRE(got64.size() == xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    INFO("float64 x = " << xs[i]);
    CHECK(got64[i] == doctest::Approx(ref(xs[i])).epsilon(tol64).scale(1e-300));
  }
  const Tensor x32 = from_vector(xs, {static_cast<std::int64_t>(xs.size())}, kFloat32);
  const V got32 = vals(f(x32));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double xr = static_cast<double>(static_cast<float>(xs[i]));
    INFO("float32 x = " << xr);
    CHECK(got32[i] == doctest::Approx(ref(xr)).epsilon(tol32));  // relative, and absolute near 0
  }
  // a non-contiguous view gives the same values (to an ulp or so: an element that falls in a SIMD lane
  // in one layout and in the scalar tail in the other goes through xsimd's function or <cmath>'s)
  const Tensor base =
      from_vector(xs, {1, static_cast<std::int64_t>(xs.size())}, kFloat64).expand({2, static_cast<std::int64_t>(xs.size())});
  const Tensor nc = transpose(base.contiguous(), 0, 1);
  CHECK_FALSE(nc.is_contiguous());
  const V got_nc = vals(f(nc));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    CHECK(got_nc[2 * i] == doctest::Approx(got64[i]).epsilon(tol64).scale(1e-300));
    CHECK(got_nc[2 * i + 1] == got_nc[2 * i]);
  }
}

// d sum(f(x)) / dx at the given points (float64).
V grad_at(const std::function<Tensor(const Tensor&)>& f, const V& xs) {
  const Tensor x = leaf64(xs);
  sum(f(x)).backward();
  return vals(x.grad());
}

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
// Φ(x) = ½erfc(-x/√2) (the erf form 1 + erf(x/√2) cancels for negative x)
double gelu_ref(double x) { return 0.5 * x * std::erfc(-x / std::numbers::sqrt2); }
double gelu_tanh_ref(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
}
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

}  // namespace

// ---- arithmetic ---------------------------------------------------------------------------------

TEST_CASE("arithmetic: values by hand, broadcasting, scalars on either side") {
  const Tensor a = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, kFloat64);
  const Tensor b = tensor({10.0, 20.0, 30.0}, kFloat64);
  CHECK(vals(a + b) == V{11, 22, 33, 14, 25, 36});
  CHECK((a + b).shape() == Shape{2, 3});
  CHECK(vals(b - a) == V{9, 18, 27, 6, 15, 24});
  CHECK(vals(a * b) == V{10, 40, 90, 40, 100, 180});
  CHECK(vals(b / a) == V{10, 10, 10, 2.5, 4, 5});
  CHECK(vals(add(a, b, -0.5)) == V{-4, -8, -12, -1, -5, -9});
  CHECK(vals(sub(a, b, 2.0)) == V{-19, -38, -57, -16, -35, -54});
  CHECK(vals(-a) == V{-1, -2, -3, -4, -5, -6});
  CHECK(vals(reciprocal(f64({2, -4, 0.5}))) == V{0.5, -0.25, 2});
  // (2, 1) with (1, 3) -> (2, 3)
  const Tensor col = tensor({{1.0}, {2.0}}, kFloat64), row = tensor({{10.0, 20.0, 30.0}}, kFloat64);
  CHECK(vals(col * row) == V{10, 20, 30, 20, 40, 60});
  // scalars on either side
  const Tensor x = f64({1, 2, 4});
  CHECK(vals(x + 1.5) == V{2.5, 3.5, 5.5});
  CHECK(vals(1.5 + x) == V{2.5, 3.5, 5.5});
  CHECK(vals(x - 1.0) == V{0, 1, 3});
  CHECK(vals(1.0 - x) == V{0, -1, -3});
  CHECK(vals(x * 3.0) == V{3, 6, 12});
  CHECK(vals(3.0 * x) == V{3, 6, 12});
  CHECK(vals(x / 4.0) == V{0.25, 0.5, 1});
  CHECK(vals(4.0 / x) == V{4, 2, 1});
  CHECK(vals(add(x, 2.0)) == V{3, 4, 6});
  CHECK(vals(mul(x, -1.0)) == V{-1, -2, -4});
  // division by a scalar divides (x / 3 rounds like C++, not like x * (1/3)); s / x likewise
  const V thirds = vals(f64({1, 2, 5, 7, 10}) / 3.0);
  const V expect{1.0 / 3.0, 2.0 / 3.0, 5.0 / 3.0, 7.0 / 3.0, 10.0 / 3.0};
  CHECK(thirds == expect);
  CHECK(vals(div(3.0, f64({7, 9, 11}))) == V{3.0 / 7.0, 3.0 / 9.0, 3.0 / 11.0});
  CHECK(vals(div(f64({7, 9, 11}), 3.0)) == V{7.0 / 3.0, 3.0, 11.0 / 3.0});
  // IEEE division by zero
  const V dz = vals(f64({1, -1, 0}) / f64({0, 0, 0}));
  CHECK(dz[0] == kInf);
  CHECK(dz[1] == -kInf);
  CHECK(std::isnan(dz[2]));
  // float32 stays float32 with scalars
  CHECK((tensor({1.0, 2.0}) * 2.5).dtype() == kFloat32);
  CHECK((2.5 / tensor({1.0, 2.0})).dtype() == kFloat32);
}

TEST_CASE("arithmetic: gradients by hand, reduced to each input's shape") {
  const Tensor a = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, kFloat64).requires_grad_();
  const Tensor b = tensor({10.0, 20.0, 30.0}, kFloat64).requires_grad_();
  sum(a * b).backward();
  CHECK(vals(a.grad()) == V{10, 20, 30, 10, 20, 30});
  CHECK(vals(b.grad()) == V{5, 7, 9});  // column sums of a
  CHECK(b.grad().shape() == Shape{3});
  const Tensor p = leaf64({2, 4}), q = leaf64({8, -2});
  sum(p / q).backward();
  CHECK(vals(p.grad()) == V{0.125, -0.5});
  CHECK(vals(q.grad()) == V{-2.0 / 64, -4.0 / 4});
  const Tensor s = leaf64({2, 4});
  sum(3.0 / s + s / 4.0 - 2.0 * s + (1.0 - s)).backward();  // -3/s² + 1/4 - 2 - 1
  CHECK(vals(s.grad()) == V{-0.75 + 0.25 - 3, -3.0 / 16 + 0.25 - 3});
}

TEST_CASE("pow in its three forms: values and edge values") {
  CHECK(vals(pow(f64({-2, 0, 3}), 2.0)) == V{4, 0, 9});
  CHECK(vals(pow(f64({-2, 0.5, 3}), 3.0)) == V{-8, 0.125, 27});
  CHECK(vals(pow(f64({4, 0.25}), -0.5)) == V{0.5, 2});
  CHECK(vals(pow(f64({0, 5}), 0.0)) == V{1, 1});  // 0^0 = 1
  CHECK(vals(pow(2.0, f64({-1, 0, 3}))) == V{0.5, 1, 8});
  CHECK(vals(pow(f64({2, 3}), f64({3, 2}))) == V{8, 9});
  CHECK(vals(pow(tensor({{2.0}, {3.0}}, kFloat64), f64({0, 1, 2}))) == V{1, 2, 4, 1, 3, 9});  // broadcast
  CHECK(vals(pow(f64({0, 0, 0}), f64({0, 2, -1}))) == V{1, 0, kInf});
  CHECK(vals(pow(0.0, f64({0, 2}))) == V{1, 0});
  CHECK(std::isnan(vals(pow(f64({-8}), 1.0 / 3))[0]));  // real pow of a negative base: NaN, like std::pow
  // float32: the same values in every SIMD lane and the tail
  const V xs = spread(0.0, 3.0);
  check_unary([](const Tensor& t) { return pow(t, 1.5); }, [](double x) { return std::pow(x, 1.5); }, xs, 1e-14, 4e-6);
  check_unary([](const Tensor& t) { return pow(1.7, t); }, [](double x) { return std::pow(1.7, x); }, xs, 1e-14, 4e-6);
}

TEST_CASE("pow gradients follow PyTorch at the edges (exponent 0, base 0)") {
  // tensor^scalar: p x^(p-1); exponent 0 gives 0 everywhere (also at x = 0)
  CHECK(grad_at([](const Tensor& t) { return pow(t, 3.0); }, {2, -1}) == V{12, 3});
  CHECK(grad_at([](const Tensor& t) { return pow(t, 0.0); }, {0, 2}) == V{0, 0});
  CHECK(grad_at([](const Tensor& t) { return pow(t, 0.5); }, {0, 4})[0] == kInf);  // like sqrt
  // scalar^tensor: s^x ln s; base 0: 0 for x >= 0, -inf for x < 0
  const V g = grad_at([](const Tensor& t) { return pow(2.0, t); }, {0, 3});
  CHECK(g[0] == doctest::Approx(std::log(2.0)));
  CHECK(g[1] == doctest::Approx(8 * std::log(2.0)));
  CHECK(grad_at([](const Tensor& t) { return pow(0.0, t); }, {0, 2, -1}) == V{0, 0, -kInf});
  // tensor^tensor: da = b a^(b-1) (0 where b = 0), db = a^b ln a (0 where a = 0 and b >= 0)
  const Tensor a = leaf64({0, 0, 0, 2}), b = leaf64({0, 2, 0.5, 3});
  sum(pow(a, b)).backward();
  CHECK(vals(a.grad()) == V{0, 0, kInf, 12});
  const V gb = vals(b.grad());
  CHECK(gb[0] == 0);
  CHECK(gb[1] == 0);
  CHECK(gb[2] == 0);
  CHECK(gb[3] == doctest::Approx(8 * std::log(2.0)));
  const Tensor a2 = leaf64({0}), b2 = leaf64({-1});
  sum(pow(a2, b2)).backward();
  CHECK(vals(b2.grad()) == V{-kInf});
  // double backward at a = 0, b = 0 stays finite for db: d/db [a^b ln a] with the safe log
  const Tensor a3 = leaf64({0, 1.5}), b3 = leaf64({1, 2});
  const TensorList g1 = autograd::grad({sum(pow(a3, b3))}, {b3}, {}, {.create_graph = true});
  const TensorList g2 = autograd::grad({sum(g1[0])}, {b3});
  CHECK(vals(g2[0])[0] == 0);
  CHECK(vals(g2[0])[1] == doctest::Approx(2.25 * std::log(1.5) * std::log(1.5)));
}

// ---- comparisons --------------------------------------------------------------------------------

TEST_CASE("comparisons: 0/1 masks in the input dtype, broadcasting, scalars on either side, no gradient") {
  const Tensor a = tensor({{1.0, 2.0, 3.0}, {3.0, 2.0, 1.0}}, kFloat64).requires_grad_();
  const Tensor b = tensor({2.0, 2.0, 2.0}, kFloat64).requires_grad_();
  CHECK(vals(eq(a, b)) == V{0, 1, 0, 0, 1, 0});
  CHECK(vals(ne(a, b)) == V{1, 0, 1, 1, 0, 1});
  CHECK(vals(lt(a, b)) == V{1, 0, 0, 0, 0, 1});
  CHECK(vals(le(a, b)) == V{1, 1, 0, 0, 1, 1});
  CHECK(vals(gt(a, b)) == V{0, 0, 1, 1, 0, 0});
  CHECK(vals(ge(a, b)) == V{0, 1, 1, 1, 1, 0});
  CHECK(vals(a == b) == V{0, 1, 0, 0, 1, 0});
  CHECK(vals(a != b) == V{1, 0, 1, 1, 0, 1});
  CHECK(vals(a < b) == V{1, 0, 0, 0, 0, 1});
  CHECK(vals(a <= b) == V{1, 1, 0, 0, 1, 1});
  CHECK(vals(a > b) == V{0, 0, 1, 1, 0, 0});
  CHECK(vals(a >= b) == V{0, 1, 1, 1, 1, 0});
  CHECK(eq(a, b).dtype() == kFloat64);
  CHECK(gt(tensor({1.0}), tensor({0.0})).dtype() == kFloat32);
  CHECK(eq(a, b).shape() == Shape{2, 3});
  // scalar on the right and on the left
  CHECK(vals(a > 2.0) == V{0, 0, 1, 1, 0, 0});
  CHECK(vals(2.0 < a) == V{0, 0, 1, 1, 0, 0});
  CHECK(vals(2.0 <= a) == V{0, 1, 1, 1, 1, 0});
  CHECK(vals(2.0 > a) == V{1, 0, 0, 0, 0, 1});
  CHECK(vals(2.0 >= a) == V{1, 1, 0, 0, 1, 1});
  CHECK(vals(a == 2.0) == V{0, 1, 0, 0, 1, 0});
  CHECK(vals(2.0 == a) == V{0, 1, 0, 0, 1, 0});
  CHECK(vals(a != 2.0) == V{1, 0, 1, 1, 0, 1});
  CHECK(vals(2.0 != a) == V{1, 0, 1, 1, 0, 1});
  CHECK(vals(le(a, 1.0)) == V{1, 0, 0, 0, 0, 1});
  CHECK(vals(ge(a, 3.0)) == V{0, 0, 1, 1, 0, 0});
  CHECK(vals(lt(a, 3.0)) == V{1, 1, 0, 0, 1, 1});
  // masks are constants, even of inputs that require grad
  for (const Tensor& m : {eq(a, b), lt(a, b), a > 2.0, 2.0 < a, a == b, ne(a, 1.0)}) {
    CHECK_FALSE(m.requires_grad());
    CHECK(m.is_leaf());
  }
  // NaN compares unequal to everything, itself included
  const Tensor n = f64({std::nan(""), 1});
  CHECK(vals(eq(n, n)) == V{0, 1});
  CHECK(vals(ne(n, n)) == V{1, 0});
  CHECK(vals(lt(n, 5.0)) == V{0, 1});
  CHECK(vals(ge(n, 5.0)) == V{0, 0});
}

// ---- element-wise math --------------------------------------------------------------------------

TEST_CASE("element-wise math: hand values") {
  CHECK(vals(exp(f64({0})))[0] == 1);
  CHECK(vals(exp(f64({1})))[0] == doctest::Approx(std::numbers::e).epsilon(1e-15));
  CHECK(vals(log(f64({1})))[0] == 0);
  CHECK(vals(log(f64({std::numbers::e})))[0] == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(vals(sqrt(f64({4, 0, 2.25}))) == V{2, 0, 1.5});
  CHECK(vals(rsqrt(f64({4, 0.25}))) == V{0.5, 2});
  CHECK(vals(square(f64({-3, 0.5}))) == V{9, 0.25});
  CHECK(vals(abs(f64({-3, 0, 2.5}))) == V{3, 0, 2.5});
  CHECK(vals(sign(f64({-3, 0, 2.5}))) == V{-1, 0, 1});
  CHECK(vals(sin(f64({0})))[0] == 0);
  CHECK(vals(sin(f64({std::numbers::pi / 2})))[0] == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(vals(cos(f64({0})))[0] == 1);
  CHECK(vals(tanh(f64({0})))[0] == 0);
  CHECK(vals(atan(f64({1})))[0] == doctest::Approx(std::numbers::pi / 4).epsilon(1e-15));
  CHECK(vals(sigmoid(f64({0})))[0] == 0.5);
  CHECK(vals(log1p(f64({1e-20})))[0] == doctest::Approx(1e-20).epsilon(1e-15));  // log(1 + x) would give 0
  CHECK(vals(expm1(f64({1e-20})))[0] == doctest::Approx(1e-20).epsilon(1e-15));  // e^x - 1 would give 0
  // edges: log 0, sqrt of a negative, rsqrt 0
  CHECK(vals(log(f64({0})))[0] == -kInf);
  CHECK(std::isnan(vals(sqrt(f64({-1})))[0]));
  CHECK(vals(rsqrt(f64({0})))[0] == kInf);
  // σ and tanh saturate without NaN at ±1e4 (e^1e4 overflows)
  CHECK(vals(sigmoid(f64({-1e4, 1e4}))) == V{0, 1});
  CHECK(vals(tanh(f64({-1e4, 1e4}))) == V{-1, 1});
  CHECK(vals(sigmoid(tensor({-1e4, 1e4}))) == V{0, 1});
}

TEST_CASE("element-wise math: the defining formulas, float64 and float32, SIMD lanes and tail") {
  const V wide = spread(-4.0, 4.0);
  const V pos = spread(0.05, 6.0);
  check_unary([](const Tensor& t) { return exp(t); }, [](double x) { return std::exp(x); }, wide);
  check_unary([](const Tensor& t) { return log(t); }, [](double x) { return std::log(x); }, pos);
  check_unary([](const Tensor& t) { return log1p(t); }, [](double x) { return std::log1p(x); }, spread(-0.9, 5.0));
  check_unary([](const Tensor& t) { return expm1(t); }, [](double x) { return std::expm1(x); }, wide);
  check_unary([](const Tensor& t) { return sqrt(t); }, [](double x) { return std::sqrt(x); }, pos);
  check_unary([](const Tensor& t) { return rsqrt(t); }, [](double x) { return 1.0 / std::sqrt(x); }, pos);
  check_unary([](const Tensor& t) { return square(t); }, [](double x) { return x * x; }, wide);
  check_unary([](const Tensor& t) { return abs(t); }, [](double x) { return std::fabs(x); }, wide);
  check_unary([](const Tensor& t) { return sign(t); }, [](double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }, wide);
  check_unary([](const Tensor& t) { return sin(t); }, [](double x) { return std::sin(x); }, wide, 1e-14, 2e-6);
  check_unary([](const Tensor& t) { return cos(t); }, [](double x) { return std::cos(x); }, wide, 1e-14, 2e-6);
  check_unary([](const Tensor& t) { return tanh(t); }, [](double x) { return std::tanh(x); }, wide);
  check_unary([](const Tensor& t) { return atan(t); }, [](double x) { return std::atan(x); }, wide);
  check_unary([](const Tensor& t) { return sigmoid(t); }, sigmoid_ref, spread(-12, 12));
  check_unary([](const Tensor& t) { return reciprocal(t); }, [](double x) { return 1.0 / x; }, pos);
  check_unary([](const Tensor& t) { return -t; }, [](double x) { return -x; }, wide);
}

TEST_CASE("element-wise math: identities") {
  const Tensor x = f64(spread(-3, 3));
  auto max_abs = [](const Tensor& t) { return max(abs(t)).item<double>(); };
  CHECK(max_abs(square(sin(x)) + square(cos(x)) - 1.0) < 1e-15);
  CHECK(max_abs(log(exp(x)) - x) < 1e-15);
  CHECK(max_abs(log1p(expm1(x)) - x) < 1e-15);
  CHECK(max_abs(tanh(x) - (sigmoid(x * 2.0) * 2.0 - 1.0)) < 1e-15);
  CHECK(max_abs(sigmoid(x) + sigmoid(-x) - 1.0) < 1e-15);
  CHECK(max_abs(abs(x) - x * sign(x)) == 0);
  CHECK(max_abs(relu(x) - relu(-x) - x) == 0);
  CHECK(max_abs(silu(x) - x * sigmoid(x)) < 1e-15);
  CHECK(max_abs(softplus(x) - softplus(-x) - x) < 1e-14);  // ln(1+e^x) - ln(1+e^-x) = x
  CHECK(max_abs(gelu(x) - gelu(-x) - x) < 1e-15);          // x Φ(x) - (-x) Φ(-x) = x (Φ(x) + Φ(-x) = 1)
  const Tensor p = f64(spread(0.1, 5));
  CHECK(max_abs(atan(p) + atan(reciprocal(p)) - std::numbers::pi / 2) < 1e-15);  // arctan x + arctan 1/x = π/2
  CHECK(max_abs(rsqrt(p) * sqrt(p) - 1.0) < 1e-15);
}

// ---- activations --------------------------------------------------------------------------------

TEST_CASE("activations: hand values") {
  CHECK(vals(relu(f64({-2, 0, 3}))) == V{0, 0, 3});
  CHECK(vals(leaky_relu(f64({-2, 0, 3}))) == V{-0.02, 0, 3});
  CHECK(vals(leaky_relu(f64({-2, 3}), 0.2)) == V{-0.4, 3});
  CHECK(vals(elu(f64({0, 2})))[1] == 2);
  CHECK(vals(elu(f64({-1}), 2.0))[0] == doctest::Approx(2 * (std::exp(-1.0) - 1)).epsilon(1e-15));
  CHECK(vals(selu(f64({1})))[0] == doctest::Approx(kSeluScale).epsilon(1e-15));
  CHECK(vals(selu(f64({-1})))[0] == doctest::Approx(-1.1113307378125625).epsilon(1e-14));
  CHECK(vals(softplus(f64({0})))[0] == doctest::Approx(std::log(2.0)).epsilon(1e-15));
  CHECK(vals(softplus(f64({0}), 2.0))[0] == doctest::Approx(std::log(2.0) / 2).epsilon(1e-15));
  CHECK(vals(gelu(f64({0, 1})))[1] == doctest::Approx(0.8413447460685429).epsilon(1e-15));  // Φ(1)
  CHECK(vals(gelu(f64({-1})))[0] == doctest::Approx(-0.15865525393145707).epsilon(1e-14));  // -Φ(-1)
  CHECK(vals(gelu(f64({1}), GeluApproximation::tanh))[0] == doctest::Approx(0.8411919906082768).epsilon(1e-14));
  CHECK(vals(silu(f64({1})))[0] == doctest::Approx(0.7310585786300049).epsilon(1e-15));
  CHECK(vals(heaviside(f64({-2, 0, 3}))) == V{0, 0, 1});
  CHECK(vals(heaviside(f64({-2, 0, 3}), 0.5)) == V{0, 0.5, 1});
  CHECK(vals(step(f64({-1e-300, 0, 1e-300}))) == V{0, 0, 1});
  CHECK(vals(clamp(f64({-3, -1, 0, 1, 3}), -1, 2)) == V{-1, -1, 0, 1, 2});
  CHECK(vals(clamp_min(f64({-3, 5}), 0)) == V{0, 5});
  CHECK(vals(clamp_max(f64({-3, 5}), 0)) == V{-3, 0});
  CHECK(vals(maximum(f64({1, 5, 3}), f64({4, 2, 3}))) == V{4, 5, 3});
  CHECK(vals(minimum(f64({1, 5, 3}), f64({4, 2, 3}))) == V{1, 2, 3});
  CHECK(vals(maximum(tensor({{0.0}, {10.0}}, kFloat64), f64({1, 5, 20}))) == V{1, 5, 20, 10, 10, 20});  // broadcast
  CHECK(vals(where(f64({1, 0, -2}), f64({1, 2, 3}), f64({7, 8, 9}))) == V{1, 8, 3});                    // nonzero = true
  CHECK(vals(where(tensor({{1.0}, {0.0}}, kFloat64), f64({1, 2}), scalar_tensor(0, kFloat64))) == V{1, 2, 0, 0});
}

TEST_CASE("activations: the defining formulas, float64 and float32, SIMD lanes and tail") {
  const V xs = spread(-5.0, 5.0);
  check_unary([](const Tensor& t) { return relu(t); }, [](double x) { return x > 0 ? x : 0.0; }, xs);
  check_unary([](const Tensor& t) { return leaky_relu(t, 0.15); }, [](double x) { return x > 0 ? x : 0.15 * x; }, xs);
  check_unary([](const Tensor& t) { return elu(t, 1.3); }, [](double x) { return x > 0 ? x : 1.3 * std::expm1(x); }, xs, 1e-13,
              4e-6);
  check_unary([](const Tensor& t) { return selu(t); },
              [](double x) { return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x)); }, xs, 1e-13, 4e-6);
  // softplus: (1/β) ln(1 + e^(βx)), and x itself where βx > threshold
  check_unary([](const Tensor& t) { return softplus(t); }, [](double x) { return std::log1p(std::exp(x)); }, xs);
  check_unary([](const Tensor& t) { return softplus(t, 2.0, 3.0); },
              [](double x) { return 2 * x > 3 ? x : std::log1p(std::exp(2 * x)) / 2; }, xs);
  // xsimd's vectorized erfc is accurate to ~3e-12 (relative) for arguments in [2, 6], i.e. gelu(x) for x in
  // [-8, -3] (measured; <cmath> erfc in the scalar tail is exact to an ulp): 5e-12 for gelu
  check_unary([](const Tensor& t) { return gelu(t); }, gelu_ref, xs, 5e-12, 4e-6);
  check_unary([](const Tensor& t) { return gelu(t, GeluApproximation::tanh); }, gelu_tanh_ref, xs, 1e-14, 4e-6);
  check_unary([](const Tensor& t) { return gelu(t, GeluApproximation::none); }, gelu_ref, xs, 5e-12, 4e-6);
  check_unary([](const Tensor& t) { return silu(t); }, [](double x) { return x * sigmoid_ref(x); }, xs);
  check_unary([](const Tensor& t) { return heaviside(t, 0.25); }, [](double x) { return x > 0    ? 1.0
                                                                                        : x == 0 ? 0.25
                                                                                                 : 0.0; },
              spread(-2, 2, 41));
  check_unary([](const Tensor& t) { return clamp(t, -1.5, 2.0); }, [](double x) { return std::min(std::max(x, -1.5), 2.0); }, xs);
  // the negative tail keeps its digits: gelu(-8) = -8Φ(-8) = -4.9e-15 (the erf form would give 0 or noise)
  // (16 elements: SIMD lanes, not only the scalar tail)
  for (double v : vals(gelu(full({16}, -8.0, kFloat64)))) CHECK(v == doctest::Approx(-8 * 6.220960574271819e-16).epsilon(1e-12));
  // the tanh approximation stays within 5e-4 of the exact gelu
  const Tensor x = f64(spread(-6, 6, 101));
  CHECK(max(abs(gelu(x, GeluApproximation::tanh) - gelu(x))).item<double>() < 5e-4);
  // softplus far above and below: exact, no overflow
  CHECK(vals(softplus(f64({1e4, -1e4}))) == V{1e4, 0});
  CHECK(vals(softplus(tensor({100.0}), 1.0, 1e9))[0] == kInf);  // a threshold that never triggers: e^100 overflows float32
}

TEST_CASE("activations: first derivatives by hand") {
  const V xs{-2, -0.5, 0.5, 2};
  CHECK(grad_at([](const Tensor& t) { return relu(t); }, xs) == V{0, 0, 1, 1});
  CHECK(grad_at([](const Tensor& t) { return leaky_relu(t, 0.1); }, xs) == V{0.1, 0.1, 1, 1});
  const V ge = grad_at([](const Tensor& t) { return elu(t, 1.5); }, xs);
  CHECK(ge[0] == doctest::Approx(1.5 * std::exp(-2.0)).epsilon(1e-15));
  CHECK(ge[3] == 1);
  const V gs = grad_at([](const Tensor& t) { return selu(t); }, xs);
  CHECK(gs[1] == doctest::Approx(kSeluScale * kSeluAlpha * std::exp(-0.5)).epsilon(1e-14));
  CHECK(gs[2] == doctest::Approx(kSeluScale).epsilon(1e-15));
  const V gsp = grad_at([](const Tensor& t) { return softplus(t, 2.0); }, xs);  // σ(βx)
  for (std::size_t i = 0; i < xs.size(); ++i) CHECK(gsp[i] == doctest::Approx(sigmoid_ref(2 * xs[i])).epsilon(1e-15));
  const V gg = grad_at([](const Tensor& t) { return gelu(t); }, xs);  // Φ(x) + x φ(x)
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i];
    CHECK(gg[i] ==
          doctest::Approx(0.5 * std::erfc(-x / std::numbers::sqrt2) + x * std::exp(-x * x / 2) / std::sqrt(2 * std::numbers::pi))
              .epsilon(1e-14));
  }
  const V gt = grad_at([](const Tensor& t) { return gelu(t, GeluApproximation::tanh); }, xs);
  for (std::size_t i = 0; i < xs.size(); ++i) {  // against a central difference of the reference formula
    const double x = xs[i], h = 1e-5;
    CHECK(gt[i] == doctest::Approx((gelu_tanh_ref(x + h) - gelu_tanh_ref(x - h)) / (2 * h)).epsilon(1e-9));
  }
  const V gsi = grad_at([](const Tensor& t) { return silu(t); }, xs);  // σ(x)(1 + x(1 - σ(x)))
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double s = sigmoid_ref(xs[i]);
    CHECK(gsi[i] == doctest::Approx(s * (1 + xs[i] * (1 - s))).epsilon(1e-15));
  }
  const V gat = grad_at([](const Tensor& t) { return atan(t); }, xs);
  for (std::size_t i = 0; i < xs.size(); ++i) CHECK(gat[i] == doctest::Approx(1 / (1 + xs[i] * xs[i])).epsilon(1e-15));
  CHECK(grad_at([](const Tensor& t) { return heaviside(t); }, xs) == V{0, 0, 0, 0});
  CHECK(grad_at([](const Tensor& t) { return sign(t); }, xs) == V{0, 0, 0, 0});
}

TEST_CASE("gradients at kinks and edges follow PyTorch's derivatives.yaml") {
  // abs: sgn(x) -> 0 at 0; sign, heaviside/step: 0; relu: 0 at 0 (threshold_backward on x > 0)
  CHECK(grad_at([](const Tensor& t) { return abs(t); }, {-1, 0, 1}) == V{-1, 0, 1});
  CHECK(grad_at([](const Tensor& t) { return sign(t); }, {0}) == V{0});
  CHECK(grad_at([](const Tensor& t) { return step(t); }, {0}) == V{0});
  CHECK(grad_at([](const Tensor& t) { return relu(t); }, {0}) == V{0});
  // leaky_relu: negative slope at 0 (x > 0 ? g : g·slope); elu/selu: the x <= 0 branch at 0
  CHECK(grad_at([](const Tensor& t) { return leaky_relu(t, 0.3); }, {0}) == V{0.3});
  CHECK(grad_at([](const Tensor& t) { return elu(t, 0.7); }, {0}) == V{0.7});
  CHECK(grad_at([](const Tensor& t) { return selu(t); }, {0})[0] == doctest::Approx(kSeluScale * kSeluAlpha).epsilon(1e-15));
  // clamp: the gradient passes at the bounds (min <= x <= max), 0 outside
  CHECK(grad_at([](const Tensor& t) { return clamp(t, -1, 2); }, {-1.5, -1, 0, 2, 2.5}) == V{0, 1, 1, 1, 0});
  CHECK(grad_at([](const Tensor& t) { return clamp_min(t, 0); }, {-1, 0, 1}) == V{0, 1, 1});
  CHECK(grad_at([](const Tensor& t) { return clamp_max(t, 0); }, {-1, 0, 1}) == V{1, 1, 0});
  CHECK(grad_at([](const Tensor& t) { return clamp(t, 1, 1); }, {0, 1, 2}) == V{0, 1, 0});
  // maximum/minimum: ties split the gradient in half
  const Tensor a = leaf64({1, 2, 3}), b = leaf64({3, 2, 1});
  sum(maximum(a, b) * f64({1, 10, 100})).backward();
  CHECK(vals(a.grad()) == V{0, 5, 100});
  CHECK(vals(b.grad()) == V{1, 5, 0});
  const Tensor c = leaf64({1, 2}), d = leaf64({2, 2});
  sum(minimum(c, d)).backward();
  CHECK(vals(c.grad()) == V{1, 0.5});
  CHECK(vals(d.grad()) == V{0, 0.5});
  // softplus: exactly 1 above the threshold (the forward is x there), σ(βx) below
  const V gsp = grad_at([](const Tensor& t) { return softplus(t, 1.0, 2.0); }, {1.9, 2.1});
  CHECK(gsp[0] == doctest::Approx(sigmoid_ref(1.9)).epsilon(1e-15));
  CHECK(gsp[1] == 1);
  // sqrt and rsqrt at 0: infinite, like PyTorch's grad / (2 result)
  CHECK(grad_at([](const Tensor& t) { return sqrt(t); }, {0}) == V{kInf});
  CHECK(grad_at([](const Tensor& t) { return rsqrt(t); }, {0})[0] == -kInf);
  // where: each branch gets the masked gradient; the condition gets none
  const Tensor cond = leaf64({1, 0, 1});
  const Tensor x = leaf64({1, 2, 3}), y = leaf64({4, 5, 6});
  sum(where(cond, x, y) * f64({1, 10, 100})).backward();
  CHECK(vals(x.grad()) == V{1, 0, 100});
  CHECK(vals(y.grad()) == V{0, 10, 0});
  CHECK_FALSE(cond.grad().defined());
}

TEST_CASE("NaN propagates through activations, clamp, maximum and minimum (like PyTorch)") {
  const double nan = std::nan("");
  // long enough for SIMD lanes and the scalar tail: NaN in lane 0, in the middle and in the tail
  V xs = spread(-3, 3);
  for (std::size_t i : {std::size_t{0}, std::size_t{9}, xs.size() - 1}) xs[i] = nan;
  for (Dtype dt : {kFloat64, kFloat32}) {
    const Tensor x = from_vector(xs, {static_cast<std::int64_t>(xs.size())}, dt);
    const Tensor other = zeros_like(x);
    const std::vector<std::pair<std::string, Tensor>> outs{{"relu", relu(x)},
                                                           {"leaky_relu", leaky_relu(x)},
                                                           {"elu", elu(x)},
                                                           {"selu", selu(x)},
                                                           {"softplus", softplus(x)},
                                                           {"gelu", gelu(x)},
                                                           {"silu", silu(x)},
                                                           {"sigmoid", sigmoid(x)},
                                                           {"tanh", tanh(x)},
                                                           {"abs", abs(x)},
                                                           {"clamp", clamp(x, -1, 1)},
                                                           {"maximum", maximum(x, other)},
                                                           {"maximum (NaN second)", maximum(other, x)},
                                                           {"minimum", minimum(x, other)},
                                                           {"minimum (NaN second)", minimum(other, x)}};
    for (const auto& [name, out] : outs) {
      const V v = vals(out);
      for (std::size_t i = 0; i < xs.size(); ++i) {
        INFO(name << " at " << i << " (" << dtype_name(dt) << ")");
        CHECK(std::isnan(v[i]) == std::isnan(xs[i]));
      }
    }
  }
}

// ---- errors -------------------------------------------------------------------------------------

TEST_CASE("element-wise errors name the op, the offending dtype or value, and the caller's line") {
  const std::string here = "test_elementwise_values.cpp:";
  const Tensor i = tensor_int({1, 2});
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> unary{
      {"exp", [](const Tensor& t) { return exp(t); }},
      {"log", [](const Tensor& t) { return log(t); }},
      {"log1p", [](const Tensor& t) { return log1p(t); }},
      {"expm1", [](const Tensor& t) { return expm1(t); }},
      {"sqrt", [](const Tensor& t) { return sqrt(t); }},
      {"rsqrt", [](const Tensor& t) { return rsqrt(t); }},
      {"square", [](const Tensor& t) { return square(t); }},
      {"abs", [](const Tensor& t) { return abs(t); }},
      {"sign", [](const Tensor& t) { return sign(t); }},
      {"sin", [](const Tensor& t) { return sin(t); }},
      {"cos", [](const Tensor& t) { return cos(t); }},
      {"tanh", [](const Tensor& t) { return tanh(t); }},
      {"atan", [](const Tensor& t) { return atan(t); }},
      {"sigmoid", [](const Tensor& t) { return sigmoid(t); }},
      {"relu", [](const Tensor& t) { return relu(t); }},
      {"leaky_relu", [](const Tensor& t) { return leaky_relu(t); }},
      {"elu", [](const Tensor& t) { return elu(t); }},
      {"selu", [](const Tensor& t) { return selu(t); }},
      {"softplus", [](const Tensor& t) { return softplus(t); }},
      {"gelu", [](const Tensor& t) { return gelu(t); }},
      {"gelu", [](const Tensor& t) { return gelu(t, GeluApproximation::tanh); }},
      {"silu", [](const Tensor& t) { return silu(t); }},
      {"heaviside", [](const Tensor& t) { return heaviside(t); }},
      {"clamp", [](const Tensor& t) { return clamp(t, 0, 1); }},
      {"reciprocal", [](const Tensor& t) { return reciprocal(t); }},
      {"pow", [](const Tensor& t) { return pow(t, 2.0); }},
      {"pow", [](const Tensor& t) { return pow(2.0, t); }},
      {"div", [](const Tensor& t) { return div(t, 2.0); }},
      {"div", [](const Tensor& t) { return div(2.0, t); }},
      {"mul", [](const Tensor& t) { return mul(t, 2.0); }},
      {"add", [](const Tensor& t) { return add(t, 2.0); }}};
  for (const auto& [name, f] : unary) {
    INFO("op " << name);
    check_throws_with<DtypeError>([&] { f(i); }, {name, "int64"});
    check_throws_with<ValueError>([&] { f(Tensor()); }, {name, "undefined"});
  }
  // the caller's line, through a direct call
  check_throws_with<DtypeError>([&] { gelu(i, GeluApproximation::tanh); }, {"gelu", "int64", here});
  check_throws_with<DtypeError>([&] { i / 2.0; }, {"div", "int64", here});
  check_throws_with<DtypeError>([&] { 2.0 - i; }, {"neg", "int64", here});
  // bad parameters
  const Tensor x = f64({1, 2});
  check_throws_with<ValueError>([&] { softplus(x, 0.0); }, {"softplus", "beta", "0", here});
  check_throws_with<ValueError>([&] { softplus(x, -2.0); }, {"softplus", "beta", "-2", here});
  check_throws_with<ValueError>([&] { clamp(x, 2.0, 1.0); }, {"clamp", "min 2", "max 1", here});
  check_throws_with<ShapeError>(
      [&] {
        prelu(f64({1, 2}).reshape({1, 2}), f64({0.1, 0.2, 0.3}));
      },
      {"prelu", "(3,)", "(1, 2)", here});
  // mixed dtypes in binary ops and comparisons name both
  const Tensor y = tensor({1.0, 2.0});
  check_throws_with<DtypeError>([&] { maximum(x, y); }, {"maximum", "float64", "float32", here});
  check_throws_with<DtypeError>([&] { pow(x, y); }, {"pow", "float64", "float32", here});
  check_throws_with<DtypeError>([&] { x == y; }, {"eq", "float64", "float32", here});
  check_throws_with<DtypeError>([&] { where(x, x, y); }, {"where", "float64", "float32", here});
  // shapes that do not broadcast name both
  check_throws_with<ShapeError>([&] { f64({1, 2, 3}) != x; }, {"ne", "(3,)", "(2,)", here});
  check_throws_with<ShapeError>([&] { minimum(f64({1, 2, 3}), x); }, {"minimum", "(3,)", "(2,)", here});
}
