#pragma once
// ex08: deck 002's "step by step backpropagation": a ReLU hidden layer, a sigmoid hidden layer and a
// softmax output of three units, target [1, 0, 0], error = the deck's cross-entropy
//   E = -1/3 Σ_i [y_i log O_out_i + (1 - y_i) log(1 - O_out_i)]   (= binary_cross_entropy, mean),
// with row vectors as on the slides: h1_in = i·W_ij + b_j, h1_out = relu(h1_in), h2_in = h1_out·W_jk + b_k,
// h2_out = σ(h2_in), O_in = h2_out·W_kl + b_l, O_out = softmax(O_in).
//
// The deck gives no numbers; the weights below are chosen for this example (the input and the
// matrices of a widely circulated version of this walk-through, with b_j3 = -1 so that the third ReLU
// is off and its derivative 0 shows up). Every chain-rule factor the slides name is computed by its
// formula and checked against autograd. Two things the check brings out:
// - the slide's ∂E_1/∂O_out1 = -((y_1/O_out1) + (1 - y_1)/(1 - O_out1)) has a sign slip: the derivative of
//   -(1 - y) log(1 - O) is +(1 - y)/(1 - O);
// - the slides' product ∂E_j/∂O_out_j · ∂O_out_j/∂O_in_j · h2_out_k for w_{k l_j} keeps only the diagonal of
//   the softmax Jacobian and one E_j: every O_out_i depends on every O_in_j (∂O_out_i/∂O_in_j = -O_i O_j
//   for i != j), so the full gradient of E = 1/3 Σ E_i is h2_out_k · Σ_i ∂E/∂O_out_i · ∂O_out_i/∂O_in_j.

#include <array>
#include <string>
#include <vector>

#include "walkthrough.hpp"

namespace xgrad::examples::ex08 {

using Vec3 = std::array<double, 3>;
using Mat3 = std::array<Vec3, 3>;

inline constexpr Vec3 kInput = {0.1, 0.2, 0.7};
inline constexpr Mat3 kWij = {{{0.1, 0.2, 0.3}, {0.3, 0.2, 0.7}, {0.4, 0.3, 0.9}}};
inline constexpr Vec3 kBj = {1.0, 1.0, -1.0};
inline constexpr Mat3 kWjk = {{{0.2, 0.3, 0.5}, {0.3, 0.5, 0.7}, {0.6, 0.4, 0.8}}};
inline constexpr Vec3 kBk = {1.0, 1.0, 1.0};
inline constexpr Mat3 kWkl = {{{0.1, 0.4, 0.8}, {0.3, 0.7, 0.2}, {0.5, 0.2, 0.9}}};
inline constexpr Vec3 kBl = {1.0, 1.0, 1.0};
inline constexpr Vec3 kTarget = {1.0, 0.0, 0.0};
inline constexpr double kAlpha = 0.1;

inline Vec3 vec3(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  return {v[0], v[1], v[2]};
}
inline Mat3 mat3(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  return {{{v[0], v[1], v[2]}, {v[3], v[4], v[5]}, {v[6], v[7], v[8]}}};
}
inline Tensor row_tensor(const Vec3& v) { return tensor({{v[0], v[1], v[2]}}, kFloat64); }
inline Tensor mat_tensor(const Mat3& m) {
  return tensor({{m[0][0], m[0][1], m[0][2]}, {m[1][0], m[1][1], m[1][2]}, {m[2][0], m[2][1], m[2][2]}}, kFloat64);
}

struct Result {
  // forward
  Vec3 h1_in, h1_out, h2_in, h2_out, O_in, O_out;
  double E;
  // the slides' factors, computed by their formulas from the forward values
  Vec3 dEi_dOi;         // ∂E_i/∂O_out_i = -y_i/O_i + (1 - y_i)/(1 - O_i)  (E_i: output i's term)
  Vec3 dEi_dOi_slide;   // the same with the slide's sign: -(y_i/O_i + (1 - y_i)/(1 - O_i))
  Vec3 softmax_diag;    // e^{x_i} Σ_{j≠i} e^{x_j} / (Σ_j e^{x_j})²
  Mat3 slide_dW_kl;     // the slides' δw_kl[k][j] = ∂E_j/∂O_out_j · ∂O_out_j/∂O_in_j · h2_out_k
  Vec3 slide_dE_dh2;    // the slides' ∂E_total/∂h2_out_k = Σ_j ∂E_j/∂O_out_j · ∂O_out_j/∂O_in_j · W_kl[k][j]
  Vec3 sigmoid_diag;    // h2_out (1 - h2_out)
  Vec3 relu_diag;       // 1 where h1_in > 0, else 0
  // autograd
  Vec3 ag_dE_dO;        // ∂E/∂O_out
  Mat3 ag_softmax_jacobian;  // [i][j] = ∂O_out_i/∂O_in_j
  Mat3 ag_dOin_dWkl_col;     // [j] = column j of ∂O_in_j/∂W_kl (= h2_out), as a row
  Vec3 ag_sigmoid_diag;      // ∂h2_out/∂h2_in (element-wise)
  Vec3 ag_relu_diag;         // ∂h1_out/∂h1_in (element-wise)
  Vec3 ag_dE_dOin, ag_dE_dh2, ag_dE_dh1;
  Mat3 dW_kl, dW_jk, dW_ij;  // ∂E/∂W from the backward pass
  Vec3 db_l, db_k, db_j;
  Mat3 W_kl_updated;         // W_kl - α ∂E/∂W_kl
  std::string explanation, dot;
};

inline Result run() {
  Result r{};
  const Tensor i = row_tensor(kInput).set_name("i");
  const Tensor y = row_tensor(kTarget);
  const Tensor W_ij = mat_tensor(kWij).requires_grad_().set_name("W_ij");
  const Tensor b_j = tensor({kBj[0], kBj[1], kBj[2]}, kFloat64).requires_grad_().set_name("b_j");
  const Tensor W_jk = mat_tensor(kWjk).requires_grad_().set_name("W_jk");
  const Tensor b_k = tensor({kBk[0], kBk[1], kBk[2]}, kFloat64).requires_grad_().set_name("b_k");
  const Tensor W_kl = mat_tensor(kWkl).requires_grad_().set_name("W_kl");
  const Tensor b_l = tensor({kBl[0], kBl[1], kBl[2]}, kFloat64).requires_grad_().set_name("b_l");

  const Tensor h1_in = named(matmul(i, W_ij) + b_j, "h1_in");
  const Tensor h1_out = named(relu(h1_in), "h1_out");
  const Tensor h2_in = named(matmul(h1_out, W_jk) + b_k, "h2_in");
  const Tensor h2_out = named(sigmoid(h2_in), "h2_out");
  const Tensor O_in = named(matmul(h2_out, W_kl) + b_l, "O_in");
  const Tensor O_out = named(softmax(O_in, 1), "O_out");
  const Tensor E = named(binary_cross_entropy(O_out, y), "E");  // mean over the 3 outputs: the deck's -1/3 Σ

  r.h1_in = vec3(h1_in);
  r.h1_out = vec3(h1_out);
  r.h2_in = vec3(h2_in);
  r.h2_out = vec3(h2_out);
  r.O_in = vec3(O_in);
  r.O_out = vec3(O_out);
  r.E = E.item<double>();

  // The slides' factors by their formulas.
  double sum_e = 0;
  for (int j = 0; j < 3; ++j) sum_e += std::exp(r.O_in[j]);
  for (int a = 0; a < 3; ++a) {
    const double o = r.O_out[a], t = kTarget[a];
    r.dEi_dOi[a] = -t / o + (1 - t) / (1 - o);
    r.dEi_dOi_slide[a] = -(t / o + (1 - t) / (1 - o));
    r.softmax_diag[a] = std::exp(r.O_in[a]) * (sum_e - std::exp(r.O_in[a])) / (sum_e * sum_e);
    r.sigmoid_diag[a] = r.h2_out[a] * (1 - r.h2_out[a]);
    r.relu_diag[a] = r.h1_in[a] > 0 ? 1.0 : 0.0;
  }
  for (int k = 0; k < 3; ++k) {
    r.slide_dE_dh2[k] = 0;
    for (int j = 0; j < 3; ++j) {
      r.slide_dW_kl[k][j] = r.dEi_dOi[j] * r.softmax_diag[j] * r.h2_out[k];
      r.slide_dE_dh2[k] += r.dEi_dOi[j] * r.softmax_diag[j] * kWkl[k][j];
    }
  }

  // The same factors from autograd (each a separate autograd::grad on the kept graph).
  autograd::GradOptions keep;
  keep.retain_graph = true;
  const Tensor ones_row = ones({1, 3}, kFloat64);
  r.ag_dE_dO = vec3(autograd::grad({E}, {O_out}, {}, keep)[0]);
  for (int a = 0; a < 3; ++a) {
    Vec3 e{0, 0, 0};
    e[a] = 1.0;
    // Row a of the softmax Jacobian: the gradient of O_out_a with respect to O_in.
    r.ag_softmax_jacobian[a] = vec3(autograd::grad({O_out}, {O_in}, {row_tensor(e)}, keep)[0]);
    // ∂O_in_a/∂W_kl: non-zero only in column a, where it is h2_out.
    const Mat3 m = mat3(autograd::grad({O_in}, {W_kl}, {row_tensor(e)}, keep)[0]);
    for (int k = 0; k < 3; ++k) r.ag_dOin_dWkl_col[a][k] = m[k][a];
  }
  r.ag_sigmoid_diag = vec3(autograd::grad({h2_out}, {h2_in}, {ones_row}, keep)[0]);
  r.ag_relu_diag = vec3(autograd::grad({h1_out}, {h1_in}, {ones_row}, keep)[0]);
  const TensorList inner = autograd::grad({E}, {O_in, h2_out, h1_out}, {}, keep);
  r.ag_dE_dOin = vec3(inner[0]);
  r.ag_dE_dh2 = vec3(inner[1]);
  r.ag_dE_dh1 = vec3(inner[2]);

  // The backward pass, recorded.
  const TensorList named_inner = {h1_in, h1_out, h2_in, h2_out, O_in, O_out};
  const autograd::BackwardRecord rec = autograd::record_backward(E);
  autograd::ExplainOptions opt;
  opt.max_elements = 9;
  r.explanation = autograd::explain(rec, E, named_inner, opt);
  autograd::DotOptions dot;
  dot.named = named_inner;
  dot.record = &rec;
  dot.max_elements = 3;
  dot.title = "deck 002: ReLU, sigmoid, softmax, target [1, 0, 0], E = mean binary cross-entropy";
  r.dot = autograd::to_dot(E, dot);

  r.dW_kl = mat3(W_kl.grad());
  r.dW_jk = mat3(W_jk.grad());
  r.dW_ij = mat3(W_ij.grad());
  r.db_l = vec3(b_l.grad());
  r.db_k = vec3(b_k.grad());
  r.db_j = vec3(b_j.grad());
  NoGradGuard no_grad;
  r.W_kl_updated = mat3(W_kl - W_kl.grad() * kAlpha);
  return r;
}

}  // namespace xgrad::examples::ex08
