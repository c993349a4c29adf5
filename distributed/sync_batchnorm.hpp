#pragma once
// SyncBatchNorm: batch normalization whose batch statistics are computed over the whole global batch
// (every rank's shard) instead of each rank's shard.

#include <cstdint>

#include "../nn/normalization.hpp"

namespace xgrad::distributed {

/// A BatchNorm1d (same options, parameters "weight"/"bias", buffers "running_mean", "running_var",
/// "num_batches_tracked", so state dicts and checkpoints are interchangeable with BatchNorm1d) whose
/// training-mode statistics are those of the global batch: for an input x_r of shape (B_r, C) or
/// (B_r, C, L) on rank r, with M = Σ_r B_r·L values per channel,
///     μ = (1/M)·Σ_r Σ x_r,   σ² = (1/M)·Σ_r Σ (x_r - μ)²   (biased; two all-reduces of C+1 and C numbers),
///     y_r = (x_r - μ)/√(σ² + eps)·γ + β,
/// which is what BatchNorm1d computes on the concatenation of all ranks' batches. The running statistics
/// are updated with μ and the unbiased M/(M-1)·σ², identically on every rank. Gradients flow through μ and
/// σ² across ranks: the backward of each all-reduce all-reduces the incoming gradients
/// (functional::all_reduce), which gives each rank ∂(Σ_s L_s)/∂x_r, including the terms from the other
/// ranks' losses (−mean(g·γ) and −x̂·mean(g·γ·x̂) over the global batch). In eval mode with running
/// statistics it is a plain BatchNorm1d (no communication). Every rank must call forward and backward
/// together (they are collectives). With one rank it equals BatchNorm1d.
/// Use it in place of BatchNorm1d when per-rank batches are small; the default (BatchNorm1d) keeps
/// per-rank batch statistics, as PyTorch's DDP does.
class SyncBatchNorm : public nn::BatchNorm1d {
 public:
  /// As BatchNorm1d.
  explicit SyncBatchNorm(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1, bool affine = true,
                         bool track_running_stats = true, Dtype dtype = kFloat32);
  /// As BatchNorm1d.
  SyncBatchNorm(std::int64_t num_features, const nn::BatchNormOptions& options);
  SyncBatchNorm(SyncBatchNorm&&) = default;

  /// See the class comment. ShapeError as BatchNorm1d; ValueError when the global batch has a single
  /// value per channel in training.
  Tensor forward(const Tensor& input) override;
};

}  // namespace xgrad::distributed
