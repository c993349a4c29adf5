#pragma once
// RMSprop (Hinton's lecture 6e), optionally centered and with momentum.

#include "optimizer.hpp"

namespace xgrad::optim {

/// Options of RMSprop. Defaults: lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0,
/// centered false, maximize false. Setters throw ValueError for lr < 0, alpha outside [0, 1],
/// eps <= 0, weight_decay < 0, momentum < 0, NaN or infinity.
class RMSpropOptions final : public OptimizerOptions {
 public:
  explicit RMSpropOptions(double lr = 1e-2);

  /// Learning rate (>= 0).
  RMSpropOptions& lr(double value);
  double lr() const noexcept { return lr_; }
  /// Smoothing constant α of the running average of squared gradients, in [0, 1].
  RMSpropOptions& alpha(double value);
  double alpha() const noexcept { return alpha_; }
  /// Term added to the denominator (> 0).
  RMSpropOptions& eps(double value);
  double eps() const noexcept { return eps_; }
  /// L2 penalty λ: the gradient used is g + λ p (>= 0).
  RMSpropOptions& weight_decay(double value);
  double weight_decay() const noexcept { return weight_decay_; }
  /// Momentum factor μ (>= 0; 0 disables momentum).
  RMSpropOptions& momentum(double value);
  double momentum() const noexcept { return momentum_; }
  /// Normalize by an estimate of the gradient's variance instead of its second moment.
  RMSpropOptions& centered(bool value);
  bool centered() const noexcept { return centered_; }
  /// Maximize the objective instead of minimizing it.
  RMSpropOptions& maximize(bool value);
  bool maximize() const noexcept { return maximize_; }

  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<RMSpropOptions>(*this); }
  const char* name() const noexcept override { return "RMSpropOptions"; }
  double get_lr() const override { return lr_; }
  void set_lr(double value) override { lr(value); }
  void validate() const override;
  /// Keys: lr, alpha, eps, weight_decay, momentum, centered, maximize (0/1).
  void save(StateDict& out, const std::string& prefix) const override;
  void load(const StateDict& in, const std::string& prefix) override;

 private:
  double lr_;
  double alpha_ = 0.99;
  double eps_ = 1e-8;
  double weight_decay_ = 0.0;
  double momentum_ = 0.0;
  bool centered_ = false;
  bool maximize_ = false;
};

/// RMSprop, step for step as PyTorch 1.13's torch.optim.RMSprop. With g the gradient:
///   d = g + λ p                           (-g + λ p when maximize)
///   s ← α s + (1 - α) d²                  (s₀ = 0, "square_avg")
///   centered: a ← α a + (1 - α) d         (a₀ = 0, "grad_avg"); den = √(s - a²) + eps
///   otherwise:                            den = √s + eps
///   momentum μ > 0: b ← μ b + d / den     (b₀ = 0, "momentum_buffer"); p ← p - lr b
///   otherwise:      p ← p - lr d / den
/// Note eps is added outside the square root (as PyTorch; Keras adds it inside). Defaults: see
/// RMSpropOptions. Each step allocates the denominator (there is no in-place sqrt).
class RMSprop final : public Optimizer {
 public:
  RMSprop(TensorList params, const RMSpropOptions& options = RMSpropOptions());
  RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& defaults);

  const char* name() const noexcept override { return "RMSprop"; }
  std::vector<std::string> state_names() const override { return {"square_avg", "momentum_buffer", "grad_avg"}; }

 protected:
  void check_options(const OptimizerOptions& options) const override;
  void update(const OptimizerOptions& options, Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace xgrad::optim
