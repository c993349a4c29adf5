#pragma once
// SGD: stochastic gradient descent with optional momentum (PyTorch or Keras/lecture convention),
// Nesterov momentum, dampening and L2 weight decay.

#include "optimizer.hpp"

namespace xgrad::optim {

/// How the momentum buffer is defined (see SGD).
enum class MomentumStyle {
  /// PyTorch: b = μ b + (1 - dampening) d (b = d on the first step); p -= lr * b.
  pytorch,
  /// Keras / lecture slides: v = μ v - lr d (v = 0 before the first step); p += v.
  keras,
};

/// Options of SGD. Defaults: momentum 0, dampening 0, weight_decay 0, nesterov false, maximize false,
/// momentum_style pytorch; lr has no default. Setters throw ValueError on an out-of-range value
/// (lr < 0, momentum < 0, dampening outside [0, 1], weight_decay < 0, NaN or infinite values);
/// validate() also rejects nesterov without momentum or with dampening, and dampening with the
/// Keras momentum style.
class SGDOptions final : public OptimizerOptions {
 public:
  /// Options with learning rate `lr` (>= 0).
  explicit SGDOptions(double lr);

  /// Learning rate.
  SGDOptions& lr(double value);
  double lr() const noexcept { return lr_; }
  /// Momentum factor μ (>= 0; 0 disables momentum).
  SGDOptions& momentum(double value);
  double momentum() const noexcept { return momentum_; }
  /// Dampening of the gradient added to the momentum buffer (in [0, 1]; PyTorch style only).
  SGDOptions& dampening(double value);
  double dampening() const noexcept { return dampening_; }
  /// L2 penalty coefficient λ: the gradient used is g + λ p (>= 0).
  SGDOptions& weight_decay(double value);
  double weight_decay() const noexcept { return weight_decay_; }
  /// Nesterov momentum (needs momentum > 0 and dampening 0).
  SGDOptions& nesterov(bool value);
  bool nesterov() const noexcept { return nesterov_; }
  /// Maximize the objective instead of minimizing it (the gradient's sign is flipped).
  SGDOptions& maximize(bool value);
  bool maximize() const noexcept { return maximize_; }
  /// Momentum convention (see MomentumStyle and SGD).
  SGDOptions& momentum_style(MomentumStyle value);
  MomentumStyle momentum_style() const noexcept { return momentum_style_; }

  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<SGDOptions>(*this); }
  const char* name() const noexcept override { return "SGDOptions"; }
  double get_lr() const override { return lr_; }
  void set_lr(double value) override { lr(value); }
  void validate() const override;
  /// Keys: lr, momentum, dampening, weight_decay, nesterov, maximize (0/1), momentum_style (0 pytorch,
  /// 1 keras).
  void save(StateDict& out, const std::string& prefix) const override;
  void load(const StateDict& in, const std::string& prefix) override;

 private:
  double lr_;
  double momentum_ = 0.0;
  double dampening_ = 0.0;
  double weight_decay_ = 0.0;
  bool nesterov_ = false;
  bool maximize_ = false;
  MomentumStyle momentum_style_ = MomentumStyle::pytorch;
};

/// Stochastic gradient descent, step for step as PyTorch 1.13's torch.optim.SGD (plus the Keras
/// momentum convention). With g the gradient of p, every step first forms
///   d = g + λ p                        (λ = weight_decay; d = -g + λ p when maximize)
/// then, by momentum style:
///
///   momentum 0:           p ← p - lr d
///
///   PyTorch (default)                          | Keras / lecture slides (MomentumStyle::keras)
///   -------------------------------------------+-------------------------------------------
///   b ← d on the first step, else              | v ← μ v - lr d            (v₀ = 0)
///   b ← μ b + (1 - dampening) d                |
///   p ← p - lr b                               | p ← p + v
///   nesterov: p ← p - lr (d + μ b)             | nesterov: p ← p + μ v - lr d
///
/// With a constant lr (and dampening 0) both give the same trajectory: v = -lr b at every step. They
/// differ when lr changes: PyTorch's buffer holds gradients, so a new lr rescales the whole
/// accumulated velocity at once; Keras's buffer holds past steps taken with the old lr, so the new lr
/// acts only on new gradients (the velocity adapts gradually).
///
/// State per parameter: "momentum_buffer" (b, PyTorch style) or "velocity" (v, Keras style), created
/// on the first step that uses momentum. A step allocates nothing once the buffers exist.
class SGD final : public Optimizer {
 public:
  /// One group holding `params` with `options`. ValueError for an empty list or invalid options.
  SGD(TensorList params, const SGDOptions& options);
  /// Several groups; a group without options uses `defaults`.
  SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults);

  const char* name() const noexcept override { return "SGD"; }
  std::vector<std::string> state_names() const override { return {"momentum_buffer", "velocity"}; }

 protected:
  void check_options(const OptimizerOptions& options) const override;
  void update(const OptimizerOptions& options, Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace xgrad::optim
