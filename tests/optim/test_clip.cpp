// Gradient clipping by total norm and by value.
#include <cmath>
#include <limits>

#include "optim/optim_test_util.hpp"

using namespace xgrad;
using namespace xgrad::optim;
using namespace xgrad::optim_test;
using xgrad::testing::check_throws_with;

namespace {

// Parameters with gradients (3, 4) and [[0, -12]]: 2-norm 13, 1-norm 19, inf-norm 12.
struct Grads {
  Tensor a = param({1.0, 1.0});
  Tensor b = from_vector(Vec{1.0, 1.0}, {1, 2}, kFloat64).requires_grad_();
  Tensor none = param({5.0});  // no gradient
  Grads() {
    a.set_grad(from_vector(Vec{3.0, 4.0}, {2}, kFloat64));
    b.set_grad(from_vector(Vec{0.0, -12.0}, {1, 2}, kFloat64));
  }
  TensorList all() const { return {a, b, none}; }
};

void check_scaled(const Grads& g, double coef) {
  check_close(g.a.grad(), {3.0 * coef, 4.0 * coef}, 1e-15);
  check_close(g.b.grad(), {0.0, -12.0 * coef}, 1e-15);
  CHECK_FALSE(g.none.grad().defined());
}

}  // namespace

TEST_CASE("clip_grad_norm_: 2-norm over all gradients, scaled by max_norm / (total + 1e-6)") {
  Grads g;
  const double total = clip_grad_norm_(g.all(), 6.5);
  CHECK(total == doctest::Approx(13.0).epsilon(1e-15));
  check_scaled(g, 6.5 / (13.0 + 1e-6));
}

TEST_CASE("clip_grad_norm_: gradients under the bound are unchanged") {
  Grads g;
  CHECK(clip_grad_norm_(g.all(), 20.0) == doctest::Approx(13.0).epsilon(1e-15));
  CHECK(g.a.grad().to_vector<double>() == Vec{3.0, 4.0});
  CHECK(g.b.grad().to_vector<double>() == Vec{0.0, -12.0});
  // max_norm == total: the coefficient 13 / (13 + 1e-6) is below 1 (as PyTorch).
  Grads h;
  clip_grad_norm_(h.all(), 13.0);
  check_scaled(h, 13.0 / (13.0 + 1e-6));
}

TEST_CASE("clip_grad_norm_: inf, 1 and 3 norms") {
  Grads g;
  CHECK(clip_grad_norm_(g.all(), 6.0, kInfNorm) == 12.0);
  check_scaled(g, 6.0 / (12.0 + 1e-6));
  Grads h;
  CHECK(clip_grad_norm_(h.all(), 1.0, 1.0) == doctest::Approx(19.0).epsilon(1e-15));
  check_scaled(h, 1.0 / (19.0 + 1e-6));
  Grads k;
  const double n3 = std::cbrt(27.0 + 64.0 + 1728.0);
  CHECK(clip_grad_norm_(k.all(), 100.0, 3.0) == doctest::Approx(n3).epsilon(1e-14));
  check_scaled(k, 1.0);
}

TEST_CASE("clip_grad_norm_: no gradients gives 0, float32 gradients") {
  CHECK(clip_grad_norm_({param({1.0})}, 1.0) == 0.0);
  CHECK(clip_grad_norm_({}, 1.0) == 0.0);
  Tensor w = from_vector(std::vector<float>{0.0f, 0.0f}, {2});
  w.requires_grad_();
  w.set_grad(from_vector(std::vector<float>{6.0f, 8.0f}, {2}));
  CHECK(clip_grad_norm_({w}, 1.0) == doctest::Approx(10.0).epsilon(1e-7));
  const auto v = w.grad().to_vector<float>();
  CHECK(v[0] == doctest::Approx(0.6).epsilon(1e-6));
  CHECK(v[1] == doctest::Approx(0.8).epsilon(1e-6));
}

TEST_CASE("clip_grad_norm_: non-finite norms") {
  Grads g;
  g.a.grad().mutable_data<double>()[0] = std::numeric_limits<double>::quiet_NaN();
  check_throws_with<ValueError>([&] { clip_grad_norm_(g.all(), 1.0, 2.0, true); },
                                {"clip_grad_norm_", "total norm of order 2", "nan", "left unchanged"});
  CHECK(g.b.grad().to_vector<double>() == Vec{0.0, -12.0});
  CHECK(std::isnan(clip_grad_norm_(g.all(), 1.0)));
  CHECK(std::isnan(g.b.grad().to_vector<double>()[1]));  // as PyTorch: NaN spreads

  Grads h;
  h.b.grad().mutable_data<double>()[1] = std::numeric_limits<double>::infinity();
  check_throws_with<ValueError>([&] { clip_grad_norm_(h.all(), 1.0, kInfNorm, true); }, {"clip_grad_norm_", "inf"});
}

TEST_CASE("clip_grad_norm_ and clip_grad_value_: argument errors") {
  Grads g;
  check_throws_with<ValueError>([&] { clip_grad_norm_(g.all(), -1.0); }, {"clip_grad_norm_", "max_norm -1", ">= 0"});
  check_throws_with<ValueError>([&] { clip_grad_norm_(g.all(), 1.0, 0.0); }, {"clip_grad_norm_", "norm_type 0", "> 0"});
  check_throws_with<ValueError>([&] { clip_grad_norm_(g.all(), 1.0, -2.0); }, {"clip_grad_norm_", "norm_type -2"});
  check_throws_with<ValueError>([&] { clip_grad_norm_({Tensor()}, 1.0); }, {"clip_grad_norm_", "undefined"});
  check_throws_with<ValueError>([&] { clip_grad_value_(g.all(), -0.5); }, {"clip_grad_value_", "clip_value -0.5", ">= 0"});
  check_throws_with<ValueError>([&] { clip_grad_value_({Tensor()}, 1.0); }, {"clip_grad_value_", "undefined"});
  CHECK(g.a.grad().to_vector<double>() == Vec{3.0, 4.0});
}

TEST_CASE("clip_grad_value_: clamps every element into [-v, v]") {
  Grads g;
  clip_grad_value_(g.all(), 3.5);
  CHECK(g.a.grad().to_vector<double>() == Vec{3.0, 3.5});
  CHECK(g.b.grad().to_vector<double>() == Vec{0.0, -3.5});
  CHECK_FALSE(g.none.grad().defined());
  clip_grad_value_(g.all(), 0.0);
  CHECK(g.a.grad().to_vector<double>() == Vec{0.0, 0.0});
}

TEST_CASE("clip then step: SGD uses the clipped gradient") {
  Tensor w = param({0.0, 0.0});
  w.set_grad(from_vector(Vec{30.0, 40.0}, {2}, kFloat64));
  SGD opt({w}, SGDOptions(1.0));
  clip_grad_norm_({w}, 5.0);
  opt.step();
  const double c = 5.0 / (50.0 + 1e-6);
  check_close(w, {-30.0 * c, -40.0 * c});
}
