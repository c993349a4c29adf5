// The Tensor class: factories, accessors, conversions, printing and in-place updates. Expected values
// are hand-computed.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
}  // namespace

// ---- factories ------------------------------------------------------------------------------------

TEST_CASE("factories: zeros, ones, full, scalar_tensor") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == kFloat32);
  CHECK(values(z) == std::vector<double>(6, 0.0));
  Tensor o = ones({4}, kFloat64);
  CHECK(o.dtype() == kFloat64);
  CHECK(values(o) == std::vector<double>(4, 1.0));
  Tensor f = full({2, 2}, -1.5);
  CHECK(values(f) == std::vector<double>(4, -1.5));
  Tensor e = zeros({0, 3});
  CHECK(e.numel() == 0);
  CHECK(e.shape() == Shape{0, 3});
  Tensor s = scalar_tensor(2.5, kFloat64);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.item<double>() == 2.5);
  CHECK_FALSE(z.requires_grad());
  CHECK(z.is_leaf());
  check_throws_with<ShapeError>([] { zeros({2, -1}); }, {"negative dimension", "(2, -1)"});
  check_throws_with<ShapeError>([] { full({-3}, 1.0); }, {"full", "(-3,)"});
}

TEST_CASE("factories: eye") {
  CHECK(values(eye(3)) == std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1});
  Tensor r = eye(2, 3, kFloat64);
  CHECK(r.shape() == Shape{2, 3});
  CHECK(values(r) == std::vector<double>{1, 0, 0, 0, 1, 0});
  CHECK(values(eye(3, 2)) == std::vector<double>{1, 0, 0, 1, 0, 0});
  check_throws_with<ShapeError>([] { eye(-1); }, {"eye", "-1"});
}

TEST_CASE("factories: arange") {
  CHECK(values(arange(5)) == std::vector<double>{0, 1, 2, 3, 4});
  CHECK(values(arange(1, 2, 0.25, kFloat64)) == std::vector<double>{1, 1.25, 1.5, 1.75});
  CHECK(values(arange(5, 0, -2)) == std::vector<double>{5, 3, 1});
  CHECK(arange(0.5, 2.0).shape() == Shape{2});  // 0.5, 1.5
  CHECK(arange(3, 3).numel() == 0);
  CHECK(arange(4, kFloat64).dtype() == kFloat64);
  check_throws_with<ValueError>([] { arange(0, 1, 0); }, {"arange", "step=0"});
  check_throws_with<ValueError>([] { arange(0, 5, -1); }, {"arange", "wrong sign", "-1"});
  check_throws_with<ValueError>([] { arange(0, NAN); }, {"arange", "invalid range"});
  check_throws_with<ValueError>([] { arange(0, INFINITY); }, {"arange"});
}

TEST_CASE("factories: linspace") {
  CHECK(values(linspace(0, 1, 5, kFloat64)) == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  CHECK(values(linspace(2, -2, 3)) == std::vector<double>{2, 0, -2});
  CHECK(values(linspace(3, 7, 1)) == std::vector<double>{3});
  CHECK(linspace(0, 1, 0).numel() == 0);
  Tensor l = linspace(0, 0.3, 4, kFloat64);
  CHECK(l.at({3}) == 0.3);  // the end point exactly
  check_throws_with<ValueError>([] { linspace(0, 1, -2); }, {"linspace", "-2"});
}

TEST_CASE("factories: rand and randn are reproducible after manual_seed, different without") {
  manual_seed(123);
  const auto a = values(rand({50}));
  const auto an = values(randn({50}, kFloat64));
  manual_seed(123);
  const auto b = values(rand({50}));
  const auto bn = values(randn({50}, kFloat64));
  CHECK(a == b);
  CHECK(an == bn);
  const auto c = values(rand({50}));  // the generator moved on
  CHECK(a != c);
  manual_seed(124);
  CHECK(values(rand({50})) != a);
  for (double v : a) {
    CHECK(v >= 0.0);
    CHECK(v < 1.0);
  }
}

TEST_CASE("factories: manual_seed makes every random draw reproducible (each factory, both dtypes, threads)") {
  auto draw_all = [] {
    std::vector<std::vector<double>> d;
    const Tensor like32 = zeros({3, 2}), like64 = zeros({2, 2}, kFloat64);
    for (Dtype dt : {kFloat32, kFloat64}) {
      d.push_back(values(rand({7}, dt)));
      d.push_back(values(randn({7}, dt)));
      d.push_back(values(uniform({5}, -3.0, 2.0, dt)));
      d.push_back(values(normal({5}, 1.0, 0.25, dt)));
      d.push_back(values(bernoulli({9}, 0.3, dt)));
    }
    d.push_back(values(randint(-4, 9, {6})));
    d.push_back(values(randperm(8)));
    d.push_back(values(rand_like(like32)));
    d.push_back(values(randn_like(like64)));
    return d;
  };
  manual_seed(2024);
  const auto first = draw_all();
  manual_seed(2024);
  CHECK(draw_all() == first);
  CHECK(draw_all() != first);  // the generator moved on
  // another thread has its own generator: the same seed gives the same draws there
  std::vector<std::vector<double>> other;
  std::thread t([&] {
    manual_seed(2024);
    other = draw_all();
  });
  t.join();
  CHECK(other == first);
}

TEST_CASE("factories: rand, randn, uniform and normal statistics") {
  manual_seed(7);
  constexpr int n = 20000;
  auto mean_std = [](const std::vector<double>& v) {
    const double m = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double ss = 0;
    for (double x : v) ss += (x - m) * (x - m);
    return std::pair{m, std::sqrt(ss / static_cast<double>(v.size()))};
  };
  auto [um, us] = mean_std(values(rand({n}, kFloat64)));
  CHECK(um == doctest::Approx(0.5).epsilon(0.02));
  CHECK(us == doctest::Approx(1.0 / std::sqrt(12.0)).epsilon(0.03));
  auto [nm, ns] = mean_std(values(randn({n}, kFloat64)));
  CHECK(std::abs(nm) < 0.05);
  CHECK(ns == doctest::Approx(1.0).epsilon(0.03));
  auto [gm, gs] = mean_std(values(normal({n}, 3.0, 0.5, kFloat64)));
  CHECK(gm == doctest::Approx(3.0).epsilon(0.01));
  CHECK(gs == doctest::Approx(0.5).epsilon(0.03));
  const auto u = values(uniform({n}, -2.0, 4.0, kFloat64));
  CHECK(*std::min_element(u.begin(), u.end()) >= -2.0);
  CHECK(*std::max_element(u.begin(), u.end()) < 4.0);
  check_throws_with<ValueError>([] { uniform({2}, 1.0, 0.0); }, {"uniform", "low=1", "high=0"});
  check_throws_with<ValueError>([] { normal({2}, 0.0, -1.0); }, {"normal", "stddev", "-1"});
  check_throws_with<ShapeError>([] { randn({-2}); }, {"randn", "(-2,)"});
}

TEST_CASE("factories: bernoulli") {
  manual_seed(3);
  const auto v = values(bernoulli({10000}, 0.3));
  double ones_count = 0;
  for (double x : v) {
    CHECK((x == 0.0 || x == 1.0));
    ones_count += x;
  }
  CHECK(ones_count / 10000.0 == doctest::Approx(0.3).epsilon(0.1));
  CHECK(values(bernoulli({5}, 0.0)) == std::vector<double>(5, 0.0));
  CHECK(values(bernoulli({5}, 1.0)) == std::vector<double>(5, 1.0));
  check_throws_with<ValueError>([] { bernoulli({2}, 1.5); }, {"bernoulli", "[0, 1]", "1.5"});
  check_throws_with<ValueError>([] { bernoulli({2}, -0.1); }, {"bernoulli", "-0.1"});
}

TEST_CASE("factories: empty has the shape and dtype asked for, is contiguous, and checks the shape") {
  for (const Dtype dt : {kFloat32, kFloat64, kInt64}) {
    const Tensor e = empty({3, 0, 2}, dt);
    CHECK(e.shape() == Shape{3, 0, 2});
    CHECK(e.dtype() == dt);
    Tensor f = empty({4, 5}, dt);
    CHECK(f.is_contiguous());
    CHECK(!f.requires_grad());
    f.fill_(2.0);  // writable in full
    CHECK(f.sum().item<double>() == 40.0);
  }
  CHECK(empty({2}).dtype() == kFloat32);
  CHECK_THROWS_AS(empty({2, -1}), ShapeError);
}

TEST_CASE("factories: bernoulli draws the stream of uniform_real_distribution(0, 1) < p, one word per element") {
  // Note [block bernoulli]: the blocked, vectorized comparison must give exactly the masks of the
  // element-by-element definition, over block boundaries (n not a multiple of 256) and for every dtype.
  for (const double p : {0.0, 1e-9, 0.3, 0.5, 0.8, 1.0 - 1e-12, 1.0}) {
    for (const Dtype dt : {kFloat32, kFloat64, kInt64}) {
      CAPTURE(p);
      manual_seed(77);
      const auto got = bernoulli({3, 347}, p, dt).to_vector<double>();
      const std::uint64_t next_word = generator()();
      std::mt19937_64 ref(77);
      std::uniform_real_distribution<double> dist(0.0, 1.0);
      std::vector<double> want(got.size());
      for (double& w : want) w = dist(ref) < p ? 1.0 : 0.0;
      CHECK(got == want);
      CHECK(next_word == ref());  // exactly numel() words were drawn
    }
  }
}

TEST_CASE("factories: randint and randperm") {
  manual_seed(11);
  Tensor r = randint(-3, 4, {1000});
  CHECK(r.dtype() == kInt64);
  const auto rv = r.to_vector<std::int64_t>();
  CHECK(*std::min_element(rv.begin(), rv.end()) == -3);  // 1000 draws cover the 7 values
  CHECK(*std::max_element(rv.begin(), rv.end()) == 3);
  check_throws_with<ValueError>([] { randint(2, 2, {3}); }, {"randint", "low=2", "high=2"});

  Tensor p = randperm(100);
  CHECK(p.dtype() == kInt64);
  CHECK(p.shape() == Shape{100});
  auto pv = p.to_vector<std::int64_t>();
  std::vector<std::int64_t> expected(100);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(pv != expected);  // shuffled (a fixed seed: not the identity)
  std::sort(pv.begin(), pv.end());
  CHECK(pv == expected);  // a permutation
  CHECK(randperm(0).numel() == 0);
  check_throws_with<ValueError>([] { randperm(-1); }, {"randperm", "-1"});
  manual_seed(5);
  const auto p1 = randperm(20).to_vector<std::int64_t>();
  manual_seed(5);
  CHECK(randperm(20).to_vector<std::int64_t>() == p1);
}

TEST_CASE("factories: *_like keep shape and dtype") {
  Tensor t = full({2, 3}, 4.0, kFloat64).requires_grad_();
  for (const Tensor& l : {zeros_like(t), ones_like(t), full_like(t, 7.0), rand_like(t), randn_like(t)}) {
    CHECK(l.shape() == Shape{2, 3});
    CHECK(l.dtype() == kFloat64);
    CHECK_FALSE(l.requires_grad());
  }
  CHECK(values(zeros_like(t)) == std::vector<double>(6, 0.0));
  CHECK(values(ones_like(t)) == std::vector<double>(6, 1.0));
  CHECK(values(full_like(t, 7.0)) == std::vector<double>(6, 7.0));
  CHECK(zeros_like(ones({3}, kFloat32)).dtype() == kFloat32);
}

TEST_CASE("factories: nested initializer lists") {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  CHECK(m.shape() == Shape{2, 3});
  CHECK(m.dtype() == kFloat32);
  CHECK(values(m) == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(tensor({{1}, {2}}).shape() == Shape{2, 1});
  CHECK(tensor({1.5, 2.5}, kFloat64).shape() == Shape{2});
  Tensor s = tensor(3.0);
  CHECK(s.dim() == 0);
  CHECK(s.item<float>() == 3.0f);
  Tensor c = tensor({{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}, kFloat64);
  CHECK(c.shape() == Shape{2, 2, 2});
  CHECK(c.at({1, 0, 1}) == 6.0);
  check_throws_with<ShapeError>([] { tensor({{1, 2}, {3}}); }, {"tensor", "rectangular", "x[1]", "1 elements", "expected 2"});
  check_throws_with<ShapeError>([] { tensor({{1, 2}, 3}); }, {"rectangular", "x[1]", "number where a list"});
  check_throws_with<ShapeError>([] { tensor({1, {2, 3}}); }, {"rectangular", "x[1]", "list where a number"});
  check_throws_with<ShapeError>([] { tensor({{{1}, {2}}, {{3}, {4, 5}}}); }, {"x[1][1]", "2 elements", "expected 1"});
}

TEST_CASE("factories: from_vector and tensor_int") {
  Tensor a = from_vector({1.0, 2.0, 3.0, 4.0}, {2, 2}, kFloat64);
  CHECK(a.at({1, 0}) == 3.0);
  Tensor f = from_vector(std::vector<float>{1.5f, 2.5f}, {2});
  CHECK(f.dtype() == kFloat32);
  Tensor i = from_vector(std::vector<std::int64_t>{4, 5, 6}, {3});
  CHECK(i.dtype() == kInt64);
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 5, 6});
  CHECK(tensor_int({7, 8}).to_vector<std::int64_t>() == std::vector<std::int64_t>{7, 8});
  check_throws_with<ShapeError>([] { from_vector({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 2}, kFloat32); }, {"from_vector", "6 values", "(2, 2)", "4 elements"});
  check_throws_with<ShapeError>([] { from_vector(std::vector<std::int64_t>{1}, {2}); }, {"from_vector", "1 values", "(2,)"});
}

// ---- accessors ------------------------------------------------------------------------------------

TEST_CASE("accessors: shape, size, dim, numel, dtype, strides, contiguity") {
  Tensor t = zeros({2, 3, 4}, kFloat64);
  CHECK(t.dim() == 3);
  CHECK(t.numel() == 24);
  CHECK(t.size(0) == 2);
  CHECK(t.size(-1) == 4);
  CHECK(t.strides() == Strides{12, 4, 1});
  CHECK(t.is_contiguous());
  CHECK(t.dtype() == kFloat64);
  Tensor tt = t.transpose(0, 2);
  CHECK(tt.shape() == Shape{4, 3, 2});
  CHECK_FALSE(tt.is_contiguous());
  check_throws_with<IndexError>([&] { (void)t.size(3); }, {"size", "3"});
  check_throws_with<IndexError>([&] { (void)t.size(-4); }, {"size", "-4"});
  Tensor u;
  CHECK_FALSE(u.defined());
  check_throws_with<ValueError>([&] { (void)u.shape(); }, {"shape", "undefined"});
  check_throws_with<ValueError>([&] { (void)u.numel(); }, {"numel", "undefined"});
}

TEST_CASE("accessors: item") {
  CHECK(full({1, 1}, 2.5, kFloat64).item<double>() == 2.5);
  CHECK(full({1}, 2.5).item<float>() == 2.5f);
  CHECK(full({1}, 2.5).item<double>() == 2.5);
  CHECK(tensor_int({9}).item<double>() == 9.0);
  check_throws_with<ShapeError>([] { (void)zeros({2}).item<float>(); }, {"item", "one-element", "(2,)", "2 elements"});
  check_throws_with<ValueError>([] { (void)Tensor().item<float>(); }, {"item", "undefined"});
}

TEST_CASE("accessors: data and mutable_data check the dtype") {
  Tensor t = from_vector({1.0, 2.0}, {2}, kFloat64);
  CHECK(t.data<double>()[1] == 2.0);
  t.mutable_data<double>()[0] = 5.0;
  CHECK(t.at({0}) == 5.0);
  CHECK(t.version() == 0);  // raw writes do not bump the version (documented)
  check_throws_with<DtypeError>([&] { (void)t.data<float>(); }, {"data", "float64", "float32"});
  check_throws_with<DtypeError>([&] { (void)t.mutable_data<std::int64_t>(); }, {"float64", "int64"});
  // A view's data() points at its first element.
  Tensor m = from_vector({1.0, 2.0, 3.0, 4.0}, {2, 2}, kFloat64);
  Tensor row = m.reshape({4}).expand({2, 4});
  CHECK(row.data<double>() == m.data<double>());
}

TEST_CASE("accessors: at") {
  Tensor t = from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  CHECK(t.at({0, 0}) == 1);
  CHECK(t.at({1, 2}) == 6);
  CHECK(t.at({-1, -3}) == 4);
  CHECK(t.t().at({2, 0}) == 3);  // views use strides
  CHECK(scalar_tensor(4.0).at({}) == 4.0);
  check_throws_with<IndexError>([&] { (void)t.at({0}); }, {"at", "1 indices", "rank 2"});
  check_throws_with<IndexError>([&] { (void)t.at({2, 0}); }, {"at", "index 2", "dimension 0", "size 2"});
  check_throws_with<IndexError>([&] { (void)t.at({0, -4}); }, {"index -4", "dimension 1", "size 3"});
}

TEST_CASE("accessors: requires_grad, is_leaf, grad_fn, grad_fn_name, output_nr") {
  Tensor x = ones({2}).requires_grad_();
  CHECK(x.requires_grad());
  CHECK(x.is_leaf());
  CHECK(x.grad_fn() == nullptr);
  CHECK(x.grad_fn_name().empty());
  CHECK_FALSE(x.grad().defined());
  Tensor y = x * x;
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  CHECK(y.grad_fn_name() == "MulBackward");
  CHECK(std::string(y.grad_fn()->name()) == "MulBackward");
  CHECK(y.output_nr() == 0);
  CHECK((y + 1.0).grad_fn_name() == "AddBackward");
  CHECK(y.exp().grad_fn_name() == "ExpBackward");
  Tensor c = ones({2}) * 2.0;  // no input requires grad: a leaf
  CHECK_FALSE(c.requires_grad());
  CHECK(c.is_leaf());
}

TEST_CASE("to_vector converts the type and follows views") {
  Tensor t = from_vector({1.5, -2.5, 3.0, 4.0}, {2, 2}, kFloat64);
  CHECK(t.t().to_vector<double>() == std::vector<double>{1.5, 3.0, -2.5, 4.0});
  CHECK(t.to_vector<float>() == std::vector<float>{1.5f, -2.5f, 3.0f, 4.0f});
}

// ---- conversions ----------------------------------------------------------------------------------

TEST_CASE("clone copies the data and is differentiable") {
  Tensor x = from_vector({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor c = x.clone();
  CHECK(c.grad_fn_name() == "CloneBackward");
  CHECK(c.data<double>() != x.data<double>());
  CHECK(allclose(c, x));
  {
    NoGradGuard no_grad;
    c.add_(1.0);
  }
  CHECK(allclose(x, from_vector({1.0, 2.0}, {2}, kFloat64)));
  (c * 3.0).sum().backward();
  CHECK(allclose(x.grad(), full({2}, 3.0, kFloat64)));
  Tensor v = from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat32).t().clone();  // of a view: contiguous
  CHECK(v.is_contiguous());
  CHECK(values(v) == std::vector<double>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("to converts dtypes, differentiably between float types") {
  Tensor x = from_vector({1.25, -2.75}, {2}, kFloat32).requires_grad_();
  CHECK(x.to(kFloat32).is_same(x));
  Tensor d = x.to(kFloat64);
  CHECK(d.dtype() == kFloat64);
  CHECK(values(d) == std::vector<double>{1.25, -2.75});
  CHECK(d.grad_fn_name() == "ToBackward");
  (d * 2.0).sum().backward();
  CHECK(x.grad().dtype() == kFloat32);
  CHECK(values(x.grad()) == std::vector<double>{2.0, 2.0});
  Tensor i = x.to(kInt64);
  CHECK(i.dtype() == kInt64);
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2});  // truncation toward zero
  CHECK_FALSE(i.requires_grad());
  Tensor back = tensor_int({3, -4}).to(kFloat64);
  CHECK(values(back) == std::vector<double>{3, -4});
}

TEST_CASE("contiguous") {
  Tensor x = from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64).requires_grad_();
  CHECK(x.contiguous().is_same(x));
  Tensor t = x.t();
  Tensor c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.shape() == Shape{3, 2});
  CHECK(values(c) == std::vector<double>{1, 4, 2, 5, 3, 6});
  CHECK(c.grad_fn_name() == "ContiguousBackward");
  (c * from_vector({1, 2, 3, 4, 5, 6}, {3, 2}, kFloat64)).sum().backward();
  CHECK(values(x.grad()) == std::vector<double>{1, 3, 5, 2, 4, 6});
}

// ---- printing ------------------------------------------------------------------------------------

TEST_CASE("printing: operator<< and fmt::format show values, shape, dtype and grad_fn") {
  Tensor m = tensor({{1, 2}, {3, 4}});
  std::ostringstream os;
  os << m;
  const std::string text = os.str();
  CHECK(text == "tensor([[1, 2],\n        [3, 4]], shape=(2, 2), dtype=float32)");
  CHECK(fmt::format("{}", m) == text);
  CHECK(to_string(m) == text);

  Tensor x = from_vector({0.5, -1.25}, {2}, kFloat64).requires_grad_();
  const std::string leaf_text = fmt::format("{}", x);
  CHECK(leaf_text.find("[0.5, -1.25]") != std::string::npos);
  CHECK(leaf_text.find("shape=(2,)") != std::string::npos);
  CHECK(leaf_text.find("dtype=float64") != std::string::npos);
  CHECK(leaf_text.find("requires_grad=true") != std::string::npos);
  const std::string y_text = fmt::format("{}", x * 2.0);
  CHECK(y_text.find("[1, -2.5]") != std::string::npos);
  CHECK(y_text.find("grad_fn=MulBackward") != std::string::npos);

  CHECK(fmt::format("{}", scalar_tensor(3.5)) == "tensor(3.5, shape=(), dtype=float32)");
  CHECK(fmt::format("{}", tensor_int({1, -2})) == "tensor([1, -2], shape=(2,), dtype=int64)");
  CHECK(fmt::format("{}", Tensor()) == "tensor(undefined)");
  CHECK(fmt::format("{}", zeros({0})) == "tensor([], shape=(0,), dtype=float32)");
  CHECK(fmt::format("{}", kFloat64) == "float64");
  CHECK(fmt::format("{:>8}", kInt64) == "   int64");
}

TEST_CASE("printing: large tensors are summarized") {
  const std::string text = to_string(arange(2000));
  CHECK(text.find("[0, 1, 2, ..., 1997, 1998, 1999]") != std::string::npos);
  CHECK(text.find("shape=(2000,)") != std::string::npos);
  CHECK(text.size() < 200);
}

// ---- in-place updates ----------------------------------------------------------------------------

TEST_CASE("in-place: fill_, zero_, add_, sub_, mul_, div_ and the version counter") {
  Tensor t = zeros({2, 3}, kFloat64);
  CHECK(t.version() == 0);
  CHECK(&t.fill_(2.0) == &t);
  CHECK(values(t) == std::vector<double>(6, 2.0));
  t.add_(from_vector({1.0, 2.0, 3.0}, {3}, kFloat64));  // broadcast (3,) into (2, 3)
  CHECK(values(t) == std::vector<double>{3, 4, 5, 3, 4, 5});
  t.add_(ones({2, 1}, kFloat64), -3.0);  // alpha
  CHECK(values(t) == std::vector<double>{0, 1, 2, 0, 1, 2});
  t.add_(1.0);
  t.mul_(from_vector({2.0, 1.0}, {2, 1}, kFloat64));
  CHECK(values(t) == std::vector<double>{2, 4, 6, 1, 2, 3});
  t.mul_(0.5);
  t.sub_(ones({3}, kFloat64), 2.0);
  CHECK(values(t) == std::vector<double>{-1, 0, 1, -1.5, -1, -0.5});
  t.div_(-0.5);
  CHECK(values(t) == std::vector<double>{2, 0, -2, 3, 2, 1});
  CHECK(t.version() == 8);
  t.zero_();
  CHECK(values(t) == std::vector<double>(6, 0.0));
  CHECK(t.version() == 9);
}

TEST_CASE("in-place: copy_ broadcasts and converts the dtype") {
  Tensor t = zeros({2, 3}, kFloat64);
  t.copy_(from_vector(std::vector<float>{1.5f, 2.5f, 3.5f}, {3}));
  CHECK(values(t) == std::vector<double>{1.5, 2.5, 3.5, 1.5, 2.5, 3.5});
  t.copy_(tensor_int({7}));
  CHECK(values(t) == std::vector<double>(6, 7.0));
  Tensor src = from_vector({1, 2, 3, 4, 5, 6}, {3, 2}, kFloat64);
  t.copy_(src.t());  // from a non-contiguous view
  CHECK(values(t) == std::vector<double>{1, 3, 5, 2, 4, 6});
}

TEST_CASE("in-place: addcmul_, addcdiv_, clamp_") {
  Tensor t = from_vector({1.0, 2.0, 3.0}, {3}, kFloat64);
  t.addcmul_(from_vector({1.0, 2.0, 3.0}, {3}, kFloat64), full({3}, 2.0, kFloat64), 0.5);  // += 0.5 * a * b
  CHECK(values(t) == std::vector<double>{2, 4, 6});
  t.addcdiv_(full({3}, 6.0, kFloat64), from_vector({1.0, 2.0, 3.0}, {3}, kFloat64), -1.0);  // -= 6 / b
  CHECK(values(t) == std::vector<double>{-4, 1, 4});
  t.clamp_(-1.0, 2.0);
  CHECK(values(t) == std::vector<double>{-1, 1, 2});
}

TEST_CASE("in-place: momentum_step_ is the unfused SGD-momentum sequence up to rounding") {
  // by hand: b = 0.9·2 + 0.5·4 = 3.8; p = 1 - 0.1·3.8 = 0.62
  Tensor p1 = full({1}, 1.0, kFloat64), b1 = full({1}, 2.0, kFloat64);
  p1.momentum_step_(b1, full({1}, 4.0, kFloat64), 0.9, 0.5, 0.1);
  CHECK(b1.item<double>() == doctest::Approx(3.8).epsilon(1e-15));
  CHECK(p1.item<double>() == doctest::Approx(0.62).epsilon(1e-15));
  for (Dtype dt : {kFloat32, kFloat64}) {
    manual_seed(7);
    const std::int64_t n = 1000;  // vector body and scalar tail
    const Tensor p = randn({n}, dt), b = randn({n}, dt), g = randn({n}, dt);
    Tensor pf = p.clone(), bf = b.clone(), pu = p.clone(), bu = b.clone();
    const auto v0 = pf.version(), vb0 = bf.version();
    pf.momentum_step_(bf, g, 0.9, 0.7, 0.05);
    bu.mul_(0.9).add_(g, 0.7);
    pu.add_(bu, -0.05);
    // The same formula; the compiler may fuse a product and a sum into one FMA (one rounding instead
    // of two) differently in the fused loop and in the separate ops, so allow a few units in the last
    // place of the result (a wrong coefficient would be off by far more).
    const double tol = dt == kFloat32 ? 1e-6 : 1e-14;
    CHECK(allclose(bf, bu, tol, tol));
    CHECK(allclose(pf, pu, tol, tol));
    CHECK(pf.version() == v0 + 1);  // both tensors count as modified in place
    CHECK(bf.version() == vb0 + 1);
    // a non-contiguous buffer takes the unfused path, same values
    Tensor bt = b.clone().reshape({20, 50}).t(), pt = p.clone().reshape({50, 20});
    Tensor bt2 = bt.contiguous(), pt2 = pt.clone();
    pt.momentum_step_(bt, g.reshape({50, 20}), 0.9, 0.7, 0.05);
    pt2.momentum_step_(bt2, g.reshape({50, 20}), 0.9, 0.7, 0.05);
    CHECK(allclose(pt, pt2, tol, tol));
  }
  Tensor p = zeros({3}, kFloat64);
  check_throws_with<ShapeError>([&] { p.momentum_step_(zeros({2}, kFloat64), zeros({3}, kFloat64), 0.9, 1.0, 0.1); },
                                {"momentum_step_", "(2,)", "(3,)"});
  check_throws_with<DtypeError>([&] { p.momentum_step_(zeros({3}), zeros({3}, kFloat64), 0.9, 1.0, 0.1); },
                                {"momentum_step_", "float32", "float64"});
  Tensor w = zeros({3}, kFloat64).requires_grad_();
  check_throws_with<GraphError>([&] { w.momentum_step_(zeros({3}, kFloat64), zeros({3}, kFloat64), 0.9, 1.0, 0.1); },
                                {"momentum_step_", "requires grad"});
}

TEST_CASE("in-place: through a view updates the base") {
  Tensor base = zeros({2, 3}, kFloat64);
  Tensor view = base.t();  // (3, 2), non-contiguous
  view.add_(from_vector({1.0, 2.0}, {2}, kFloat64));
  CHECK(values(base) == std::vector<double>{1, 1, 1, 2, 2, 2});
  CHECK(base.version() == 1);  // shared counter
  view.fill_(3.0);
  CHECK(values(base) == std::vector<double>(6, 3.0));
}

TEST_CASE("in-place: broadcasting and dtype errors") {
  Tensor t = zeros({3}, kFloat64);
  check_throws_with<ShapeError>([&] { t.add_(ones({2, 3}, kFloat64)); }, {"add_", "(2, 3)", "(3,)"});
  check_throws_with<ShapeError>([&] { t.add_(ones({4}, kFloat64)); }, {"add_", "(3,)", "(4,)"});
  check_throws_with<ShapeError>([&] { t.mul_(ones({2}, kFloat64)); }, {"mul_", "(3,)", "(2,)"});
  check_throws_with<ShapeError>([&] { t.copy_(ones({3, 3}, kFloat64)); }, {"copy_", "(3, 3)", "(3,)"});
  check_throws_with<ShapeError>([&] { t.addcmul_(ones({2}, kFloat64), ones({3}, kFloat64)); }, {"addcmul_", "(2,)"});
  check_throws_with<ShapeError>([&] { t.addcdiv_(ones({3}, kFloat64), ones({1, 2}, kFloat64)); }, {"addcdiv_", "(1, 2)"});
  check_throws_with<DtypeError>([&] { t.add_(ones({3}, kFloat32)); }, {"add_", "float64", "float32"});
  check_throws_with<DtypeError>([&] { t.mul_(ones({3}, kFloat32)); }, {"mul_", "float64", "float32"});
  check_throws_with<DtypeError>([&] { t.addcmul_(ones({3}, kFloat32), ones({3}, kFloat64)); }, {"addcmul_", "float32"});
  check_throws_with<ValueError>([&] { t.add_(Tensor()); }, {"add_", "undefined"});
  check_throws_with<ValueError>([] { Tensor().fill_(1.0); }, {"fill_", "undefined"});
  CHECK(t.version() == 0);  // failed updates change nothing
  CHECK(values(t) == std::vector<double>(3, 0.0));
}
