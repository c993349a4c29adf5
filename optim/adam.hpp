#pragma once
// Adam and AdamW (Adam with decoupled weight decay).

#include <utility>

#include "optimizer.hpp"

namespace xgrad::optim {

/// Options shared by Adam and AdamW (CRTP: the setters return the concrete options type). Setters
/// throw ValueError for lr < 0, betas outside [0, 1), eps <= 0, weight_decay < 0, NaN or infinity.
template <class Derived>
class AdamFamilyOptions : public OptimizerOptions {
 public:
  /// Learning rate (>= 0).
  Derived& lr(double value);
  double lr() const noexcept { return lr_; }
  /// Decay rates (β1, β2) of the first and second moment averages, each in [0, 1).
  Derived& betas(std::pair<double, double> value);
  std::pair<double, double> betas() const noexcept { return betas_; }
  /// Term added to the denominator for numerical stability (> 0).
  Derived& eps(double value);
  double eps() const noexcept { return eps_; }
  /// Weight decay λ (>= 0): an L2 term in the gradient for Adam, decoupled decay for AdamW.
  Derived& weight_decay(double value);
  double weight_decay() const noexcept { return weight_decay_; }
  /// Use the running maximum of the second moment (AMSGrad).
  Derived& amsgrad(bool value);
  bool amsgrad() const noexcept { return amsgrad_; }
  /// Maximize the objective instead of minimizing it.
  Derived& maximize(bool value);
  bool maximize() const noexcept { return maximize_; }

  const char* name() const noexcept override { return Derived::kName; }
  std::unique_ptr<OptimizerOptions> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
  double get_lr() const override { return lr_; }
  void set_lr(double value) override { lr(value); }
  void validate() const override;
  /// Keys: lr, beta1, beta2, eps, weight_decay, amsgrad, maximize (0/1).
  void save(StateDict& out, const std::string& prefix) const override;
  void load(const StateDict& in, const std::string& prefix) override;

 protected:
  AdamFamilyOptions(double lr, double weight_decay);

 private:
  double lr_ = 1e-3;
  std::pair<double, double> betas_{0.9, 0.999};
  double eps_ = 1e-8;
  double weight_decay_ = 0.0;
  bool amsgrad_ = false;
  bool maximize_ = false;
};

/// Options of Adam. Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, amsgrad false,
/// maximize false.
class AdamOptions final : public AdamFamilyOptions<AdamOptions> {
 public:
  static constexpr const char* kName = "AdamOptions";
  explicit AdamOptions(double lr = 1e-3) : AdamFamilyOptions(lr, 0.0) {}
};

/// Options of AdamW. Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2, amsgrad false,
/// maximize false.
class AdamWOptions final : public AdamFamilyOptions<AdamWOptions> {
 public:
  static constexpr const char* kName = "AdamWOptions";
  explicit AdamWOptions(double lr = 1e-3) : AdamFamilyOptions(lr, 1e-2) {}
};

/// Adam (Kingma & Ba), step for step as PyTorch 1.13's torch.optim.Adam. At step t (counted per
/// parameter, from 1), with g the gradient:
///   d = g + λ p                         (λ = weight_decay, an L2 term; -g + λ p when maximize)
///   m ← β1 m + (1 - β1) d               (m₀ = 0, "exp_avg")
///   v ← β2 v + (1 - β2) d²              (v₀ = 0, "exp_avg_sq")
///   amsgrad: v_max ← max(v_max, v) and v_max replaces v below ("max_exp_avg_sq")
///   p ← p - (lr / (1 - β1^t)) · m / (√v / √(1 - β2^t) + eps)
/// Defaults: see AdamOptions. Each step allocates the denominator (there is no in-place sqrt).
class Adam final : public Optimizer {
 public:
  Adam(TensorList params, const AdamOptions& options = AdamOptions());
  Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults);

  const char* name() const noexcept override { return "Adam"; }
  std::vector<std::string> state_names() const override { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }

 protected:
  void check_options(const OptimizerOptions& options) const override;
  void update(const OptimizerOptions& options, Tensor& param, const Tensor& grad, ParamState& state) override;
};

/// AdamW (Loshchilov & Hutter), step for step as PyTorch 1.13's torch.optim.AdamW: Adam with the
/// weight decay decoupled from the gradient. At step t:
///   p ← p (1 - lr λ)                    (λ = weight_decay, default 1e-2)
///   then Adam's update with d = g (-g when maximize) and no L2 term.
/// State and defaults: as Adam (see AdamWOptions).
class AdamW final : public Optimizer {
 public:
  AdamW(TensorList params, const AdamWOptions& options = AdamWOptions());
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& defaults);

  const char* name() const noexcept override { return "AdamW"; }
  std::vector<std::string> state_names() const override { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }

 protected:
  void check_options(const OptimizerOptions& options) const override;
  void update(const OptimizerOptions& options, Tensor& param, const Tensor& grad, ParamState& state) override;
};

extern template class AdamFamilyOptions<AdamOptions>;
extern template class AdamFamilyOptions<AdamWOptions>;

}  // namespace xgrad::optim
