#pragma once
// Fully connected layer and shape-only layers.

#include <cstdint>

#include "module.hpp"

namespace xgrad::nn {

/// Fully connected layer y = x·Wᵀ + b (the slides' z^[l] = W^[l]·a^[l-1] + b^[l], one row per sample):
/// x (..., in_features) -> y (..., out_features), weight W (out_features, in_features), bias b
/// (out_features), one xgrad::linear call (a single gemm). Gradients: dx = g·W, dW = gᵀ·x, db = Σ g over
/// rows, accumulated into weight().grad() and bias().grad().
/// Initialization as PyTorch: W ~ kaiming_uniform_(a = √5) = U(-1/√in, 1/√in) and b ~ U(-1/√in, 1/√in);
/// re-draw with reset_parameters() or any nn::init function.
class Linear : public Module {
 public:
  /// Parameters "weight" and (when `bias`) "bias" of the given dtype. ValueError for non-positive sizes.
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true, Dtype dtype = kFloat32);
  Linear(Linear&&) = default;

  /// (..., in_features) -> (..., out_features). ShapeError (from linear) when the last dim is not in_features.
  Tensor forward(const Tensor& input) override;
  /// Re-draws weight and bias with the default initialization (from the global generator).
  void reset_parameters();
  /// "in_features=784, out_features=256, bias=true".
  std::string extra_repr() const override;

  /// The weight (out_features, in_features): a reference to the registry slot.
  Tensor& weight() { return *weight_; }
  const Tensor& weight() const { return *weight_; }
  /// The bias (out_features), undefined when constructed with bias = false.
  Tensor& bias() { return *bias_; }
  const Tensor& bias() const { return *bias_; }
  std::int64_t in_features() const noexcept { return in_features_; }
  std::int64_t out_features() const noexcept { return out_features_; }

 private:
  std::int64_t in_features_, out_features_;
  Tensor* weight_;
  Tensor* bias_;
};

/// y = x. A placeholder (e.g. an optional layer switched off). No parameters.
class Identity : public Module {
 public:
  Identity();
  Identity(Identity&&) = default;
  /// Returns the input itself.
  Tensor forward(const Tensor& input) override;
};

/// Merges dimensions start_dim..end_dim into one (a view when the input is contiguous): the default
/// (1, -1) turns (N, C, H, W) into (N, C·H·W) and keeps the batch dimension. Gradient: g reshaped back.
class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1);
  Flatten(Flatten&&) = default;
  /// xgrad::flatten(input, start_dim, end_dim); IndexError (from flatten) for dims out of range.
  Tensor forward(const Tensor& input) override;
  /// "start_dim=1, end_dim=-1".
  std::string extra_repr() const override;

 private:
  std::int64_t start_dim_, end_dim_;
};

}  // namespace xgrad::nn
