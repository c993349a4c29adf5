// Initializers: gains, fans, bounds (exact), mean/std over large tensors, reproducibility.
#include <algorithm>
#include <cmath>

#include "nn_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using namespace xgrad::nn;

namespace {

struct Stats {
  double mean = 0, std = 0, lo = 0, hi = 0;
};

Stats stats_of(const Tensor& t) {
  const auto v = t.to_vector<double>();
  Stats s;
  s.lo = *std::min_element(v.begin(), v.end());
  s.hi = *std::max_element(v.begin(), v.end());
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(v.size()));
  return s;
}

/// A (out=400, in=600) weight that requires grad, like a parameter.
Tensor weight(Dtype dtype = kFloat64) { return zeros({400, 600}, dtype).requires_grad_(); }

void check_uniform(const Tensor& t, double bound) {
  const Stats s = stats_of(t);
  CHECK(s.lo >= -bound);
  CHECK(s.hi <= bound);
  CHECK(s.lo < -0.999 * bound);
  CHECK(s.hi > 0.999 * bound);
  CHECK(std::abs(s.mean) < 0.01 * bound);
  CHECK(s.std == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.01));
}

void check_normal(const Tensor& t, double sigma) {
  const Stats s = stats_of(t);
  CHECK(std::abs(s.mean) < 0.01 * sigma);
  CHECK(s.std == doctest::Approx(sigma).epsilon(0.01));
}

}  // namespace

TEST_CASE("init::calculate_gain") {
  using init::Nonlinearity;
  CHECK(init::calculate_gain(Nonlinearity::linear) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::sigmoid) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::tanh) == doctest::Approx(5.0 / 3.0));
  CHECK(init::calculate_gain(Nonlinearity::relu) == doctest::Approx(1.4142135623730951));
  CHECK(init::calculate_gain(Nonlinearity::leaky_relu) == doctest::Approx(std::sqrt(2.0 / 1.0001)));
  CHECK(init::calculate_gain(Nonlinearity::leaky_relu, 0.2) == doctest::Approx(std::sqrt(2.0 / 1.04)));
  CHECK(init::calculate_gain(Nonlinearity::selu) == 0.75);
}

TEST_CASE("init::calculate_fans") {
  const auto f = init::calculate_fans(zeros({3, 5}));
  CHECK(f.fan_in == 5);
  CHECK(f.fan_out == 3);
  const auto conv = init::calculate_fans(zeros({8, 3, 5, 5}));
  CHECK(conv.fan_in == 75);
  CHECK(conv.fan_out == 200);
  check_throws_with<ShapeError>([] { init::calculate_fans(zeros({7})); }, {"calculate_fans", "at least 2 dimensions", "(7,)"});
  check_throws_with<ShapeError>([] { init::xavier_uniform_(zeros({})); }, {"xavier_uniform_", "()"});
  check_throws_with<ShapeError>([] { init::kaiming_normal_(zeros({4})); }, {"kaiming_normal_", "(4,)"});
  check_throws_with<ShapeError>([] { init::lecun_uniform_(zeros({4})); }, {"lecun_uniform_", "(4,)"});
}

TEST_CASE("init: uniform_, normal_, constant_, zeros_, ones_ fill in place without recording") {
  Tensor w = weight();
  const Tensor same = init::uniform_(w, -0.5, 2.0);
  CHECK(same.is_same(w));
  CHECK(w.is_leaf());
  CHECK(w.requires_grad());
  const Stats u = stats_of(w);
  CHECK(u.lo >= -0.5);
  CHECK(u.hi <= 2.0);
  CHECK(u.mean == doctest::Approx(0.75).epsilon(0.01));
  CHECK(u.std == doctest::Approx(2.5 / std::sqrt(12.0)).epsilon(0.01));
  init::normal_(w, 3.0, 0.5);
  const Stats n = stats_of(w);
  CHECK(n.mean == doctest::Approx(3.0).epsilon(0.002));
  CHECK(n.std == doctest::Approx(0.5).epsilon(0.01));
  init::constant_(w, 2.5);
  CHECK(stats_of(w).lo == 2.5);
  CHECK(stats_of(w).hi == 2.5);
  init::zeros_(w);
  CHECK(stats_of(w).hi == 0.0);
  init::ones_(w);
  CHECK(stats_of(w).lo == 1.0);
  const std::uint32_t v = w.version();
  init::zeros_(w);
  CHECK(w.version() > v);  // in-place: the version counter moves (saved-tensor checks see it)
  check_throws_with<ValueError>([&] { init::uniform_(w, 1, 0); }, {"uniform_", "a=1", "b=0"});
  check_throws_with<ValueError>([&] { init::normal_(w, 0, -1); }, {"normal_", "-1"});
  check_throws_with<DtypeError>([] { init::normal_(tensor_int({1, 2})); }, {"normal_", "int64"});
  check_throws_with<ValueError>([] { init::zeros_(Tensor()); }, {"zeros_", "undefined"});
}

TEST_CASE("init: Xavier/Glorot") {
  Tensor w = weight();
  init::xavier_uniform_(w);
  check_uniform(w, std::sqrt(6.0 / 1000.0));
  init::glorot_uniform_(w, 2.0);
  check_uniform(w, 2.0 * std::sqrt(6.0 / 1000.0));
  init::xavier_normal_(w);
  check_normal(w, std::sqrt(2.0 / 1000.0));
  init::glorot_normal_(w, init::calculate_gain(init::Nonlinearity::tanh));
  check_normal(w, 5.0 / 3.0 * std::sqrt(2.0 / 1000.0));
}

TEST_CASE("init: Kaiming/He") {
  using init::FanMode;
  using init::Nonlinearity;
  Tensor w = weight();
  init::kaiming_uniform_(w);  // a = 0, leaky_relu: gain √2, b = √(6/fan_in)
  check_uniform(w, std::sqrt(6.0 / 600.0));
  init::kaiming_uniform_(w, 0.0, FanMode::fan_out, Nonlinearity::relu);
  check_uniform(w, std::sqrt(6.0 / 400.0));
  init::kaiming_uniform_(w, std::sqrt(5.0));  // Linear's default: 1/√fan_in
  check_uniform(w, 1.0 / std::sqrt(600.0));
  init::kaiming_normal_(w);
  check_normal(w, std::sqrt(2.0 / 600.0));
  init::kaiming_normal_(w, 0.0, FanMode::fan_out, Nonlinearity::tanh);
  check_normal(w, 5.0 / 3.0 / std::sqrt(400.0));
  init::he_uniform_(w);
  check_uniform(w, std::sqrt(6.0 / 600.0));
  init::he_normal_(w);
  check_normal(w, std::sqrt(2.0 / 600.0));
}

TEST_CASE("init: LeCun") {
  Tensor w = weight();
  init::lecun_uniform_(w);
  check_uniform(w, std::sqrt(3.0 / 600.0));
  init::lecun_normal_(w);
  check_normal(w, std::sqrt(1.0 / 600.0));
}

TEST_CASE("init: float32 tensors, exact bounds, reproducible from manual_seed") {
  Tensor a = weight(kFloat32), b = weight(kFloat32);
  manual_seed(77);
  init::xavier_uniform_(a);
  manual_seed(77);
  init::xavier_uniform_(b);
  CHECK(allclose(a, b, 0, 0));
  const double bound = std::sqrt(6.0 / 1000.0);
  const Stats s = stats_of(a);
  CHECK(s.lo >= -static_cast<double>(static_cast<float>(bound)));
  CHECK(s.hi <= static_cast<double>(static_cast<float>(bound)));
  init::kaiming_normal_(a);
  CHECK_FALSE(allclose(a, b));
}
