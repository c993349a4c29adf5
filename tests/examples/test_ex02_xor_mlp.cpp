// ex02: deck 003's hand-set XOR network (values by hand with plain doubles) and a trained one.
#include <xgrad/examples/worked/ex02_xor_mlp.hpp>

#include "example_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace ex = xgrad::examples::ex02;

TEST_CASE("ex02: the hand-set network of deck 003 computes XOR (σ(±10) ≈ 0/1 as on the slide)") {
  const ex::HandSet h = ex::hand_set();
  const double x[4][2] = {{0, 0}, {1, 1}, {0, 1}, {1, 0}};  // the slide's order
  const double xor_y[4] = {0, 0, 1, 1};
  for (std::int64_t i = 0; i < 4; ++i) {
    const double x1 = x[i][0], x2 = x[i][1];
    const double h1 = sigma(20 * x1 + 20 * x2 - 10), h2 = sigma(-20 * x1 - 20 * x2 + 30);
    const double out = sigma(20 * h1 + 20 * h2 - 30);
    CHECK(h.x.at({i, 0}) == x1);
    CHECK(h.z_hidden.at({i, 0}) == 20 * x1 + 20 * x2 - 10);
    CHECK(close(h.hidden.at({i, 0}), h1, 1e-15));
    CHECK(close(h.hidden.at({i, 1}), h2, 1e-15));
    CHECK(close(h.z_out.at({i, 0}), 20 * h1 + 20 * h2 - 30, 1e-14));
    CHECK(close(h.out.at({i, 0}), out, 1e-14));
    // The slide's "≈ 0" / "≈ 1": within 1e-4 of the truth (σ(-10) = 4.54e-5).
    CHECK(std::abs(h.out.at({i, 0}) - xor_y[i]) < 1e-4);
    CHECK(std::abs(h.hidden.at({i, 0}) - ((x1 + x2 > 0) ? 1.0 : 0.0)) < 1e-4);   // OR
    CHECK(std::abs(h.hidden.at({i, 1}) - ((x1 + x2 < 2) ? 1.0 : 0.0)) < 1e-4);   // NAND
  }
}

TEST_CASE("ex02: backpropagation trains a 2-3-1 sigmoid network to XOR from random weights") {
  const ex::Trained t = ex::train();
  const double xor_y[4] = {0, 0, 1, 1};
  for (std::int64_t i = 0; i < 4; ++i) {
    INFO("sample " << i << " out " << t.out.at({i, 0}));
    CHECK(std::abs(t.out.at({i, 0}) - xor_y[i]) < 0.1);
  }
  REQUIRE(t.loss_log.size() >= 2);
  CHECK(t.loss_log.back().second < 0.01);
  CHECK(t.loss_log.back().second < t.loss_log.front().second);
  // Recompute the outputs from the learned parameters with plain doubles.
  const double x[4][2] = {{0, 0}, {1, 1}, {0, 1}, {1, 0}};
  for (std::int64_t i = 0; i < 4; ++i) {
    double z = t.b2.at({0});
    for (std::int64_t k = 0; k < ex::kHidden; ++k)
      z += t.w2.at({0, k}) * sigma(t.w1.at({k, 0}) * x[i][0] + t.w1.at({k, 1}) * x[i][1] + t.b1.at({k}));
    CHECK(close(t.out.at({i, 0}), sigma(z), 1e-13));
  }
}
