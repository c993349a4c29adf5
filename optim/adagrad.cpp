#include "adagrad.hpp"

#include "../autograd/ops/factories.hpp"
#include "detail/util.hpp"

namespace xgrad::optim {

namespace {
constexpr const char* kName = "AdagradOptions";
}

AdagradOptions::AdagradOptions(double lr) : lr_(0.0) { this->lr(lr); }

AdagradOptions& AdagradOptions::lr(double value) {
  detail::check_nonneg(kName, "lr", value);
  lr_ = value;
  return *this;
}

AdagradOptions& AdagradOptions::lr_decay(double value) {
  detail::check_nonneg(kName, "lr_decay", value);
  lr_decay_ = value;
  return *this;
}

AdagradOptions& AdagradOptions::weight_decay(double value) {
  detail::check_nonneg(kName, "weight_decay", value);
  weight_decay_ = value;
  return *this;
}

AdagradOptions& AdagradOptions::initial_accumulator_value(double value) {
  detail::check_nonneg(kName, "initial_accumulator_value", value);
  initial_accumulator_value_ = value;
  return *this;
}

AdagradOptions& AdagradOptions::eps(double value) {
  detail::check_positive(kName, "eps", value);
  eps_ = value;
  return *this;
}

AdagradOptions& AdagradOptions::maximize(bool value) {
  maximize_ = value;
  return *this;
}

void AdagradOptions::validate() const {
  detail::check_nonneg(kName, "lr", lr_);
  detail::check_nonneg(kName, "lr_decay", lr_decay_);
  detail::check_nonneg(kName, "weight_decay", weight_decay_);
  detail::check_nonneg(kName, "initial_accumulator_value", initial_accumulator_value_);
  detail::check_positive(kName, "eps", eps_);
}

void AdagradOptions::save(StateDict& out, const std::string& prefix) const {
  out.scalars[prefix + "lr"] = lr_;
  out.scalars[prefix + "lr_decay"] = lr_decay_;
  out.scalars[prefix + "weight_decay"] = weight_decay_;
  out.scalars[prefix + "initial_accumulator_value"] = initial_accumulator_value_;
  out.scalars[prefix + "eps"] = eps_;
  out.scalars[prefix + "maximize"] = maximize_ ? 1.0 : 0.0;
}

void AdagradOptions::load(const StateDict& in, const std::string& prefix) {
  detail::load_option(in, prefix + "lr", kName, [&](double v) { lr(v); });
  detail::load_option(in, prefix + "lr_decay", kName, [&](double v) { lr_decay(v); });
  detail::load_option(in, prefix + "weight_decay", kName, [&](double v) { weight_decay(v); });
  detail::load_option(in, prefix + "initial_accumulator_value", kName, [&](double v) { initial_accumulator_value(v); });
  detail::load_option(in, prefix + "eps", kName, [&](double v) { eps(v); });
  maximize(detail::require_bool(in, prefix + "maximize", kName));
}

Adagrad::Adagrad(TensorList params, const AdagradOptions& options)
    : Adagrad(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& defaults) : Optimizer(defaults.clone()) {
  init_groups(std::move(groups));
}

void Adagrad::check_options(const OptimizerOptions& options) const {
  detail::expect_options<AdagradOptions>(options, name(), kName);
}

void Adagrad::update(const OptimizerOptions& options, Tensor& p, const Tensor& g, ParamState& st) {
  const auto& o = static_cast<const AdagradOptions&>(options);
  const auto t = static_cast<double>(++st.step);
  const auto [d, s] = detail::effective_grad(g, p, o.weight_decay(), o.maximize());
  const double clr = o.lr() / (1.0 + (t - 1.0) * o.lr_decay());

  st.buffers.resize(1);
  Tensor& sum = st.buffers[0];
  if (!sum.defined()) sum = full_like(p, o.initial_accumulator_value());
  sum.addcmul_(d, d, 1.0);
  Tensor denom = sum.sqrt();
  denom.add_(o.eps());
  p.addcdiv_(d, denom, -clr * s);
}

}  // namespace xgrad::optim
