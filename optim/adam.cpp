#include "adam.hpp"

#include <cmath>

#include "../autograd/ops/arithmetic.hpp"
#include "detail/util.hpp"

namespace xgrad::optim {

// ---- options -------------------------------------------------------------------------------

template <class Derived>
AdamFamilyOptions<Derived>::AdamFamilyOptions(double lr, double weight_decay) {
  detail::check_nonneg(Derived::kName, "lr", lr);
  detail::check_nonneg(Derived::kName, "weight_decay", weight_decay);
  lr_ = lr;
  weight_decay_ = weight_decay;
}

template <class Derived>
Derived& AdamFamilyOptions<Derived>::lr(double value) {
  detail::check_nonneg(Derived::kName, "lr", value);
  lr_ = value;
  return static_cast<Derived&>(*this);
}

template <class Derived>
Derived& AdamFamilyOptions<Derived>::betas(std::pair<double, double> value) {
  detail::check_unit_open(Derived::kName, "beta1", value.first);
  detail::check_unit_open(Derived::kName, "beta2", value.second);
  betas_ = value;
  return static_cast<Derived&>(*this);
}

template <class Derived>
Derived& AdamFamilyOptions<Derived>::eps(double value) {
  detail::check_positive(Derived::kName, "eps", value);
  eps_ = value;
  return static_cast<Derived&>(*this);
}

template <class Derived>
Derived& AdamFamilyOptions<Derived>::weight_decay(double value) {
  detail::check_nonneg(Derived::kName, "weight_decay", value);
  weight_decay_ = value;
  return static_cast<Derived&>(*this);
}

template <class Derived>
Derived& AdamFamilyOptions<Derived>::amsgrad(bool value) {
  amsgrad_ = value;
  return static_cast<Derived&>(*this);
}

template <class Derived>
Derived& AdamFamilyOptions<Derived>::maximize(bool value) {
  maximize_ = value;
  return static_cast<Derived&>(*this);
}

template <class Derived>
void AdamFamilyOptions<Derived>::validate() const {
  detail::check_nonneg(Derived::kName, "lr", lr_);
  detail::check_unit_open(Derived::kName, "beta1", betas_.first);
  detail::check_unit_open(Derived::kName, "beta2", betas_.second);
  detail::check_positive(Derived::kName, "eps", eps_);
  detail::check_nonneg(Derived::kName, "weight_decay", weight_decay_);
}

template <class Derived>
void AdamFamilyOptions<Derived>::save(StateDict& out, const std::string& prefix) const {
  out.scalars[prefix + "lr"] = lr_;
  out.scalars[prefix + "beta1"] = betas_.first;
  out.scalars[prefix + "beta2"] = betas_.second;
  out.scalars[prefix + "eps"] = eps_;
  out.scalars[prefix + "weight_decay"] = weight_decay_;
  out.scalars[prefix + "amsgrad"] = amsgrad_ ? 1.0 : 0.0;
  out.scalars[prefix + "maximize"] = maximize_ ? 1.0 : 0.0;
}

template <class Derived>
void AdamFamilyOptions<Derived>::load(const StateDict& in, const std::string& prefix) {
  const char* who = Derived::kName;
  detail::load_option(in, prefix + "lr", who, [&](double v) { lr(v); });
  detail::load_option(in, prefix + "beta1", who, [&](double v) { betas({v, betas_.second}); });
  detail::load_option(in, prefix + "beta2", who, [&](double v) { betas({betas_.first, v}); });
  detail::load_option(in, prefix + "eps", who, [&](double v) { eps(v); });
  detail::load_option(in, prefix + "weight_decay", who, [&](double v) { weight_decay(v); });
  amsgrad(detail::require_bool(in, prefix + "amsgrad", who));
  maximize(detail::require_bool(in, prefix + "maximize", who));
}

template class AdamFamilyOptions<AdamOptions>;
template class AdamFamilyOptions<AdamWOptions>;

// ---- update --------------------------------------------------------------------------------

namespace {

template <class O>
void adam_update(const O& o, Tensor& p, const Tensor& g, ParamState& st, bool decoupled) {
  const double lr = o.lr(), b1 = o.betas().first, b2 = o.betas().second, wd = o.weight_decay();
  const auto t = static_cast<double>(++st.step);
  if (decoupled && wd != 0.0) p.mul_(1.0 - lr * wd);
  const auto [d, s] = detail::effective_grad(g, p, decoupled ? 0.0 : wd, o.maximize());

  st.buffers.resize(3);
  Tensor& m = detail::zeros_if_undefined(st.buffers[0], p);
  Tensor& v = detail::zeros_if_undefined(st.buffers[1], p);
  m.mul_(b1).add_(d, (1.0 - b1) * s);
  v.mul_(b2).addcmul_(d, d, 1.0 - b2);

  const double bias_correction1 = 1.0 - std::pow(b1, t);
  const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(b2, t));
  const double step_size = lr / bias_correction1;
  Tensor denom;
  if (o.amsgrad()) {
    Tensor& v_max = detail::zeros_if_undefined(st.buffers[2], p);
    v_max.copy_(maximum(v_max, v));
    denom = v_max.sqrt();
  } else {
    denom = v.sqrt();
  }
  denom.mul_(1.0 / bias_correction2_sqrt).add_(o.eps());
  p.addcdiv_(m, denom, -step_size);
}

}  // namespace

Adam::Adam(TensorList params, const AdamOptions& options)
    : Adam(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults) : Optimizer(defaults.clone()) {
  init_groups(std::move(groups));
}

void Adam::check_options(const OptimizerOptions& options) const {
  detail::expect_options<AdamOptions>(options, name(), AdamOptions::kName);
}

void Adam::update(const OptimizerOptions& options, Tensor& p, const Tensor& g, ParamState& st) {
  adam_update(static_cast<const AdamOptions&>(options), p, g, st, /*decoupled=*/false);
}

AdamW::AdamW(TensorList params, const AdamWOptions& options)
    : AdamW(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& defaults) : Optimizer(defaults.clone()) {
  init_groups(std::move(groups));
}

void AdamW::check_options(const OptimizerOptions& options) const {
  detail::expect_options<AdamWOptions>(options, name(), AdamWOptions::kName);
}

void AdamW::update(const OptimizerOptions& options, Tensor& p, const Tensor& g, ParamState& st) {
  adam_update(static_cast<const AdamWOptions&>(options), p, g, st, /*decoupled=*/true);
}

}  // namespace xgrad::optim
