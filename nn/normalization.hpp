#pragma once
// Normalization layers: BatchNorm1d (per feature, over the batch) and LayerNorm (per sample, over
// the trailing dimensions).

#include <cstdint>
#include <optional>

#include "module.hpp"

namespace xgrad::nn {

/// How BatchNorm's momentum weighs the running statistics:
///   pytorch: running = (1 - momentum)·running + momentum·batch   (momentum 0.1 = the new batch's weight)
///   keras:   running = momentum·running + (1 - momentum)·batch   (momentum 0.99 = the old value's weight)
/// The two are the same update with momentum_pytorch = 1 - momentum_keras.
enum class MomentumConvention { pytorch, keras };

/// Options of BatchNorm1d (PyTorch defaults). For Keras' defaults use BatchNormOptions::keras_defaults().
struct BatchNormOptions {
  /// Added to the variance before the square root.
  double eps = 1e-5;
  /// Weight of the running statistics' update (meaning per `convention`); nullopt = cumulative moving
  /// average, running = mean of every batch seen so far (factor 1/num_batches_tracked).
  std::optional<double> momentum = 0.1;
  /// Learnable per-feature scale "weight" (γ, init 1) and shift "bias" (β, init 0).
  bool affine = true;
  /// Keep running_mean/running_var buffers (updated in training, used in eval). When false, batch
  /// statistics are used in both modes and there are no buffers.
  bool track_running_stats = true;
  /// See MomentumConvention.
  MomentumConvention convention = MomentumConvention::pytorch;
  /// Update running_var with the unbiased batch variance (n/(n-1) correction, PyTorch) or the biased one
  /// (Keras). Normalization always uses the biased batch variance.
  bool unbiased_running_var = true;
  /// Dtype of the parameters and float buffers.
  Dtype dtype = kFloat32;

  /// Keras' BatchNormalization defaults: momentum 0.99 (keras convention), eps 1e-3, biased running_var.
  static BatchNormOptions keras_defaults() {
    BatchNormOptions o;
    o.eps = 1e-3;
    o.momentum = 0.99;
    o.convention = MomentumConvention::keras;
    o.unbiased_running_var = false;
    return o;
  }
};

/// Batch normalization of (N, C) or (N, C, L) inputs over the batch (and length) for each of the C =
/// num_features channels: y = (x - μ)/√(σ² + eps)·γ + β (functional::batch_norm has the formulas).
/// - train mode: μ, σ² are the batch mean and biased variance, and gradients flow through them; the
///   buffers running_mean (init 0) and running_var (init 1) are updated with the unbiased batch variance
///   (see BatchNormOptions), and num_batches_tracked (int64 0-d) counts the batches.
/// - eval mode: μ = running_mean, σ² = running_var; nothing is updated.
/// Parameters "weight" (γ), "bias" (β) when affine; buffers "running_mean", "running_var",
/// "num_batches_tracked" when track_running_stats.
class BatchNorm1d : public Module {
 public:
  /// PyTorch's positional form. ValueError for num_features <= 0, eps < 0 or momentum outside [0, 1].
  explicit BatchNorm1d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1, bool affine = true,
                       bool track_running_stats = true, Dtype dtype = kFloat32);
  /// With options, e.g. BatchNorm1d(64, {.momentum = 0.99, .convention = MomentumConvention::keras}).
  BatchNorm1d(std::int64_t num_features, const BatchNormOptions& options);
  BatchNorm1d(BatchNorm1d&&) = default;

  /// ShapeError naming the shape unless the input is (N, num_features) or (N, num_features, L);
  /// ValueError when training on one value per channel.
  Tensor forward(const Tensor& input) override;
  /// Resets running_mean to 0, running_var to 1 and num_batches_tracked to 0.
  void reset_running_stats();
  /// Also resets weight to 1 and bias to 0.
  void reset_parameters();
  /// "4, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true".
  std::string extra_repr() const override;

  /// γ (num_features), undefined unless affine.
  Tensor& weight() { return *weight_; }
  /// β (num_features), undefined unless affine.
  Tensor& bias() { return *bias_; }
  /// Running mean (num_features), undefined unless track_running_stats.
  Tensor& running_mean() { return *running_mean_; }
  /// Running variance (num_features), undefined unless track_running_stats.
  Tensor& running_var() { return *running_var_; }
  /// Number of training batches seen (int64, 0-d), undefined unless track_running_stats.
  Tensor& num_batches_tracked() { return *num_batches_tracked_; }
  std::int64_t num_features() const noexcept { return num_features_; }
  const BatchNormOptions& options() const noexcept { return options_; }

 private:
  std::int64_t num_features_;
  BatchNormOptions options_;
  Tensor* weight_;
  Tensor* bias_;
  Tensor* running_mean_;
  Tensor* running_var_;
  Tensor* num_batches_tracked_;
};

/// Layer normalization over the trailing dimensions `normalized_shape`: each sample is normalized by its
/// own mean and biased variance over those dimensions, y = (x - μ)/√(σ² + eps)·γ + β, identically in
/// training and eval. Parameters "weight" (γ, ones) and "bias" (β, zeros) of shape normalized_shape when
/// elementwise_affine. ShapeError (from layer_norm) when the input's last dims differ.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true, Dtype dtype = kFloat32);
  /// Normalizes over the last dimension of size `normalized_size`.
  explicit LayerNorm(std::int64_t normalized_size, double eps = 1e-5, bool elementwise_affine = true, Dtype dtype = kFloat32);
  LayerNorm(LayerNorm&&) = default;

  /// functional::layer_norm(input, normalized_shape, weight, bias, eps); the output has the input's shape.
  Tensor forward(const Tensor& input) override;
  /// "(10,), eps=1e-05, elementwise_affine=true".
  std::string extra_repr() const override;
  /// γ, undefined unless elementwise_affine.
  Tensor& weight() { return *weight_; }
  /// β, undefined unless elementwise_affine.
  Tensor& bias() { return *bias_; }
  const Shape& normalized_shape() const noexcept { return normalized_shape_; }

 private:
  Shape normalized_shape_;
  double eps_;
  Tensor* weight_;
  Tensor* bias_;
};

}  // namespace xgrad::nn
