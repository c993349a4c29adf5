// ex06: deck 003's forward/backward example (inputs [2, 3], w1..w6, α = 0.05), against the slides'
// formulas in plain doubles and the slides' printed (rounded) values.
#include <xgrad/examples/worked/ex06_forward_backward.hpp>

#include "example_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace ex = xgrad::examples::ex06;

TEST_CASE("ex06: forward pass, Δ, gradients and updated weights (deck 003)") {
  const ex::Result r = ex::run();
  const double i1 = 2, i2 = 3, actual = 1, a = 0.05;
  const double w1 = 0.11, w2 = 0.21, w3 = 0.12, w4 = 0.08, w5 = 0.14, w6 = 0.15;
  const double h1 = i1 * w1 + i2 * w2, h2 = i1 * w3 + i2 * w4, pred = h1 * w5 + h2 * w6, delta = pred - actual;
  CHECK(close(r.h1, h1, 1e-15));
  CHECK(close(r.h2, h2, 1e-15));
  CHECK(close(r.prediction, pred, 1e-15));
  CHECK(close(r.delta, delta, 1e-15));
  CHECK(close(r.error, 0.5 * delta * delta, 1e-15));
  CHECK(rounds_to(r.h1, 0.85, 2));
  CHECK(rounds_to(r.h2, 0.48, 2));
  CHECK(rounds_to(r.prediction, 0.191, 3));
  CHECK(rounds_to(r.delta, -0.809, 3));

  // ∂Error/∂w6 = Δh2, ∂Error/∂w5 = Δh1, ∂Error/∂w4 = Δw6 i2, ∂Error/∂w3 = Δw6 i1, ∂Error/∂w2 = Δw5 i2,
  // ∂Error/∂w1 = Δw5 i1.
  const double grad[6] = {delta * w5 * i1, delta * w5 * i2, delta * w6 * i1, delta * w6 * i2, delta * h1, delta * h2};
  const double w[6] = {w1, w2, w3, w4, w5, w6};
  // The slides' α·∂Error/∂w ("-0.011, -0.017, -0.012, -0.018" and "-0.034, -0.019") and new weights.
  const double slide_step[6] = {-0.011, -0.017, -0.012, -0.018, -0.034, -0.019};
  const double slide_new[6] = {0.12, 0.23, 0.13, 0.10, 0.17, 0.17};
  for (int k = 0; k < 6; ++k) {
    INFO("w" << k + 1);
    CHECK(close(r.grad[static_cast<std::size_t>(k)], grad[k], 1e-15));
    CHECK(close(r.updated[static_cast<std::size_t>(k)], w[k] - a * grad[k], 1e-15));
    CHECK(rounds_to(a * r.grad[static_cast<std::size_t>(k)], slide_step[k], 3));
    CHECK(rounds_to(r.updated[static_cast<std::size_t>(k)], slide_new[k], 2));
  }

  // The matrix form gives the same numbers: W = [[w1, w3], [w2, w4]], v = [w5, w6]ᵀ.
  CHECK(close(r.prediction_matrix, pred, 1e-15));
  CHECK(close(r.h_matrix.at({0, 0}), h1, 1e-15));
  CHECK(close(r.h_matrix.at({0, 1}), h2, 1e-15));
  CHECK(close(r.W_updated.at({0, 0}), r.updated[0], 1e-15));
  CHECK(close(r.W_updated.at({1, 0}), r.updated[1], 1e-15));
  CHECK(close(r.W_updated.at({0, 1}), r.updated[2], 1e-15));
  CHECK(close(r.W_updated.at({1, 1}), r.updated[3], 1e-15));
  CHECK(close(r.v_updated.at({0, 0}), r.updated[4], 1e-15));
  CHECK(close(r.v_updated.at({1, 0}), r.updated[5], 1e-15));
}

TEST_CASE("ex06: the explanation writes the slides' chain rule for w1 and w6") {
  const ex::Result r = ex::run();
  // ∂Error/∂w1 = ∂Error/∂prediction · ∂prediction/∂h1 · ∂h1/∂w1 = Δ · w5 · i1 = (-0.809)(0.14)(2).
  check_has(r.explanation, {"∂Error/∂prediction = -0.809", "∂Error/∂h1 = ∂Error/∂prediction · ∂prediction/∂h1",
                            "∂Error/∂w1 = ∂Error/∂prediction · ∂prediction/∂h1 · ∂h1/∂w1", "= (-0.809) · (0.14) · (2) = -0.2265",
                            "∂Error/∂w6 = ∂Error/∂prediction · ∂prediction/∂w6", "= (-0.809) · (0.48) = -0.3883"});
  check_has(r.dot, {"{ prediction | data 0.191 | grad -0.809 }", "{ w1 | data 0.11 | grad -0.2265 }"});
}
