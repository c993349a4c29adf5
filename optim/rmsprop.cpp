#include "rmsprop.hpp"

#include "detail/util.hpp"

namespace xgrad::optim {

namespace {
constexpr const char* kName = "RMSpropOptions";
}

RMSpropOptions::RMSpropOptions(double lr) : lr_(0.0) { this->lr(lr); }

RMSpropOptions& RMSpropOptions::lr(double value) {
  detail::check_nonneg(kName, "lr", value);
  lr_ = value;
  return *this;
}

RMSpropOptions& RMSpropOptions::alpha(double value) {
  detail::check_unit_closed(kName, "alpha", value);
  alpha_ = value;
  return *this;
}

RMSpropOptions& RMSpropOptions::eps(double value) {
  detail::check_positive(kName, "eps", value);
  eps_ = value;
  return *this;
}

RMSpropOptions& RMSpropOptions::weight_decay(double value) {
  detail::check_nonneg(kName, "weight_decay", value);
  weight_decay_ = value;
  return *this;
}

RMSpropOptions& RMSpropOptions::momentum(double value) {
  detail::check_nonneg(kName, "momentum", value);
  momentum_ = value;
  return *this;
}

RMSpropOptions& RMSpropOptions::centered(bool value) {
  centered_ = value;
  return *this;
}

RMSpropOptions& RMSpropOptions::maximize(bool value) {
  maximize_ = value;
  return *this;
}

void RMSpropOptions::validate() const {
  detail::check_nonneg(kName, "lr", lr_);
  detail::check_unit_closed(kName, "alpha", alpha_);
  detail::check_positive(kName, "eps", eps_);
  detail::check_nonneg(kName, "weight_decay", weight_decay_);
  detail::check_nonneg(kName, "momentum", momentum_);
}

void RMSpropOptions::save(StateDict& out, const std::string& prefix) const {
  out.scalars[prefix + "lr"] = lr_;
  out.scalars[prefix + "alpha"] = alpha_;
  out.scalars[prefix + "eps"] = eps_;
  out.scalars[prefix + "weight_decay"] = weight_decay_;
  out.scalars[prefix + "momentum"] = momentum_;
  out.scalars[prefix + "centered"] = centered_ ? 1.0 : 0.0;
  out.scalars[prefix + "maximize"] = maximize_ ? 1.0 : 0.0;
}

void RMSpropOptions::load(const StateDict& in, const std::string& prefix) {
  detail::load_option(in, prefix + "lr", kName, [&](double v) { lr(v); });
  detail::load_option(in, prefix + "alpha", kName, [&](double v) { alpha(v); });
  detail::load_option(in, prefix + "eps", kName, [&](double v) { eps(v); });
  detail::load_option(in, prefix + "weight_decay", kName, [&](double v) { weight_decay(v); });
  detail::load_option(in, prefix + "momentum", kName, [&](double v) { momentum(v); });
  centered(detail::require_bool(in, prefix + "centered", kName));
  maximize(detail::require_bool(in, prefix + "maximize", kName));
}

RMSprop::RMSprop(TensorList params, const RMSpropOptions& options)
    : RMSprop(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& defaults) : Optimizer(defaults.clone()) {
  init_groups(std::move(groups));
}

void RMSprop::check_options(const OptimizerOptions& options) const {
  detail::expect_options<RMSpropOptions>(options, name(), kName);
}

void RMSprop::update(const OptimizerOptions& options, Tensor& p, const Tensor& g, ParamState& st) {
  const auto& o = static_cast<const RMSpropOptions&>(options);
  const double lr = o.lr(), alpha = o.alpha(), mu = o.momentum();
  ++st.step;
  const auto [d, s] = detail::effective_grad(g, p, o.weight_decay(), o.maximize());

  st.buffers.resize(3);
  Tensor& square_avg = detail::zeros_if_undefined(st.buffers[0], p);
  square_avg.mul_(alpha).addcmul_(d, d, 1.0 - alpha);
  Tensor avg;
  if (o.centered()) {
    Tensor& grad_avg = detail::zeros_if_undefined(st.buffers[2], p);
    grad_avg.mul_(alpha).add_(d, (1.0 - alpha) * s);
    Tensor variance = square_avg.clone();
    variance.addcmul_(grad_avg, grad_avg, -1.0);
    avg = variance.sqrt();
  } else {
    avg = square_avg.sqrt();
  }
  avg.add_(o.eps());
  if (mu > 0.0) {
    Tensor& buf = detail::zeros_if_undefined(st.buffers[1], p);
    buf.mul_(mu).addcdiv_(d, avg, s);
    p.add_(buf, -lr);
  } else {
    p.addcdiv_(d, avg, -lr * s);
  }
}

}  // namespace xgrad::optim
