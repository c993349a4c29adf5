// ex07: deck 004's backpropagation example. Three checks: the float64 computation against the same
// formulas evaluated by hand with plain doubles; the slides' own arithmetic (on their rounded numbers)
// against every printed value, to the printed precision; and which exact values agree with the slides.
#include <xgrad/examples/worked/ex07_odd_even.hpp>

#include "example_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace ex = xgrad::examples::ex07;

TEST_CASE("ex07: float64 forward, gradients and updates equal a hand computation") {
  const ex::Exact e = ex::exact();
  const double x1 = 2, x2 = 9, b1 = 0.1, b2 = 0.2, lr = 0.1;
  const double w[10] = {0, 0.2, 0.6, 0.1, 0.8, 0.3, 0.7, 0.4, 0.5, 0.9};  // w[1]..w[9]
  const double z1 = w[1] * x1 + w[4] * x2 + b1, z2 = w[2] * x1 + w[5] * x2 + b1, z3 = w[3] * x1 + w[6] * x2 + b1;
  const double a1 = sigma(z1), a2 = sigma(z2), a3 = sigma(z3);
  const double z = a1 * w[7] + a2 * w[8] + a3 * w[9] + b2, out = sigma(z), E = 0.5 * (1 - out) * (1 - out);
  CHECK(close(e.z1, 7.7, 1e-15));
  CHECK(close(e.a1, a1, 1e-15));
  CHECK(close(e.a2, a2, 1e-15));
  CHECK(close(e.a3, a3, 1e-15));
  CHECK(close(e.z, z, 1e-15));
  CHECK(close(e.out, out, 1e-15));
  CHECK(close(e.E, E, 1e-14));
  // Chain rule by hand.
  const double dE_dout = -(1 - out), dout_dz = out * (1 - out), dE_dz = dE_dout * dout_dz;
  CHECK(close(e.dE_dout, dE_dout, 1e-14));
  CHECK(close(e.dout_dz, dout_dz, 1e-14));
  CHECK(close(e.dE_dz, dE_dz, 1e-14));
  CHECK(close(e.dz_dw7, a1, 1e-15));
  CHECK(close(e.dz_da1, w[7], 1e-15));
  CHECK(close(e.da1_dz1, a1 * (1 - a1), 1e-15));
  CHECK(e.dz1_dw1 == x1);
  CHECK(close(e.dE_da1, dE_dz * w[7], 1e-14));
  const double grad[10] = {0,
                           dE_dz * w[7] * a1 * (1 - a1) * x1,
                           dE_dz * w[8] * a2 * (1 - a2) * x1,
                           dE_dz * w[9] * a3 * (1 - a3) * x1,
                           dE_dz * w[7] * a1 * (1 - a1) * x2,
                           dE_dz * w[8] * a2 * (1 - a2) * x2,
                           dE_dz * w[9] * a3 * (1 - a3) * x2,
                           dE_dz * a1,
                           dE_dz * a2,
                           dE_dz * a3};
  for (int k = 1; k <= 9; ++k) {
    INFO("w" << k);
    CHECK(close(e.grad[static_cast<std::size_t>(k - 1)], grad[k], 1e-13));
    CHECK(close(e.updated[static_cast<std::size_t>(k - 1)], w[k] - lr * grad[k], 1e-15));
  }
}

TEST_CASE("ex07: the slides' arithmetic on their rounded numbers reproduces every printed value") {
  const ex::Slide s = ex::slide();
  CHECK(rounds_to(s.a1, 0.9995, 4));
  CHECK(rounds_to(s.a2, 0.9820, 4));
  CHECK(rounds_to(s.a3, 0.9986, 4));
  CHECK(rounds_to(s.z, 1.9895, 4));
  CHECK(rounds_to(s.out, 0.8796, 4));
  CHECK(rounds_to(sigma(1.9895), 0.8797, 4));  // the slide truncates σ(1.9895) = 0.879690 to 0.8796
  CHECK(rounds_to(s.E, 0.00724808, 8));
  CHECK(rounds_to(s.dE_dout, -0.1204, 4));
  CHECK(rounds_to(s.dout_dz, 0.1059, 4));
  CHECK(rounds_to(s.dE_dw7, -0.0127, 4));
  CHECK(rounds_to(s.w7, 0.40127, 5));
  CHECK(rounds_to(s.dE_dz, -0.01275, 5));
  CHECK(rounds_to(s.dE_da1, -0.0051, 4));
  CHECK(rounds_to(s.da1_dz1, 0.00049975, 8));
  CHECK(rounds_to(s.dE_dw1, -5.097e-6, 9));
  CHECK(rounds_to(s.w1, 0.20000051, 8));
  CHECK(rounds_to(s.w8, 0.50125, 5));
  // The practice answers are printed with 11 decimals, truncated (not rounded).
  CHECK(std::abs(ex::truncate_to(s.w9, 11) - 0.90127325094) < 1e-13);
  CHECK(std::abs(ex::truncate_to(s.w2, 11) - 0.60002253753) < 1e-13);
  CHECK(std::abs(ex::truncate_to(s.w6, 11) - 0.70001443866) < 1e-13);
}

TEST_CASE("ex07: where float64 agrees with the slides and where their rounding shows") {
  const ex::Exact e = ex::exact();
  // Agree at the printed precision.
  CHECK(rounds_to(e.a1, 0.9995, 4));
  CHECK(rounds_to(e.a2, 0.9820, 4));
  CHECK(rounds_to(e.a3, 0.9986, 4));
  CHECK(rounds_to(e.grad[6], -0.0127, 4));
  CHECK(rounds_to(e.updated[6], 0.40127, 5));
  CHECK(rounds_to(e.dE_da1, -0.0051, 4));
  CHECK(rounds_to(e.updated[7], 0.50125, 5));
  // Differ: ŷ = 0.87970 (slide 0.8796), and everything computed from it, and ∂a1/∂z1 = a1(1 - a1)
  // = 0.000452 (slide 0.00049975 from a1 rounded to 0.9995).
  CHECK(rounds_to(e.out, 0.8797, 4));
  CHECK(rounds_to(e.z, 1.9896, 4));
  CHECK(rounds_to(e.E, 0.0072359, 7));
  CHECK(rounds_to(e.dE_dout, -0.1203, 4));
  CHECK(rounds_to(e.dout_dz, 0.1058, 4));
  CHECK(rounds_to(e.da1_dz1, 0.00045242, 8));
  CHECK(rounds_to(e.grad[0], -4.608e-6, 9));
  const ex::Slide s = ex::slide();
  std::vector<std::string> agree, differ;
  for (const ex::Row& row : ex::comparison(e, s)) {
    CHECK(rounds_to(row.recomputed, row.printed, row.decimals) == (row.decimals < 11));  // 11 decimals: truncated
    (rounds_to(row.exact, row.printed, row.decimals) ? agree : differ).push_back(row.quantity);
    CHECK(row.why.empty() == rounds_to(row.exact, row.printed, row.decimals));
  }
  CHECK(agree.size() == 10);
  CHECK(differ.size() == 12);
}

TEST_CASE("ex07: the explanation writes the slides' chains for w7 and w1") {
  const ex::Exact e = ex::exact();
  check_has(e.explanation, {"Backward pass of E", "[1] E = mul(square#2)", "a1 = sigmoid(z1)", "∂E/∂out = -0.1203",
                            "∂E/∂w7 = ∂E/∂out · ∂out/∂z · ∂z/∂w7", "= (-0.1203) · (0.1058) · (0.9995) = -0.01273",
                            "∂E/∂w1 = ∂E/∂out · ∂out/∂z · ∂z/∂a1 · ∂a1/∂z1 · ∂z1/∂w1",
                            "= (-0.1203) · (0.1058) · (0.4) · (0.0004524) · (2) = -4.608e-06"});
  check_has(e.dot, {"{ out | data 0.8797 | grad -0.1203 }", "{ w7 | data 0.4 | grad -0.01273 }", "label=\"sigmoid\""});
}
