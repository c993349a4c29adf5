// ex08: deck 002's chain rule through a softmax output: every factor the slides name, computed by the
// slides' formula and checked against autograd, and the slides' shortcut compared with the full
// gradient. Run: ./build/examples/ex08_softmax_chain [--out DIR]   (writes ex08_graph.dot/.svg/.png)
#include <fmt/format.h>

#include "worked/ex08_softmax_chain.hpp"

using namespace xgrad;
using namespace xgrad::examples;
namespace ex = xgrad::examples::ex08;

namespace {

std::string v3(const ex::Vec3& v, int digits = 6) { return fmt::format("[{}, {}, {}]", num(v[0], digits), num(v[1], digits), num(v[2], digits)); }

std::string m3(const ex::Mat3& m, int digits = 6) {
  return fmt::format("[{}, {}, {}]", v3(m[0], digits), v3(m[1], digits), v3(m[2], digits));
}

double max_diff(const ex::Vec3& a, const ex::Vec3& b) {
  double d = 0;
  for (int i = 0; i < 3; ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

double max_diff(const ex::Mat3& a, const ex::Mat3& b) {
  double d = 0;
  for (int i = 0; i < 3; ++i) d = std::max(d, max_diff(a[i], b[i]));
  return d;
}

void check(double diff) {
  fmt::print("    check against autograd: max |difference| = {:.2e}  {}\n", diff, diff < 1e-12 ? "OK" : "MISMATCH");
}

}  // namespace

int main(int argc, char** argv) {
  const auto out_dir = output_dir(argc, argv);
  const ex::Result r = ex::run();

  heading("Network and weights (deck 002's structure; the deck gives no numbers, these are chosen)");
  fmt::print("i = {}, target = [1, 0, 0]\n", v3(ex::kInput));
  fmt::print("W_ij = {}, b_j = {}\n", m3(ex::kWij), v3(ex::kBj));
  fmt::print("W_jk = {}, b_k = {}\n", m3(ex::kWjk), v3(ex::kBk));
  fmt::print("W_kl = {}, b_l = {}\n", m3(ex::kWkl), v3(ex::kBl));

  heading("Forward pass");
  fmt::print("h1_in  = i·W_ij + b_j     = {}\n", v3(r.h1_in));
  fmt::print("h1_out = max(0, h1_in)    = {}   (the third ReLU is off)\n", v3(r.h1_out));
  fmt::print("h2_in  = h1_out·W_jk + b_k = {}\n", v3(r.h2_in));
  fmt::print("h2_out = σ(h2_in)         = {}\n", v3(r.h2_out));
  fmt::print("O_in   = h2_out·W_kl + b_l = {}\n", v3(r.O_in));
  fmt::print("O_out  = softmax(O_in)    = {}\n", v3(r.O_out));
  fmt::print("E = -1/3 Σ [y log O_out + (1 - y) log(1 - O_out)] = {}\n", num(r.E, 8));

  heading("The factors of ∂E_1/∂w_k1l1 = ∂E_1/∂O_out1 × ∂O_out1/∂O_in1 × ∂O_in1/∂w_k1l1, by the slides' formulas");
  fmt::print("∂E_i/∂O_out_i = -y_i/O_out_i + (1 - y_i)/(1 - O_out_i)     = {}\n", v3(r.dEi_dOi));
  fmt::print("  (the slide writes -((y/O) + (1 - y)/(1 - O)) = {}: a sign slip in the second term)\n", v3(r.dEi_dOi_slide));
  fmt::print("  E = 1/3 Σ E_i, so ∂E/∂O_out = 1/3 of these; autograd ∂E/∂O_out = {}\n", v3(r.ag_dE_dO));
  ex::Vec3 third{};
  for (int a = 0; a < 3; ++a) third[a] = r.dEi_dOi[a] / 3;
  check(max_diff(third, r.ag_dE_dO));
  fmt::print("∂O_out_i/∂O_in_i = e^x_i (Σ_(j≠i) e^x_j) / (Σ_j e^x_j)²      = {}\n", v3(r.softmax_diag));
  ex::Vec3 diag{};
  for (int a = 0; a < 3; ++a) diag[a] = r.ag_softmax_jacobian[a][a];
  check(max_diff(r.softmax_diag, diag));
  fmt::print("  the whole softmax Jacobian from autograd, [i][j] = ∂O_out_i/∂O_in_j:\n    {}\n", m3(r.ag_softmax_jacobian));
  fmt::print("  off the diagonal it is -O_out_i O_out_j, e.g. -O_out1 O_out2 = {}: the slides leave these out.\n",
             num(-r.O_out[0] * r.O_out[1], 6));
  fmt::print("∂O_in_j/∂w_(k l_j) = h2_out_k = {}\n", v3(r.h2_out));
  double d = 0;
  for (int j = 0; j < 3; ++j) d = std::max(d, max_diff(r.ag_dOin_dWkl_col[j], r.h2_out));
  check(d);

  heading("Output layer weights: the slides' δw_kl vs the gradient of E");
  fmt::print("Slides: δw_kl[k][j] = ∂E_j/∂O_out_j × ∂O_out_j/∂O_in_j × h2_out_k =\n    {}\n", m3(r.slide_dW_kl));
  fmt::print("Autograd: ∂E/∂W_kl =\n    {}\n", m3(r.dW_kl));
  fmt::print("They differ: E = 1/3 Σ_i E_i, and w_(k l_j) reaches every E_i through O_in_j -> O_out_i. The full chain is\n"
             "  ∂E/∂w_(k l_j) = h2_out_k × Σ_i ∂E/∂O_out_i × ∂O_out_i/∂O_in_j = h2_out_k × (∂E/∂O_in)_j,\n");
  ex::Mat3 full{};
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int a = 0; a < 3; ++a) s += r.dEi_dOi[a] / 3 * r.ag_softmax_jacobian[a][j];
      full[k][j] = r.h2_out[k] * s;
    }
  fmt::print("  computed from the factors above = \n    {}\n", m3(full));
  check(max_diff(full, r.dW_kl));
  fmt::print("Update w' = w - α ∂E/∂w with α = {}: W_kl' = {}\n", ex::kAlpha, m3(r.W_kl_updated));

  heading("Hidden layer 2 (sigmoid): ∂E/∂W_jk = ∂E/∂h2_out × ∂h2_out/∂h2_in × ∂h2_in/∂W_jk");
  fmt::print("Slides: ∂E_total/∂h2_out_k = Σ_j ∂E_j/∂O_out_j × ∂O_out_j/∂O_in_j × W_kl[k][j] = {}\n", v3(r.slide_dE_dh2));
  fmt::print("Autograd: ∂E/∂h2_out = W_kl · ∂E/∂O_in = {}   (again: 1/3 and the off-diagonal terms)\n", v3(r.ag_dE_dh2));
  fmt::print("∂h2_out/∂h2_in = σ(h2_in)(1 - σ(h2_in)) = {}\n", v3(r.sigmoid_diag));
  check(max_diff(r.sigmoid_diag, r.ag_sigmoid_diag));
  fmt::print("∂h2_in_m/∂W_jk[n][m] = h1_out_n = {}\n", v3(r.h1_out));
  ex::Mat3 djk{};
  for (int n = 0; n < 3; ++n)
    for (int m = 0; m < 3; ++m) djk[n][m] = r.h1_out[n] * r.ag_dE_dh2[m] * r.sigmoid_diag[m];
  fmt::print("∂E/∂W_jk[n][m] = h1_out_n × ∂E/∂h2_out_m × σ'_m = {}\n", m3(djk));
  fmt::print("Autograd: ∂E/∂W_jk = {}\n", m3(r.dW_jk));
  check(max_diff(djk, r.dW_jk));

  heading("Hidden layer 1 (ReLU), where the slides stop ('...')");
  fmt::print("∂E/∂h1_out = W_jk · (∂E/∂h2_out ⊙ σ') = {}\n", v3(r.ag_dE_dh1));
  fmt::print("∂h1_out/∂h1_in = 1 where h1_in > 0, else 0 = {}\n", v3(r.relu_diag));
  check(max_diff(r.relu_diag, r.ag_relu_diag));
  ex::Mat3 dij{};
  for (int a = 0; a < 3; ++a)
    for (int n = 0; n < 3; ++n) dij[a][n] = ex::kInput[a] * r.ag_dE_dh1[n] * r.relu_diag[n];
  fmt::print("∂E/∂W_ij[a][n] = i_a × ∂E/∂h1_out_n × relu'_n = {}\n", m3(dij));
  fmt::print("Autograd: ∂E/∂W_ij = {}   (column 3 is 0: that ReLU is off)\n", m3(r.dW_ij));
  check(max_diff(dij, r.dW_ij));

  heading("Autograd's account of the backward pass (autograd::explain)");
  fmt::print("{}\n", r.explanation);
  render_dot(r.dot, out_dir / "ex08_graph");
  return 0;
}
