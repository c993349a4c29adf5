// ex08: deck 002's ReLU -> sigmoid -> softmax network with the deck's cross-entropy. Expected values: a
// plain-double forward and backward written here from the definitions (full softmax Jacobian).
#include <array>

#include <xgrad/examples/worked/ex08_softmax_chain.hpp>

#include "example_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace ex = xgrad::examples::ex08;

namespace {

using V = std::array<double, 3>;
using M = std::array<V, 3>;

V row_times(const V& v, const M& m, const V& b) {  // v·m + b
  V out{};
  for (int j = 0; j < 3; ++j) {
    out[j] = b[j];
    for (int k = 0; k < 3; ++k) out[j] += v[k] * m[k][j];
  }
  return out;
}

struct Hand {
  V h1_in, h1_out, h2_in, h2_out, O_in, O;
  double E;
  V dE_dO, dE_dOin, dE_dh2, dE_dh2in, dE_dh1, dE_dh1in;
  M J, dW_kl, dW_jk, dW_ij;
};

Hand hand() {
  const V i = {0.1, 0.2, 0.7}, y = {1, 0, 0};
  const M Wij = {{{0.1, 0.2, 0.3}, {0.3, 0.2, 0.7}, {0.4, 0.3, 0.9}}}, Wjk = {{{0.2, 0.3, 0.5}, {0.3, 0.5, 0.7}, {0.6, 0.4, 0.8}}};
  const M Wkl = {{{0.1, 0.4, 0.8}, {0.3, 0.7, 0.2}, {0.5, 0.2, 0.9}}};
  Hand h{};
  h.h1_in = row_times(i, Wij, {1, 1, -1});
  for (int a = 0; a < 3; ++a) h.h1_out[a] = std::max(0.0, h.h1_in[a]);
  h.h2_in = row_times(h.h1_out, Wjk, {1, 1, 1});
  for (int a = 0; a < 3; ++a) h.h2_out[a] = sigma(h.h2_in[a]);
  h.O_in = row_times(h.h2_out, Wkl, {1, 1, 1});
  const double s = std::exp(h.O_in[0]) + std::exp(h.O_in[1]) + std::exp(h.O_in[2]);
  for (int a = 0; a < 3; ++a) h.O[a] = std::exp(h.O_in[a]) / s;
  h.E = 0;
  for (int a = 0; a < 3; ++a) h.E -= (y[a] * std::log(h.O[a]) + (1 - y[a]) * std::log(1 - h.O[a])) / 3;
  // Backward: ∂E/∂O_a = (-y_a/O_a + (1 - y_a)/(1 - O_a))/3; J[a][j] = O_a(δ_aj - O_j).
  for (int a = 0; a < 3; ++a) {
    h.dE_dO[a] = (-y[a] / h.O[a] + (1 - y[a]) / (1 - h.O[a])) / 3;
    for (int j = 0; j < 3; ++j) h.J[a][j] = h.O[a] * ((a == j ? 1.0 : 0.0) - h.O[j]);
  }
  for (int j = 0; j < 3; ++j) {
    h.dE_dOin[j] = 0;
    for (int a = 0; a < 3; ++a) h.dE_dOin[j] += h.dE_dO[a] * h.J[a][j];
  }
  for (int k = 0; k < 3; ++k) {
    h.dE_dh2[k] = 0;
    for (int j = 0; j < 3; ++j) {
      h.dW_kl[k][j] = h.h2_out[k] * h.dE_dOin[j];
      h.dE_dh2[k] += Wkl[k][j] * h.dE_dOin[j];
    }
    h.dE_dh2in[k] = h.dE_dh2[k] * h.h2_out[k] * (1 - h.h2_out[k]);
  }
  for (int n = 0; n < 3; ++n) {
    h.dE_dh1[n] = 0;
    for (int m = 0; m < 3; ++m) {
      h.dW_jk[n][m] = h.h1_out[n] * h.dE_dh2in[m];
      h.dE_dh1[n] += Wjk[n][m] * h.dE_dh2in[m];
    }
    h.dE_dh1in[n] = h.h1_in[n] > 0 ? h.dE_dh1[n] : 0.0;
  }
  for (int a = 0; a < 3; ++a)
    for (int n = 0; n < 3; ++n) h.dW_ij[a][n] = i[a] * h.dE_dh1in[n];
  return h;
}

void check_vec(const V& got, const V& want, double tol = 1e-13) {
  for (int a = 0; a < 3; ++a) CHECK(close(got[a], want[a], tol));
}
void check_mat(const M& got, const M& want, double tol = 1e-13) {
  for (int a = 0; a < 3; ++a) check_vec(got[a], want[a], tol);
}

}  // namespace

TEST_CASE("ex08: forward pass and every gradient equal a plain-double computation with the full softmax Jacobian") {
  const ex::Result r = ex::run();
  const Hand h = hand();
  check_vec(r.h1_in, h.h1_in);
  check_vec(r.h1_out, h.h1_out);
  CHECK(r.h1_out[2] == 0.0);  // the third ReLU is off (h1_in = 0.8 - 1 = -0.2)
  check_vec(r.h2_out, h.h2_out);
  check_vec(r.O_in, h.O_in);
  check_vec(r.O_out, h.O);
  CHECK(close(r.E, h.E));
  check_vec(r.ag_dE_dO, h.dE_dO);
  check_mat(r.ag_softmax_jacobian, h.J);
  check_vec(r.ag_dE_dOin, h.dE_dOin);
  check_vec(r.ag_dE_dh2, h.dE_dh2);
  check_vec(r.ag_dE_dh1, h.dE_dh1);
  check_mat(r.dW_kl, h.dW_kl);
  check_mat(r.dW_jk, h.dW_jk);
  check_mat(r.dW_ij, h.dW_ij);
  check_vec(r.db_l, h.dE_dOin);
  check_vec(r.db_k, h.dE_dh2in);
  check_vec(r.db_j, h.dE_dh1in);
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 3; ++j) CHECK(close(r.W_kl_updated[k][j], ex::kWkl[k][j] - 0.1 * h.dW_kl[k][j]));
}

TEST_CASE("ex08: the slides' factors agree with autograd, their shortcut product does not give ∂E/∂W") {
  const ex::Result r = ex::run();
  const Hand h = hand();
  for (int a = 0; a < 3; ++a) {
    // ∂E_a/∂O_a (one output's term) is 3 ∂E/∂O_a; the slide's printed form flips the sign of the
    // (1 - y)/(1 - O) term, which matters for the outputs with y = 0.
    CHECK(close(r.dEi_dOi[a], 3 * h.dE_dO[a]));
    CHECK(close(r.softmax_diag[a], h.J[a][a]));
    CHECK(close(r.ag_softmax_jacobian[a][a], r.softmax_diag[a]));
    CHECK(close(r.sigmoid_diag[a], r.ag_sigmoid_diag[a]));
    CHECK(r.relu_diag[a] == r.ag_relu_diag[a]);
    check_vec(r.ag_dOin_dWkl_col[a], h.h2_out);
  }
  CHECK(r.dEi_dOi_slide[0] == r.dEi_dOi[0]);  // y = 1: the sign slip has no effect
  CHECK_FALSE(close(r.dEi_dOi_slide[1], r.dEi_dOi[1], 1e-3));
  // The diagonal-only product with E_j differs from the gradient of E (by the 1/3 and the cross terms).
  double max_gap = 0;
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 3; ++j) max_gap = std::max(max_gap, std::abs(r.slide_dW_kl[k][j] - h.dW_kl[k][j]));
  CHECK(max_gap > 1e-2);
  // With the cross terms and the 1/3 it is the gradient.
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 3; ++j) {
      double full = 0;
      for (int a = 0; a < 3; ++a) full += r.dEi_dOi[a] / 3 * (a == j ? r.softmax_diag[a] : -r.O_out[a] * r.O_out[j]);
      CHECK(close(r.h2_out[k] * full, r.dW_kl[k][j]));
    }
}

TEST_CASE("ex08: the explanation lists the layers with their element-wise derivatives") {
  const ex::Result r = ex::run();
  check_has(r.explanation, {"O_out = softmax(O_in), shape (1, 3)", "h2_out = sigmoid(h2_in), shape (1, 3)",
                            "h1_out = relu(h1_in), shape (1, 3)", "∂E/∂W_kl = ∂E/∂O_out · ∂O_out/∂O_in · ∂O_in/∂W_kl",
                            "∂E/∂W_ij = ∂E/∂O_out · ∂O_out/∂O_in · ∂O_in/∂h2_out · ∂h2_out/∂h2_in · ∂h2_in/∂h1_out · "
                            "∂h1_out/∂h1_in · ∂h1_in/∂W_ij"});
  check_has(r.dot, {"digraph xgrad", "{ W_kl | shape (3, 3) | data \\<shape (3, 3)\\> | grad \\<shape (3, 3)\\> }", "label=\"softmax\""});
}
