#pragma once
// Adagrad (Duchi et al.): per-coordinate learning rates from the accumulated squared gradients.

#include "optimizer.hpp"

namespace xgrad::optim {

/// Options of Adagrad. Defaults: lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0,
/// eps 1e-10, maximize false. Setters throw ValueError for lr < 0, lr_decay < 0, weight_decay < 0,
/// initial_accumulator_value < 0, eps <= 0, NaN or infinity.
class AdagradOptions final : public OptimizerOptions {
 public:
  explicit AdagradOptions(double lr = 1e-2);

  /// Learning rate (>= 0).
  AdagradOptions& lr(double value);
  double lr() const noexcept { return lr_; }
  /// Learning-rate decay κ: step t uses lr / (1 + (t - 1) κ) (>= 0).
  AdagradOptions& lr_decay(double value);
  double lr_decay() const noexcept { return lr_decay_; }
  /// L2 penalty λ: the gradient used is g + λ p (>= 0).
  AdagradOptions& weight_decay(double value);
  double weight_decay() const noexcept { return weight_decay_; }
  /// Starting value of the accumulator (>= 0).
  AdagradOptions& initial_accumulator_value(double value);
  double initial_accumulator_value() const noexcept { return initial_accumulator_value_; }
  /// Term added to the denominator (> 0).
  AdagradOptions& eps(double value);
  double eps() const noexcept { return eps_; }
  /// Maximize the objective instead of minimizing it.
  AdagradOptions& maximize(bool value);
  bool maximize() const noexcept { return maximize_; }

  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<AdagradOptions>(*this); }
  const char* name() const noexcept override { return "AdagradOptions"; }
  double get_lr() const override { return lr_; }
  void set_lr(double value) override { lr(value); }
  void validate() const override;
  /// Keys: lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize (0/1).
  void save(StateDict& out, const std::string& prefix) const override;
  void load(const StateDict& in, const std::string& prefix) override;

 private:
  double lr_;
  double lr_decay_ = 0.0;
  double weight_decay_ = 0.0;
  double initial_accumulator_value_ = 0.0;
  double eps_ = 1e-10;
  bool maximize_ = false;
};

/// Adagrad, step for step as PyTorch 1.13's torch.optim.Adagrad (dense gradients). At step t (per
/// parameter, from 1), with g the gradient:
///   d = g + λ p                           (-g + λ p when maximize)
///   S ← S + d²                            (S₀ = initial_accumulator_value, "sum")
///   p ← p - lr / (1 + (t - 1) κ) · d / (√S + eps)
/// Defaults: see AdagradOptions. The accumulator is created on the parameter's first step (with the
/// group's initial_accumulator_value). Each step allocates the denominator.
class Adagrad final : public Optimizer {
 public:
  Adagrad(TensorList params, const AdagradOptions& options = AdagradOptions());
  Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& defaults);

  const char* name() const noexcept override { return "Adagrad"; }
  std::vector<std::string> state_names() const override { return {"sum"}; }

 protected:
  void check_options(const OptimizerOptions& options) const override;
  void update(const OptimizerOptions& options, Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace xgrad::optim
