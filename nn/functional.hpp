#pragma once
// Functional forms of the stateful layers (xgrad::nn::functional) and regularization penalties.
// Everything is composed from xgrad ops, so gradients (and second derivatives) come from autograd.
// Errors name the function and the user's call site.

#include <cstdint>

#include "../autograd/tensor.hpp"

namespace xgrad::nn::functional {

/// Inverted dropout (PyTorch, Keras): in training, y = x ⊙ m / (1-p) with m ~ Bernoulli(1-p) drawn
/// from the global generator (manual_seed reproduces the mask), so E[y] = x and nothing changes at
/// inference; when !training (or p = 0), y = x. p = 1 gives zeros (every unit dropped). Gradient:
/// dx = g ⊙ m / (1-p). ValueError for p outside [0, 1].
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, Where where = Where::current());

/// Classic dropout of the lectures (Srivastava et al. 2014; deck 000), with p the *keep* probability:
/// in training, y = x ⊙ m with m ~ Bernoulli(p) and no rescaling; at inference, y = p·x, so the
/// expected input of the next layer is the same in both modes. Compare inverted dropout above, which
/// rescales in training by 1/(1-p_drop) instead and is the identity at inference: the two give the same
/// expectations with p_keep = 1 - p_drop. ValueError for p outside (0, 1].
Tensor classic_dropout(const Tensor& x, double keep_prob = 0.5, bool training = true, Where where = Where::current());

/// Batch normalization over the channel dimension 1 of x (N, C) or (N, C, L) (any rank >= 2):
/// y = (x - μ)/√(σ² + eps) · weight + bias, with weight and bias (C) optional (undefined = 1 and 0).
/// - training: μ and σ² are the batch mean and the biased batch variance over every dimension but 1,
///   and the gradient flows through them (dx includes the terms from μ and σ²). When running_mean and
///   running_var (C) are defined they are updated in place, not recorded:
///     running_mean = (1 - momentum)·running_mean + momentum·μ
///     running_var  = (1 - momentum)·running_var  + momentum·σ²_u
///   where σ²_u = σ²·n/(n-1) is the unbiased variance (n values per channel) when unbiased_running_var,
///   else σ² (Keras). ValueError when training with n = 1.
/// - !training: μ = running_mean, σ² = running_var (both required).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), bool training = false, double momentum = 0.1, double eps = 1e-5,
                  bool unbiased_running_var = true, Where where = Where::current());

/// Layer normalization over the trailing dimensions `normalized_shape` of x (whose last dims must equal
/// it): y = (x - μ)/√(σ² + eps) · weight + bias, with μ, σ² (biased) computed per sample over those
/// dimensions; weight and bias have shape normalized_shape (undefined = 1 and 0). Same in training and
/// inference. Gradient through μ and σ² from autograd.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5, Where where = Where::current());

/// Embedding lookup: rows of weight (num_embeddings, dim) at int64 `indices` of any shape; the result
/// has shape indices.shape + (dim). Gradient: rows of g added into dweight (repeated indices
/// accumulate). DtypeError for non-int64 indices; IndexError naming the first index outside
/// [0, num_embeddings).
Tensor embedding(const Tensor& indices, const Tensor& weight, Where where = Where::current());

/// L1 penalty λ·Σ_p Σ|w| over the given tensors (a 0-d tensor of the first tensor's dtype; 0 for an
/// empty list). Gradient: λ·sign(w) (0 at w = 0). Add it to the loss for lasso-style sparsity.
Tensor l1_penalty(const TensorList& params, double lambda, Where where = Where::current());

/// L2 penalty λ·Σ_p Σw² = λ‖w‖² over the given tensors (0-d). Gradient: 2λ·w.
/// Note the factor 2 against weight decay: SGD with weight_decay = wd adds wd·w to each gradient, which
/// is the gradient of (wd/2)‖w‖². So weight_decay = 2λ reproduces this penalty λ‖w‖² exactly, and a
/// penalty λ = wd/2 reproduces weight decay wd. This holds for every optimizer whose weight_decay adds
/// wd·w to the gradient (SGD, Adam); AdamW's decoupled decay is applied outside the gradient and is not
/// an L2 penalty.
Tensor l2_penalty(const TensorList& params, double lambda, Where where = Where::current());

}  // namespace xgrad::nn::functional
