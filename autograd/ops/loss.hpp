#pragma once
// Loss functions. `reduction` is mean (default), sum or none (element-wise / per-sample losses).
// Inputs are checked: shapes, label ranges, probability ranges; errors name the op and the values.

#include "../tensor.hpp"

namespace xgrad {

enum class Reduction { none, mean, sum };

/// (x - y)². Gradient: 2(x-y)g (/n for mean).
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean, Where where = Where::current());
/// |x - y|.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean, Where where = Where::current());
/// ½(x-y)² where |x-y| < delta, else delta(|x-y| - ½delta).
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean, double delta = 1.0, Where where = Where::current());
/// ½(x-y)²/beta where |x-y| < beta, else |x-y| - ½beta.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean, double beta = 1.0, Where where = Where::current());
/// -[y ln p + (1-y) ln(1-p)] on probabilities p ∈ [0, 1] (ValueError otherwise), the logs clamped
/// at -100 like PyTorch. Optional per-element `weight` (broadcast).
Tensor binary_cross_entropy(const Tensor& p, const Tensor& target, Reduction reduction = Reduction::mean,
                            const Tensor& weight = Tensor(), Where where = Where::current());
/// BCE on logits z, computed stably as max(z,0) - z·y + ln(1+e^-|z|). Gradient: (σ(z) - y)g.
/// Optional `pos_weight` multiplies the positive term.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::mean,
                                        const Tensor& weight = Tensor(), const Tensor& pos_weight = Tensor(),
                                        Where where = Where::current());

/// Options of cross_entropy.
struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  /// Per-class weights (C); the mean divides by the sum of the targets' weights, like PyTorch.
  Tensor weight;
  /// ε: the target becomes (1-ε)·onehot + ε/C.
  double label_smoothing = 0.0;
  /// Targets equal to this class are skipped (class-index targets only).
  std::int64_t ignore_index = -100;
};

/// Cross entropy of logits (N, C) — or (C) for one sample — against either class indices (N)
/// (int64, or integral floats) or class probabilities of the logits' shape. Computed as
/// log_softmax + nll in one stable pass. Gradient: (softmax(x) - target distribution)·g.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {},
                     Where where = Where::current());
/// Negative log-likelihood of log-probabilities (N, C) at class indices (N): -logp[i, y_i].
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::mean,
                const Tensor& weight = Tensor(), std::int64_t ignore_index = -100, Where where = Where::current());

}  // namespace xgrad
