// Forward values (hand-computed), ties, int64 outputs, views, and every error message of the shape,
// indexing and reduction ops.
#include <cmath>
#include <limits>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {
using V = std::vector<double>;
using I = std::vector<std::int64_t>;

V vals(const Tensor& t) { return t.to_vector<double>(); }
I ints(const Tensor& t) {
  REQUIRE(t.dtype() == kInt64);
  return t.to_vector<std::int64_t>();
}
Tensor f64(const NestedList& v) { return tensor(v, kFloat64); }
Tensor leaf64(const NestedList& v) { return tensor(v, kFloat64).requires_grad_(); }
// d(sum(f(x)))/dx
V grad_of_sum(const Tensor& x, const Tensor& y) {
  sum(y).backward();
  return vals(x.grad());
}
void check_close(const V& got, const V& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (tol == 0) CHECK(got[i] == want[i]);
    else CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
  }
}
}  // namespace

// ---- shape and indexing: values ------------------------------------------------------------------

TEST_CASE("cat: values along dims 0 and -1, non-contiguous inputs, int64") {
  const Tensor a = f64({{1, 2}, {3, 4}});
  CHECK(vals(cat({a, f64({{5, 6}})}, 0)) == V{1, 2, 3, 4, 5, 6});
  const Tensor c = cat({a, f64({{7}, {8}})}, -1);
  CHECK(c.shape() == Shape{2, 3});
  CHECK(vals(c) == V{1, 2, 7, 3, 4, 8});
  // a.t() = [[1, 3], [2, 4]] is a non-contiguous view
  CHECK(vals(cat({a.t(), a}, 1)) == V{1, 3, 1, 2, 2, 4, 3, 4});
  CHECK(vals(cat({a.t()}, 0)) == V{1, 3, 2, 4});
  const Tensor ci = cat({tensor_int({1, 2}), tensor_int({3})});
  CHECK(ints(ci) == I{1, 2, 3});
  // an empty piece is allowed
  CHECK(vals(cat({a, zeros({0, 2}, kFloat64)}, 0)) == V{1, 2, 3, 4});
}

TEST_CASE("cat and stack: gradients are the slabs of g") {
  const Tensor a = leaf64({{1, 2}, {3, 4}}), b = leaf64({{5, 6}});
  const Tensor w = f64({{1, 2}, {3, 4}, {5, 6}});
  sum(cat({a, b}, 0) * w).backward();
  CHECK(vals(a.grad()) == V{1, 2, 3, 4});
  CHECK(vals(b.grad()) == V{5, 6});
  const Tensor p = leaf64({1, 2}), q = leaf64({3, 4});
  const Tensor s = stack({p, q}, 1);  // [[1, 3], [2, 4]]
  CHECK(s.shape() == Shape{2, 2});
  CHECK(vals(s) == V{1, 3, 2, 4});
  sum(s * f64({{10, 20}, {30, 40}})).backward();
  CHECK(vals(p.grad()) == V{10, 30});
  CHECK(vals(q.grad()) == V{20, 40});
}

TEST_CASE("stack: dims 0, -1 and 0-d inputs") {
  const Tensor a = f64({1, 2}), b = f64({3, 4});
  CHECK(vals(stack({a, b})) == V{1, 2, 3, 4});
  CHECK(stack({a, b}, -1).shape() == Shape{2, 2});
  CHECK(vals(stack({a, b}, -1)) == V{1, 3, 2, 4});
  const Tensor s = stack({scalar_tensor(1.5, kFloat64), scalar_tensor(2.5, kFloat64)});
  CHECK(s.shape() == Shape{2});
  CHECK(vals(s) == V{1.5, 2.5});
}

TEST_CASE("split and chunk: sizes, views, empty pieces, unused pieces get zero gradient") {
  const Tensor x = arange(7, kFloat64);
  const TensorList p = split(x, 3);
  REQUIRE(p.size() == 3);
  CHECK(vals(p[0]) == V{0, 1, 2});
  CHECK(vals(p[1]) == V{3, 4, 5});
  CHECK(vals(p[2]) == V{6});
  CHECK(p[1].data<double>() == x.data<double>() + 3);  // a view, no copy
  const TensorList q = split(x, {2, 0, 5});
  CHECK(q[1].shape() == Shape{0});
  CHECK(vals(q[2]) == V{2, 3, 4, 5, 6});
  const TensorList c = chunk(x, 3);
  REQUIRE(c.size() == 3);
  CHECK(c[2].shape() == Shape{1});
  CHECK(chunk(arange(6, kFloat64), 4).size() == 3);  // pieces of ceil(6/4) = 2, like PyTorch
  const TensorList e = chunk(zeros({0, 2}), 3);
  CHECK(e.size() == 3);
  CHECK(e[0].shape() == Shape{0, 2});

  const Tensor m = leaf64({{1, 2, 3, 4}, {5, 6, 7, 8}});
  const TensorList parts = split(m, {1, 0, 3}, -1);
  CHECK(parts[1].shape() == Shape{2, 0});
  sum(parts[2] * 2.0).backward();
  CHECK(vals(m.grad()) == V{0, 2, 2, 2, 0, 2, 2, 2});
}

TEST_CASE("narrow and slice are views with the right offsets and strides") {
  const Tensor x = arange(10, kFloat64);
  const Tensor n = narrow(x, 0, -4, 3);
  CHECK(vals(n) == V{6, 7, 8});
  CHECK(n.data<double>() == x.data<double>() + 6);
  CHECK(vals(slice(x, 0, 1, 8, 3)) == V{1, 4, 7});
  CHECK(slice(x, 0, 1, 8, 3).strides() == Strides{3});
  CHECK(vals(slice(x, 0, -3, 100)) == V{7, 8, 9});
  CHECK(vals(slice(x, 0, -100, 2)) == V{0, 1});
  CHECK(slice(x, 0, 5, 2).numel() == 0);
  const Tensor m = f64({{1, 2, 3}, {4, 5, 6}});
  CHECK(vals(slice(m, 1, 0, 3, 2)) == V{1, 3, 4, 6});
  CHECK(vals(narrow(m.t(), 0, 1, 2)) == V{2, 5, 3, 6});

  const Tensor g = leaf64({1, 2, 3, 4, 5});
  sum(slice(g, 0, 0, 5, 2) * 3.0).backward();
  CHECK(vals(g.grad()) == V{3, 0, 3, 0, 3});
}

TEST_CASE("index_select: values, repeated indices accumulate in the gradient, int64 input") {
  const Tensor x = leaf64({{1, 2}, {3, 4}, {5, 6}});
  const Tensor y = index_select(x, 0, tensor_int({2, 0, 2}));
  CHECK(vals(y) == V{5, 6, 1, 2, 5, 6});
  CHECK(vals(index_select(x, -1, tensor_int({1}))) == V{2, 4, 6});
  CHECK(grad_of_sum(x, y) == V{1, 1, 0, 0, 2, 2});
  CHECK(ints(index_select(from_vector(I{7, 8, 9}, {3}), 0, tensor_int({1, 1}))) == I{8, 8});
  CHECK(vals(index_select(x.t(), 1, tensor_int({0, 2}))) == V{1, 5, 2, 6});
}

TEST_CASE("gather and scatter_add: values and gradients") {
  const Tensor x = leaf64({{1, 2, 3}, {4, 5, 6}});
  const Tensor idx = from_vector(I{2, 0, 1, 1}, {2, 2});
  const Tensor y = gather(x, 1, idx);
  CHECK(vals(y) == V{3, 1, 5, 5});
  CHECK(grad_of_sum(x, y) == V{1, 0, 1, 0, 2, 0});
  CHECK(vals(gather(f64({{1, 2, 3}, {4, 5, 6}}), 0, from_vector(I{1, 0, 1}, {1, 3}))) == V{4, 2, 6});

  // row 0: 1 and 3 go to column 2, 2 to column 0; row 1: 4 and 5 to column 1, 6 to column 0
  const Tensor base = leaf64({{0, 0, 0}, {0, 0, 0}});
  const Tensor src = leaf64({{1, 2, 3}, {4, 5, 6}});
  const Tensor s = scatter_add(base, 1, from_vector(I{2, 0, 2, 1, 1, 0}, {2, 3}), src);
  CHECK(vals(s) == V{2, 0, 4, 6, 9, 0});
  sum(s * f64({{1, 2, 3}, {4, 5, 6}})).backward();
  CHECK(vals(base.grad()) == V{1, 2, 3, 4, 5, 6});
  CHECK(vals(src.grad()) == V{3, 1, 3, 5, 5, 4});
  // src larger than index: its extra elements are unused and get zero gradient
  const Tensor big = leaf64({{1, 2}, {3, 4}});
  const Tensor t = scatter_add(zeros({2, 2}, kFloat64), 0, from_vector(I{1}, {1, 1}), big);
  CHECK(vals(t) == V{0, 0, 1, 0});
  CHECK(grad_of_sum(big, t) == V{1, 0, 0, 0});
}

TEST_CASE("one_hot: values, shape, dtype") {
  const Tensor o = one_hot(tensor_int({1, 0, 2}), 3);
  CHECK(o.dtype() == kFloat32);
  CHECK(o.shape() == Shape{3, 3});
  CHECK(vals(o) == V{0, 1, 0, 1, 0, 0, 0, 0, 1});
  const Tensor o2 = one_hot(from_vector(I{3, 0}, {2, 1}), 4, kFloat64);
  CHECK(o2.shape() == Shape{2, 1, 4});
  CHECK(vals(o2) == V{0, 0, 0, 1, 1, 0, 0, 0});
  CHECK(ints(one_hot(tensor_int({1}), 2, kInt64)) == I{0, 1});
}

// ---- reductions: values ---------------------------------------------------------------------------

TEST_CASE("var and std: hand-computed values, dims, keepdim, stability") {
  const Tensor x = f64({1, 2, 3, 4});
  CHECK(var(x).item<double>() == doctest::Approx(5.0 / 3.0));
  CHECK(var(x, {}, false).item<double>() == doctest::Approx(1.25));
  CHECK(xgrad::std(x).item<double>() == doctest::Approx(std::sqrt(5.0 / 3.0)));
  CHECK(xgrad::std(x, {0}, false).item<double>() == doctest::Approx(std::sqrt(1.25)));
  const Tensor m = f64({{1, 2, 3}, {4, 6, 8}});
  check_close(vals(var(m, {1})), {1, 4});
  const Tensor v0 = var(m, {0}, true, true);
  CHECK(v0.shape() == Shape{1, 3});
  check_close(vals(v0), {4.5, 8, 12.5});
  check_close(vals(var(m.t(), {-2})), {1, 4});  // non-contiguous, negative dim
  check_close(vals(var(m, {-1, 0})), {(1 + 4 + 9 + 16 + 36 + 64 - 6 * 4.0 * 4.0) / 5.0});
  // two-pass stability: a naive Σx²/n - mean² loses every digit here
  check_close(vals(var(f64({1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4}))), {5.0 / 3.0}, 1e-9);
  CHECK(var(tensor({1e4 + 1, 1e4 + 2, 1e4 + 3, 1e4 + 4})).item<double>() == doctest::Approx(5.0 / 3.0).epsilon(1e-4));
  CHECK(std::isnan(var(f64({2.0})).item<double>()));  // n - 1 = 0
  CHECK(var(f64({2.0}), {}, false).item<double>() == 0.0);
  // var gradient: 2(x - mean)/(n - 1)
  const Tensor l = leaf64({1, 2, 3, 4});
  check_close(grad_of_sum(l, var(l)), {-1.0, -1.0 / 3, 1.0 / 3, 1.0});
  // std of a constant: value 0, gradient 0 (not NaN)
  const Tensor c = leaf64({2, 2, 2});
  CHECK(xgrad::std(c).item<double>() == 0.0);
  CHECK(grad_of_sum(c, xgrad::std(c)) == V{0, 0, 0});
}

TEST_CASE("prod: values and gradients with zeros") {
  CHECK(prod(f64({1, 2, 3, 4})).item<double>() == 24.0);
  CHECK(vals(prod(f64({{1, 2}, {3, 4}}), {-1}, true)) == V{2, 12});
  CHECK(prod(zeros({0})).item<double>() == 1.0);
  CHECK(ints(prod(from_vector(I{2, 3, 4}, {3}))) == I{24});
  const Tensor a = leaf64({2, 3, 4});
  CHECK(grad_of_sum(a, prod(a)) == V{12, 8, 6});
  const Tensor b = leaf64({2, 0, 3});
  CHECK(grad_of_sum(b, prod(b)) == V{0, 6, 0});
  const Tensor c = leaf64({0, 5, 0});
  CHECK(grad_of_sum(c, prod(c)) == V{0, 0, 0});
  const Tensor d = leaf64({{0, 2}, {3, 4}, {5, 0}});
  CHECK(grad_of_sum(d, prod(d, {0})) == V{15, 0, 0, 0, 0, 8});
  // second derivative at a zero: d²(x0 x1 x2)/dx0 dx2 = x1 (the division-free path keeps it)
  const Tensor e = leaf64({0, 7, 2});
  const Tensor g = autograd::grad({prod(e)}, {e}, {}, {.create_graph = true})[0];
  CHECK(vals(g) == V{14, 0, 0});
  const Tensor h = autograd::grad({narrow(g, 0, 2, 1).sum()}, {e})[0];  // d(x0 x1)/dx = (x1, x0, 0)
  CHECK(vals(h) == V{7, 0, 0});
  // the product underflows (or overflows) while the products of the others do not
  const Tensor u = leaf64({1e-320, 1e-10});
  CHECK(prod(u).item<double>() == 0.0);
  CHECK(grad_of_sum(u, prod(u)) == V{1e-10, 1e-320});
  const Tensor w = leaf64({1e300, 1e300, 1e-300});
  CHECK(std::isinf(prod(w).item<double>()));
  const V gw = grad_of_sum(w, prod(w));
  CHECK(gw[0] == doctest::Approx(1.0));
  CHECK(gw[1] == doctest::Approx(1.0));
  CHECK(std::isinf(gw[2]));
}

TEST_CASE("logsumexp: stable for large and -inf values") {
  check_close(vals(logsumexp(f64({1000, 1000}))), {1000 + std::log(2.0)});
  check_close(vals(logsumexp(f64({0, std::log(3.0)}))), {std::log(4.0)});
  check_close(vals(logsumexp(f64({{0, 0}, {1, 1}}), {0})), {std::log(1 + std::exp(1.0)), std::log(1 + std::exp(1.0))});
  const double ninf = -std::numeric_limits<double>::infinity();
  CHECK(logsumexp(f64({ninf, ninf})).item<double>() == ninf);
  CHECK(logsumexp(zeros({0}, kFloat64)).item<double>() == ninf);
  check_close(vals(logsumexp(f64({ninf, 0}))), {0});
  const Tensor x = leaf64({0, std::log(3.0)});
  check_close(grad_of_sum(x, logsumexp(x)), {0.25, 0.75});
}

TEST_CASE("norm: p = 1, 2, inf, the zero vector and ties") {
  CHECK(norm(f64({3, -4})).item<double>() == 5.0);
  CHECK(norm(f64({3, -4}), 1.0).item<double>() == 7.0);
  CHECK(norm(f64({3, -4}), HUGE_VAL).item<double>() == 4.0);
  check_close(vals(norm(f64({{3, 4}, {6, 8}}), 2.0, {-1}, true)), {5, 10});
  const Tensor x = leaf64({3, -4});
  check_close(grad_of_sum(x, norm(x)), {0.6, -0.8});
  const Tensor z = leaf64({0, 0, 0});
  CHECK(grad_of_sum(z, norm(z)) == V{0, 0, 0});  // subgradient 0, like PyTorch
  const Tensor t = leaf64({-4, 4, 1});
  CHECK(grad_of_sum(t, norm(t, HUGE_VAL)) == V{-0.5, 0.5, 0});
  const Tensor o = leaf64({-2, 0, 3});
  CHECK(grad_of_sum(o, norm(o, 1.0)) == V{-1, 0, 1});
}

TEST_CASE("norm: any p > 0, p = 0, p = -inf, by hand") {
  // p = 3 of (3, -4): (27 + 64)^(1/3); p = 0.5: (√3 + 2)²; p = 0 counts nonzeros; -inf: min |x|
  check_close(vals(norm(f64({3, -4}), 3.0)), {std::cbrt(91.0)});
  check_close(vals(norm(f64({3, -4}), 0.5)), {(std::sqrt(3.0) + 2.0) * (std::sqrt(3.0) + 2.0)});
  CHECK(vals(norm(f64({{3, 0, -1}, {0, 0, 0}}), 0.0, {1})) == V{2, 0});
  CHECK(vals(norm(f64({{3, -0.5, 2}, {-7, 4, 9}}), -HUGE_VAL, {1}, true)) == V{0.5, 4});
  CHECK(norm(f64({{3, -0.5, 2}, {-7, 4, 9}}), -HUGE_VAL, {1}, true).shape() == Shape{2, 1});
  // float32 too, and no overflow for huge values: ‖(1e30, 1e30)‖_3 = 1e30·2^(1/3) (1e90 overflows float32)
  CHECK(norm(tensor({1e30, 1e30}), 3.0).item<float>() == doctest::Approx(1e30 * std::cbrt(2.0)).epsilon(1e-6));
  check_close(vals(norm(f64({1e200, -1e200}), 4.0)), {1e200 * std::pow(2.0, 0.25)});
  // the zero vector and empty groups
  CHECK(vals(norm(f64({0, 0}), 3.0)) == V{0});
  CHECK(vals(norm(zeros({2, 0}, kFloat64), 3.0, {1})) == V{0, 0});
  // gradients: sign(x)|x|^(p-1)/‖x‖^(p-1)
  const Tensor x = leaf64({3, -4});
  const double n3 = std::cbrt(91.0);
  check_close(grad_of_sum(x, norm(x, 3.0)), {9 / (n3 * n3), -16 / (n3 * n3)});
  const Tensor h = leaf64({1, -4, 0});  // p = 0.5: sign(x)|x|^-0.5 ‖x‖^0.5, 0 at x = 0; ‖x‖ = 9
  check_close(grad_of_sum(h, norm(h, 0.5)), {3.0, -1.5, 0.0});
  const Tensor z = leaf64({0, 0});
  CHECK(grad_of_sum(z, norm(z, 3.0)) == V{0, 0});
  CHECK(grad_of_sum(z, norm(z, 0.5)) == V{0, 0});
  const Tensor c = leaf64({2, 0, -1});
  CHECK(grad_of_sum(c, norm(c, 0.0)) == V{0, 0, 0});
  const Tensor m = leaf64({-1, 4, 1, 3});  // -inf: split between the two |x| = 1, with the sign
  CHECK(grad_of_sum(m, norm(m, -HUGE_VAL)) == V{-0.5, 0, 0.5, 0});
}

TEST_CASE("max/min over all elements: ties split the gradient, NaN propagates") {
  const Tensor x = leaf64({{1, 5}, {5, 2}});
  CHECK(max(x).item<double>() == 5.0);
  CHECK(max(x).dim() == 0);
  CHECK(grad_of_sum(x, max(x)) == V{0, 0.5, 0.5, 0});
  const Tensor y = leaf64({{1, 5}, {1, 1}});
  CHECK(min(y).item<double>() == 1.0);
  check_close(grad_of_sum(y, min(y)), {1.0 / 3, 0, 1.0 / 3, 1.0 / 3});
  CHECK(std::isnan(max(f64({1, NAN, 3})).item<double>()));
  CHECK(max(from_vector(I{3, 9, 2}, {3})).item<double>() == 9.0);
}

TEST_CASE("max/min along a dim: values, int64 indices (first on ties), gradient to the selected element") {
  const Tensor x = leaf64({{1, 5, 5}, {7, 2, 7}});
  auto [v, i] = max(x, 1);
  CHECK(vals(v) == V{5, 7});
  CHECK(ints(i) == I{1, 0});
  CHECK(grad_of_sum(x, v) == V{0, 1, 0, 1, 0, 0});
  auto [mv, mi] = min(f64({{1, 5, 5}, {7, 2, 7}}), 0, true);
  CHECK(mv.shape() == Shape{1, 3});
  CHECK(mi.shape() == Shape{1, 3});
  CHECK(vals(mv) == V{1, 2, 5});
  CHECK(ints(mi) == I{0, 1, 0});
  auto [tv, ti] = max(f64({{1, 5, 5}, {7, 2, 7}}).t(), -1);  // non-contiguous, negative dim
  CHECK(vals(tv) == V{7, 5, 7});
  CHECK(ints(ti) == I{1, 0, 1});
  auto [sv, si] = max(scalar_tensor(3.0, kFloat64), 0);
  CHECK(sv.item<double>() == 3.0);
  CHECK(ints(si) == I{0});
}

TEST_CASE("amax/amin: dims, keepdim, ties split") {
  const Tensor x = leaf64({{1, 3}, {3, 2}});
  CHECK(amax(x, {}).item<double>() == 3.0);
  CHECK(grad_of_sum(x, amax(x, {})) == V{0, 0.5, 0.5, 0});
  const Tensor y = leaf64({{1, 3}, {3, 3}});
  const Tensor a0 = amax(y, {0}, true);
  CHECK(a0.shape() == Shape{1, 2});
  CHECK(vals(a0) == V{3, 3});
  CHECK(grad_of_sum(y, a0) == V{0, 0.5, 1, 0.5});
  CHECK(vals(amin(f64({{{1, 2}, {3, 0}}, {{-1, 5}, {4, 4}}}), {-1, 0})) == V{-1, 0});
}

TEST_CASE("argmax/argmin: int64, first occurrence, with and without dim") {
  const Tensor x = f64({{1, 5, 5}, {7, 2, 7}});
  CHECK(ints(argmax(x)) == I{3});
  CHECK(argmax(x).dim() == 0);
  CHECK(ints(argmin(x)) == I{0});
  CHECK(ints(argmax(x, 0)) == I{1, 0, 1});
  const Tensor k = argmax(x, -1, true);
  CHECK(k.shape() == Shape{2, 1});
  CHECK(ints(k) == I{1, 0});
  CHECK(ints(argmin(x, 1)) == I{0, 1});
  CHECK(ints(argmax(x.t(), 0)) == I{1, 0});
  CHECK(ints(argmax(x.t())) == I{1});  // flattened row-major order of the view
  CHECK(ints(x.argmax(1)) == I{1, 0});
  CHECK(ints(argmax(f64({1, NAN, 3}))) == I{1});
  CHECK(ints(argmax(from_vector(I{3, 9, 9}, {3}))) == I{1});
}

// ---- error messages ---------------------------------------------------------------------------------

TEST_CASE("cat and stack errors name the op, the tensor number and the shapes or dtypes") {
  const Tensor a = zeros({2, 3}), b = zeros({2, 4});
  check_throws_with<ValueError>([&] { cat({}); }, {"cat", "non-empty"});
  check_throws_with<ShapeError>([&] { cat({a, b}, 0); }, {"cat", "tensor 1", "(2, 4)", "(2, 3)", "dimension 0"});
  check_throws_with<ShapeError>([&] { cat({a, a, zeros({3})}, 0); }, {"cat", "tensor 2", "(3,)", "(2, 3)"});
  check_throws_with<DtypeError>([&] { cat({a, zeros({2, 3}, kFloat64)}); }, {"cat", "tensor 1", "float64", "float32"});
  check_throws_with<ShapeError>([&] { cat({scalar_tensor(1.0)}); }, {"cat", "tensor 0", "0-dimensional"});
  check_throws_with<IndexError>([&] { cat({a, a}, 2); }, {"cat", "dimension 2", "rank 2"});
  check_throws_with<ValueError>([&] { cat({a, Tensor()}); }, {"cat", "tensor 1", "undefined"});
  check_throws_with<ValueError>([&] { stack({}); }, {"stack", "non-empty"});
  check_throws_with<ShapeError>([&] { stack({a, a, b}); }, {"stack", "tensor 2", "(2, 4)", "(2, 3)"});
  check_throws_with<DtypeError>([&] { stack({a, tensor_int({1})}); }, {"stack", "tensor 1", "int64", "float32"});
  check_throws_with<IndexError>([&] { stack({a, a}, 3); }, {"stack", "dimension 3"});
}

TEST_CASE("split, chunk, narrow, slice errors") {
  const Tensor x = zeros({4, 3});
  check_throws_with<ValueError>([&] { split(x, 0); }, {"split", "split_size", "0"});
  check_throws_with<ValueError>([&] { split(x, -2); }, {"split", "-2"});
  check_throws_with<ValueError>([&] { split(x, {5, -1}); }, {"split", "-1", "[5, -1]"});
  check_throws_with<ShapeError>([&] { split(x, {1, 2}); }, {"split", "[1, 2]", "add up to 3", "(4, 3)", "size 4"});
  check_throws_with<ShapeError>([&] { split(scalar_tensor(1.0), 1); }, {"split", "0-dimensional"});
  check_throws_with<IndexError>([&] { split(x, 1, 2); }, {"split", "dimension 2"});
  check_throws_with<ValueError>([&] { chunk(x, 0); }, {"chunk", "positive", "0"});
  check_throws_with<IndexError>([&] { narrow(x, 0, 5, 1); }, {"narrow", "start 5", "size 4", "[-4, 4]"});
  check_throws_with<IndexError>([&] { narrow(x, -1, 1, 3); }, {"narrow", "start 1", "length 3", "size 3", "[0, 2]"});
  check_throws_with<IndexError>([&] { narrow(x, 0, 0, -1); }, {"narrow", "length -1"});
  check_throws_with<ShapeError>([&] { narrow(scalar_tensor(1.0), 0, 0, 1); }, {"narrow", "0-dimensional"});
  check_throws_with<ValueError>([&] { slice(x, 0, 0, 4, 0); }, {"slice", "step", "0"});
  check_throws_with<ValueError>([&] { slice(x, 0, 0, 4, -1); }, {"slice", "step", "-1"});
  check_throws_with<IndexError>([&] { slice(x, -3, 0, 1); }, {"slice", "dimension -3"});
}

TEST_CASE("index_select, gather, scatter_add, one_hot errors name the bad index, its position and the range") {
  const Tensor x = zeros({3, 2});
  check_throws_with<IndexError>([&] { index_select(x, 0, tensor_int({0, 5})); },
                                {"index_select", "index 5", "position [1]", "size 3", "[0, 2]"});
  check_throws_with<IndexError>([&] { index_select(x, 1, tensor_int({-1})); }, {"index_select", "index -1", "position [0]", "[0, 1]"});
  check_throws_with<DtypeError>([&] { index_select(x, 0, tensor({1.0})); }, {"index_select", "int64", "float32"});
  check_throws_with<ShapeError>([&] { index_select(x, 0, from_vector(I{0, 1}, {1, 2})); }, {"index_select", "1-D", "(1, 2)"});
  check_throws_with<ValueError>([&] { index_select(x, 0, Tensor()); }, {"index_select", "index", "undefined"});

  check_throws_with<IndexError>([&] { gather(x, 1, from_vector(I{0, 1, 3, 0}, {2, 2})); },
                                {"gather", "index 3", "position [1, 0]", "size 2", "[0, 1]"});
  check_throws_with<ShapeError>([&] { gather(x, 1, tensor_int({0})); }, {"gather", "(1,)", "(3, 2)", "rank"});
  check_throws_with<ShapeError>([&] { gather(x, 1, from_vector(I{0, 0, 0, 0, 0, 0, 0, 0}, {4, 2})); },
                                {"gather", "(4, 2)", "(3, 2)", "dimension 0", "4 > 3"});
  check_throws_with<DtypeError>([&] { gather(x, 1, zeros({3, 2})); }, {"gather", "int64", "float32"});

  const Tensor idx = from_vector(I{0, 4}, {1, 2});
  check_throws_with<IndexError>([&] { scatter_add(x, 0, idx, zeros({1, 2})); }, {"scatter_add", "index 4", "position [0, 1]", "[0, 2]"});
  check_throws_with<DtypeError>([&] { scatter_add(x, 0, from_vector(I{0, 1}, {1, 2}), zeros({1, 2}, kFloat64)); },
                                {"scatter_add", "float32", "float64"});
  check_throws_with<ShapeError>([&] { scatter_add(x, 0, from_vector(I{0, 1}, {1, 2}), zeros({1, 1})); },
                                {"scatter_add", "(1, 2)", "(1, 1)", "dimension 1"});
  check_throws_with<ShapeError>([&] { scatter_add(x, 0, tensor_int({0}), zeros({1})); }, {"scatter_add", "(3, 2)", "(1,)", "rank"});

  check_throws_with<IndexError>([&] { one_hot(tensor_int({0, 1, 3}), 3); }, {"one_hot", "label 3", "position [2]", "[0, 3)"});
  check_throws_with<IndexError>([&] { one_hot(from_vector(I{0, -1}, {1, 2}), 3); }, {"one_hot", "label -1", "position [0, 1]"});
  check_throws_with<ValueError>([&] { one_hot(tensor_int({0}), 0); }, {"one_hot", "num_classes", "0"});
  check_throws_with<DtypeError>([&] { one_hot(tensor({1.0}), 3); }, {"one_hot", "labels", "int64", "float32"});
}

TEST_CASE("reduction errors: dtypes, dims, empty reductions, bad p") {
  const Tensor x = zeros({2, 3});
  const Tensor xi = tensor_int({1, 2});
  check_throws_with<DtypeError>([&] { var(xi); }, {"var", "int64"});
  check_throws_with<DtypeError>([&] { xgrad::std(xi); }, {"std", "int64"});
  check_throws_with<DtypeError>([&] { logsumexp(xi); }, {"logsumexp", "int64"});
  check_throws_with<DtypeError>([&] { norm(xi); }, {"norm", "int64"});
  check_throws_with<IndexError>([&] { var(x, {2}); }, {"var", "dimension 2", "rank 2"});
  check_throws_with<ValueError>([&] { var(x, {1, -1}); }, {"var", "[1, -1]", "repeats"});
  check_throws_with<IndexError>([&] { xgrad::std(x, {-3}); }, {"std", "dimension -3"});
  check_throws_with<IndexError>([&] { prod(x, {5}); }, {"prod", "dimension 5"});
  check_throws_with<ValueError>([&] { logsumexp(x, {0, 0}); }, {"logsumexp", "repeats"});
  check_throws_with<ValueError>([&] { norm(x, -1.5); }, {"norm", "p must be >= 0", "-1.5", "test_shape_reduction_values.cpp:"});
  check_throws_with<ValueError>([&] { norm(x, std::nan("")); }, {"norm", "p must be >= 0", "nan"});
  check_throws_with<ShapeError>([&] { norm(zeros({2, 0}), -HUGE_VAL, {1}); }, {"norm", "zero elements", "(2, 0)"});
  check_throws_with<ShapeError>([&] { norm(zeros({0, 2}), HUGE_VAL, {0}); }, {"norm", "zero elements", "(0, 2)"});
  check_throws_with<ShapeError>([&] { max(zeros({0, 3})); }, {"max", "empty", "(0, 3)"});
  check_throws_with<ShapeError>([&] { min(zeros({0})); }, {"min", "empty", "(0,)"});
  check_throws_with<ShapeError>([&] { max(zeros({2, 0}), 1); }, {"max", "dimension 1", "size 0", "(2, 0)"});
  check_throws_with<IndexError>([&] { min(x, 2); }, {"min", "dimension 2"});
  check_throws_with<ShapeError>([&] { amax(zeros({0, 3}), {0}); }, {"amax", "zero elements", "(0, 3)", "[0]"});
  check_throws_with<ValueError>([&] { amin(x, {0, -2}); }, {"amin", "repeats"});
  check_throws_with<ShapeError>([&] { argmax(zeros({0})); }, {"argmax", "empty", "(0,)"});
  check_throws_with<ShapeError>([&] { argmin(zeros({3, 0}), -1); }, {"argmin", "size 0", "(3, 0)"});
  check_throws_with<IndexError>([&] { argmin(x, -3); }, {"argmin", "dimension -3"});
  check_throws_with<ValueError>([&] { max(Tensor()); }, {"max", "undefined"});
  check_throws_with<ValueError>([&] { argmax(Tensor(), 0); }, {"argmax", "undefined"});
}

// ---- long rows and columns (the vectorized paths) against independent references ------------------

namespace {
// Reference reductions of a row-major (rows, cols) matrix along axis 1 (rows) or 0 (columns).
struct Ref {
  std::vector<double> v;
  std::int64_t rows, cols;
  double at(std::int64_t r, std::int64_t c) const { return v[static_cast<std::size_t>(r * cols + c)]; }
  template <class F>
  V fold(int axis, F&& f) const {  // f(vector of the group) -> double
    V out;
    const std::int64_t groups = axis == 1 ? rows : cols, len = axis == 1 ? cols : rows;
    for (std::int64_t g = 0; g < groups; ++g) {
      std::vector<double> grp;
      for (std::int64_t k = 0; k < len; ++k) grp.push_back(axis == 1 ? at(g, k) : at(k, g));
      out.push_back(f(grp));
    }
    return out;
  }
};
double ref_var(const std::vector<double>& g) {
  double m = 0, s = 0;
  for (double x : g) m += x;
  m /= static_cast<double>(g.size());
  for (double x : g) s += (x - m) * (x - m);
  return s / static_cast<double>(g.size() - 1);
}
double ref_lse(const std::vector<double>& g) {
  double s = 0;
  for (double x : g) s += std::exp(x);
  return std::log(s);
}
double ref_max(const std::vector<double>& g) { return *std::max_element(g.begin(), g.end()); }
double ref_argmax(const std::vector<double>& g) { return static_cast<double>(std::max_element(g.begin(), g.end()) - g.begin()); }
double ref_argmin(const std::vector<double>& g) { return static_cast<double>(std::min_element(g.begin(), g.end()) - g.begin()); }
double ref_l2(const std::vector<double>& g) {
  double s = 0;
  for (double x : g) s += x * x;
  return std::sqrt(s);
}
double ref_l1(const std::vector<double>& g) {
  double s = 0;
  for (double x : g) s += std::abs(x);
  return s;
}
double ref_linf(const std::vector<double>& g) {
  double s = 0;
  for (double x : g) s = std::max(s, std::abs(x));
  return s;
}
double ref_prod(const std::vector<double>& g) {
  double s = 1;
  for (double x : g) s *= x;
  return s;
}
V as_double(const I& v) { return V(v.begin(), v.end()); }
}  // namespace

TEST_CASE("reductions over long rows and columns match loop references (float32 and float64)") {
  for (Dtype dt : {kFloat32, kFloat64}) {
    for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{3, 45}, {45, 3}, {37, 40}}) {
      INFO("dtype " << dtype_name(dt) << " shape (" << rows << ", " << cols << ")");
      const Tensor x = leaf({rows, cols}, -2, 2, 11).detach().to(dt);
      const Ref ref{x.to_vector<double>(), rows, cols};
      const double tol = dt == kFloat32 ? 1e-5 : 1e-12;
      for (int axis : {0, 1}) {
        INFO("axis " << axis);
        check_close(vals(var(x, {axis})), ref.fold(axis, ref_var), tol);
        check_close(vals(xgrad::std(x, {axis})), ref.fold(axis, [](const auto& g) { return std::sqrt(ref_var(g)); }), tol);
        check_close(vals(logsumexp(x, {axis})), ref.fold(axis, ref_lse), tol);
        check_close(vals(norm(x, 2.0, {axis})), ref.fold(axis, ref_l2), tol);
        check_close(vals(norm(x, 1.0, {axis})), ref.fold(axis, ref_l1), tol);
        check_close(vals(norm(x, HUGE_VAL, {axis})), ref.fold(axis, ref_linf), tol);
        check_close(vals(prod(x * 0.5 + 1.0, {axis})), [&] {
          const Ref shifted{(x * 0.5 + 1.0).to_vector<double>(), rows, cols};
          return shifted.fold(axis, ref_prod);
        }(), dt == kFloat32 ? 1e-4 : 1e-12);
        check_close(vals(amax(x, {axis})), ref.fold(axis, ref_max), 0);
        check_close(vals(max(x, axis).values), ref.fold(axis, ref_max), 0);
        CHECK(as_double(ints(max(x, axis).indices)) == ref.fold(axis, ref_argmax));
        CHECK(as_double(ints(argmax(x, axis))) == ref.fold(axis, ref_argmax));
        CHECK(as_double(ints(argmin(x, axis))) == ref.fold(axis, ref_argmin));
        // the same through a transposed (non-contiguous) view
        CHECK(as_double(ints(argmax(x.t(), 1 - axis))) == ref.fold(axis, ref_argmax));
        check_close(vals(var(x.t(), {1 - axis})), ref.fold(axis, ref_var), tol);
      }
      CHECK(ints(argmax(x)) == I{static_cast<std::int64_t>(ref_argmax(ref.v))});
      check_close(vals(max(x)), {ref_max(ref.v)}, 0);
    }
  }
}

TEST_CASE("long rows: ties take the first index, NaN wins, -inf rows in logsumexp") {
  std::vector<double> v(40);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<double>(i));
  v[25] = v[33] = 5.0;  // tie deep inside the vectorized part
  v[31] = -5.0;
  v[38] = -5.0;
  const Tensor row = from_vector(v, {1, 40}, kFloat64);
  CHECK(ints(argmax(row, 1)) == I{25});
  CHECK(ints(argmin(row, 1)) == I{31});
  CHECK(ints(max(row.to(kFloat32), -1).indices) == I{25});
  const Tensor col = from_vector(v, {40, 1}, kFloat64).expand({40, 20}).contiguous();  // the column path
  CHECK(ints(argmax(col, 0)) == I(20, 25));
  CHECK(ints(argmin(col, 0)) == I(20, 31));
  v[20] = NAN;
  const Tensor nan_row = from_vector(v, {1, 40}, kFloat64);
  CHECK(std::isnan(amax(nan_row, {1}).item<double>()));
  CHECK(std::isnan(amin(nan_row, {1}).item<double>()));
  CHECK(ints(argmax(nan_row, 1)) == I{20});
  CHECK(ints(argmin(nan_row.to(kFloat32), 1)) == I{20});
  CHECK(std::isnan(logsumexp(nan_row).item<double>()));
  const Tensor nan_col = from_vector(v, {40, 1}, kFloat64).expand({40, 20}).contiguous();
  CHECK(ints(argmax(nan_col, 0)) == I(20, 20));
  CHECK(std::isnan(vals(amax(nan_col, {0}))[7]));
  const double ninf = -std::numeric_limits<double>::infinity();
  const Tensor inf_cols = full({30, 20}, ninf, kFloat64);
  for (double r : vals(logsumexp(inf_cols, {0}))) CHECK(r == ninf);
  for (double r : vals(logsumexp(inf_cols, {1}))) CHECK(r == ninf);
}
