// ex05: deck 000's one-hidden-layer linear network: forward, gradients and one update, against the
// slides' formulas evaluated with plain doubles, and the slides' printed values.
#include <xgrad/examples/worked/ex05_linear_network.hpp>

#include "example_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace ex = xgrad::examples::ex05;

TEST_CASE("ex05: forward, gradients and the update match the slides' formulas and numbers (deck 000)") {
  const ex::Result r = ex::one_step();
  const double x[2] = {1, 2};
  const double W1[3][2] = {{0.5, 0.2}, {0.3, 0.8}, {0.6, 0.4}}, b1[3] = {0.1, 0.1, 0.1};
  const double W2[3] = {0.4, 0.3, 0.2}, b2 = 0.1, y = 1, eta = 0.1;
  // Forward by hand: z1 = W1 x + b1, a1 = z1, a2 = W2 a1 + b2.
  double a1[3], a2 = b2;
  for (int j = 0; j < 3; ++j) {
    a1[j] = W1[j][0] * x[0] + W1[j][1] * x[1] + b1[j];
    a2 += W2[j] * a1[j];
  }
  const double slide_a1[3] = {1.0, 2.0, 1.5};
  for (int j = 0; j < 3; ++j) {
    CHECK(close(r.a1.at({j}), a1[j], 1e-15));
    CHECK(rounds_to(r.a1.at({j}), slide_a1[j], 1));
  }
  CHECK(close(r.a2.at({0}), a2, 1e-15));
  CHECK(rounds_to(r.a2.at({0}), 1.4, 1));
  CHECK(close(r.loss, 0.5 * (a2 - y) * (a2 - y), 1e-15));

  // Gradients by the slides' formulas: ∂L/∂W2 = (a2 - y) a1ᵀ, ∂L/∂b2 = a2 - y,
  // ∂L/∂W1 = (a2 - y) W2ᵀ xᵀ, ∂L/∂b1 = (a2 - y) W2ᵀ.
  const double d = a2 - y;
  const double slide_dW2[3] = {0.4, 0.8, 0.6}, slide_dW1[3][2] = {{0.16, 0.32}, {0.12, 0.24}, {0.08, 0.16}};
  const double slide_db1[3] = {0.16, 0.12, 0.08};
  CHECK(close(r.db2.at({0}), d, 1e-15));
  CHECK(rounds_to(r.db2.at({0}), 0.4, 1));
  for (int j = 0; j < 3; ++j) {
    CHECK(close(r.dW2.at({0, j}), d * a1[j], 1e-15));
    CHECK(rounds_to(r.dW2.at({0, j}), slide_dW2[j], 1));
    CHECK(close(r.db1.at({j}), d * W2[j], 1e-15));
    CHECK(rounds_to(r.db1.at({j}), slide_db1[j], 2));
    for (int k = 0; k < 2; ++k) {
      CHECK(close(r.dW1.at({j, k}), d * W2[j] * x[k], 1e-15));
      CHECK(rounds_to(r.dW1.at({j, k}), slide_dW1[j][k], 2));
    }
  }

  // One step p <- p - η ∂L/∂p.
  const double slide_W2[3] = {0.36, 0.22, 0.14}, slide_b1[3] = {0.084, 0.088, 0.092};
  const double slide_W1[3][2] = {{0.484, 0.168}, {0.288, 0.776}, {0.592, 0.384}};
  CHECK(close(r.b2.at({0}), b2 - eta * d, 1e-15));
  CHECK(rounds_to(r.b2.at({0}), 0.06, 2));
  for (int j = 0; j < 3; ++j) {
    CHECK(close(r.W2.at({0, j}), W2[j] - eta * d * a1[j], 1e-15));
    CHECK(rounds_to(r.W2.at({0, j}), slide_W2[j], 2));
    CHECK(close(r.b1.at({j}), b1[j] - eta * d * W2[j], 1e-15));
    CHECK(rounds_to(r.b1.at({j}), slide_b1[j], 3));
    for (int k = 0; k < 2; ++k) {
      CHECK(close(r.W1.at({j, k}), W1[j][k] - eta * d * W2[j] * x[k], 1e-15));
      CHECK(rounds_to(r.W1.at({j, k}), slide_W1[j][k], 3));
    }
  }
}

TEST_CASE("ex05: the explanation and the picture name the slides' quantities") {
  const ex::Result r = ex::one_step();
  check_has(r.explanation, {"[1] L = mul(square#2)", "a2 = linear(a1, W2, b2), shape (1,)", "a1 = linear(const, W1, b1), shape (3,)",
                            "∂L/∂a2 = [0.4]", "∂L/∂a1 = ∂L/∂a2 · ∂a2/∂a1", "[0.16, 0.12, 0.08]",
                            "∂L/∂W1 = ∂L/∂a2 · ∂a2/∂a1 · ∂a1/∂W1", "[[0.16, 0.32], [0.12, 0.24], [0.08, 0.16]]",
                            "∂L/∂W2 = ∂L/∂a2 · ∂a2/∂W2", "[[0.4, 0.8, 0.6]]"});
  check_has(r.dot, {"digraph xgrad", "{ W1 | shape (3, 2) | data [[0.5, 0.2], [0.3, 0.8], [0.6, 0.4]] | grad [[0.16, 0.32], [0.12, 0.24], [0.08, 0.16]] }",
                    "{ a2 | shape (1,) | data [1.4] | grad [0.4] }", "{ L | shape (1,) | data [0.08] | grad [1] }",
                    "label=\"linear\""});
}
