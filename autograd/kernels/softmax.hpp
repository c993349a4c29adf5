#pragma once
// Library-internal: fused softmax, log-softmax and cross-entropy kernels (no autograd). The exp-sums
// subtract the row max first, so logits of any magnitude stay finite. Inputs may have any layout
// (non-contiguous ones are copied); outputs are new contiguous tensors.

#include <cstdint>
#include <vector>

#include "../tensor.hpp"

namespace xgrad::kernels {

/// softmax (log = false) or log_softmax (log = true) of x along `dim` (already wrapped).
Tensor softmax(const Tensor& x, std::int64_t dim, bool log);
/// The fused backward along `dim`: softmax: y ⊙ (g - Σ g⊙y); log_softmax: g - e^y ⊙ Σ g. y is the
/// forward's output, g the upstream gradient (same shape and dtype).
Tensor softmax_backward(const Tensor& y, const Tensor& g, std::int64_t dim, bool log);

/// Class-index targets of a cross entropy / nll loss over C classes, validated by the ops layer.
/// With class weights w (1 when empty) and label smoothing ε, row i's target distribution is
/// t_i = (1-ε)·w[y_i]·onehot(y_i) + (ε/C)·w, of total mass a_i = Σ_c t_ic; ignored rows have t_i = 0.
struct ClassTargets {
  std::vector<std::int64_t> labels;  // one per row
  std::vector<double> weight;        // per class; empty = all ones
  double smoothing = 0.0;
  std::int64_t ignore_index = -100;
  std::int64_t classes = 0;

  bool ignored(std::size_t i) const noexcept { return labels[i] == ignore_index; }
  double w(std::int64_t c) const noexcept { return weight.empty() ? 1.0 : weight[static_cast<std::size_t>(c)]; }
  /// Σ_c w_c.
  double weight_sum() const noexcept;
  /// a_i (0 for an ignored row).
  double mass(std::size_t i) const noexcept;
  /// Σ over rows that are not ignored of w[y_i]: the divisor of PyTorch's mean reduction.
  double label_weight_sum() const noexcept;
};

/// Per-row cross entropy of logits x (N, C): loss_i = Σ_c t_ic (lse_i - x_ic) with
/// lse_i = ln Σ_c e^(x_ic), in one pass over each row. Fills `lse` (a new (N) tensor) for backward.
Tensor cross_entropy_rows(const Tensor& x, const ClassTargets& t, Tensor& lse);
/// Its gradient: dx_ic = s_i (a_i softmax(x)_ic - t_ic), one pass, with s_i = g_i (g of shape (N))
/// or s_i = g·scale (g a one-element tensor: sum or mean reductions). Ignored rows get 0.
Tensor cross_entropy_rows_backward(const Tensor& x, const Tensor& lse, const ClassTargets& t, const Tensor& g, double scale);
/// The dense target matrix t (N, C) in `dtype` (used by double backward only).
Tensor class_target_matrix(const ClassTargets& t, Dtype dtype);
/// The masses a_i as an (N, 1) tensor in `dtype`.
Tensor class_target_mass(const ClassTargets& t, Dtype dtype);

/// out_i = coef_i · x[i, y_i] for x (N, C) (0 for ignored rows): the gather of nll_loss.
Tensor pick(const Tensor& x, const ClassTargets& t, const std::vector<double>& coef);
/// The adjoint of pick: an (N, C) tensor of zeros with out[i, y_i] = coef_i · g_i.
Tensor place(const Tensor& g, const ClassTargets& t, const std::vector<double>& coef);

}  // namespace xgrad::kernels
