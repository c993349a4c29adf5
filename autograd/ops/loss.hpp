#pragma once
// Loss functions. `reduction` is mean (default), sum or none (element-wise / per-sample losses).
// Inputs are checked: shapes, label ranges, probability ranges; errors name the op and the values.
//
// Common rules:
// - input and target must have the same dtype (DtypeError) and, for the element-wise losses, the same
//   shape (ShapeError naming both; no silent broadcasting of targets).
// - Gradients flow to the input and, where the formula allows, to float targets and element weights;
//   every loss is twice differentiable (gradgradcheck passes).
// - An empty mean (no elements, an empty batch, or every target equal to ignore_index) is NaN, like
//   PyTorch, and its gradient is zero; reduction sum gives 0.

#include "../tensor.hpp"

namespace xgrad {

enum class Reduction { none, mean, sum };

/// (x - y)². Gradient: dx = 2(x-y)g (/n for mean), dy = -dx.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean, Where where = Where::current());
/// |x - y|. Gradient: dx = sign(x-y)g (0 where x = y), dy = -dx.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean, Where where = Where::current());
/// ½(x-y)² where |x-y| < delta, else delta(|x-y| - ½delta). delta > 0 (ValueError otherwise).
/// Gradient: dx = clamp(x-y, -delta, delta)g, dy = -dx.
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean, double delta = 1.0, Where where = Where::current());
/// ½(x-y)²/beta where |x-y| < beta, else |x-y| - ½beta; beta = 0 is l1_loss, beta < 0 a ValueError.
/// Gradient: dx = clamp((x-y)/beta, -1, 1)g, dy = -dx.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean, double beta = 1.0, Where where = Where::current());
/// -w[y ln p + (1-y) ln(1-p)] on probabilities p ∈ [0, 1] (ValueError naming the first value outside
/// and its index; NaN counts as outside), the logs clamped at -100 like PyTorch. Optional `weight`
/// broadcast to p's shape. Targets are not range-checked (soft labels are fine).
/// Gradients: dp = g w (p-y)/max(p(1-p), 1e-12); dy = g w (ln(1-p) - ln p) (clamped logs);
/// dweight = g · (unweighted loss), summed over broadcast dims.
Tensor binary_cross_entropy(const Tensor& p, const Tensor& target, Reduction reduction = Reduction::mean,
                            const Tensor& weight = Tensor(), Where where = Where::current());
/// BCE on logits z, computed stably as max(z,0) - z·y + ln(1+e^-|z|) (exact and finite for any finite
/// z, e.g. ±1e4). Gradient: dz = (σ(z) - y)g. Optional `weight` multiplies each element; optional
/// `pos_weight` (broadcast, typically one per class) multiplies the positive term:
/// loss = w[(1-y)z + (1 + (pw-1)y) softplus(-z)], dz = g w ((1 + (pw-1)y)σ(z) - pw·y).
/// Gradients also flow to target, weight and pos_weight.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::mean,
                                        const Tensor& weight = Tensor(), const Tensor& pos_weight = Tensor(),
                                        Where where = Where::current());

/// Options of cross_entropy.
struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  /// Per-class weights (C), constants (ValueError if one requires grad while recording); with class
  /// indices the mean divides by the sum of the targets' weights, like PyTorch.
  Tensor weight = {};
  /// ε: the target becomes (1-ε)·onehot + ε/C.
  double label_smoothing = 0.0;
  /// Targets equal to this class are skipped (class-index targets only).
  std::int64_t ignore_index = -100;
};

/// Cross entropy of logits (N, C) — or (C) for one sample, or (N, C, d1, ..., dk) — against either class indices (N) (or ()
/// for one sample; int64, or floats with integral values) or class probabilities of the logits' shape
/// (float, same dtype). Targets are told apart by shape.
/// - Class indices: log_softmax + nll fused: one stable pass forward (row max, exp-sum) and one pass
///   backward, dx = g·(a·softmax(x) - t)/denom with t = (1-ε)w[y]·onehot(y) + (ε/C)·w the target
///   distribution and a = Σ t (so dx = (softmax - onehot)·g/N without weights or smoothing). The
///   mean divides by Σ w[y_i] over rows not ignored. Errors: a label outside [0, C) that is not
///   ignore_index -> IndexError naming the label, its index and C; a non-integral float label ->
///   ValueError. The backward is itself differentiable (double backward works).
/// - Probabilities q: -Σ_c w_c ((1-ε)q_c + ε/C) log_softmax(x)_c; the mean divides by N. Gradients
///   flow to q as well.
/// - K-dimensional inputs (N, C, d1, ..., dk) (image segmentation, sequences): classes along dim 1,
///   targets (N, d1, ..., dk) of class indices or (N, C, d1, ..., dk) of probabilities; every position
///   is one sample (reduction none gives (N, d1, ..., dk); the mean runs over all positions, weighted
///   as above), exactly the 2-D loss of the input permuted to (N·d1·...·dk, C).
/// Target shapes that fit neither form -> ShapeError naming both shapes.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {},
                     Where where = Where::current());
/// Negative log-likelihood of log-probabilities (N, C) (or (C), or (N, C, d1, ..., dk) with targets
/// (N, d1, ..., dk) as for cross_entropy) at class indices (N) (or ()):
/// -w[y_i]·logp[i, y_i], 0 for rows whose label is ignore_index. The mean divides by Σ w[y_i] over
/// rows not ignored. Gradient: -w[y_i]·g/denom at [i, y_i], zero elsewhere. Label errors as for
/// cross_entropy; class `weight` (C) is a constant.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::mean,
                const Tensor& weight = Tensor(), std::int64_t ignore_index = -100, Where where = Where::current());

}  // namespace xgrad
