#include "sgd.hpp"

#include "detail/util.hpp"

namespace xgrad::optim {

namespace {
constexpr const char* kName = "SGDOptions";
}

SGDOptions::SGDOptions(double lr) : lr_(0.0) { this->lr(lr); }

SGDOptions& SGDOptions::lr(double value) {
  detail::check_nonneg(kName, "lr", value);
  lr_ = value;
  return *this;
}

SGDOptions& SGDOptions::momentum(double value) {
  detail::check_nonneg(kName, "momentum", value);
  momentum_ = value;
  return *this;
}

SGDOptions& SGDOptions::dampening(double value) {
  detail::check_unit_closed(kName, "dampening", value);
  dampening_ = value;
  return *this;
}

SGDOptions& SGDOptions::weight_decay(double value) {
  detail::check_nonneg(kName, "weight_decay", value);
  weight_decay_ = value;
  return *this;
}

SGDOptions& SGDOptions::nesterov(bool value) {
  nesterov_ = value;
  return *this;
}

SGDOptions& SGDOptions::maximize(bool value) {
  maximize_ = value;
  return *this;
}

SGDOptions& SGDOptions::momentum_style(MomentumStyle value) {
  if (value != MomentumStyle::pytorch && value != MomentumStyle::keras)
    throw ValueError(fmt::format("{}: invalid momentum_style {}", kName, static_cast<int>(value)));
  momentum_style_ = value;
  return *this;
}

void SGDOptions::validate() const {
  detail::check_nonneg(kName, "lr", lr_);
  detail::check_nonneg(kName, "momentum", momentum_);
  detail::check_unit_closed(kName, "dampening", dampening_);
  detail::check_nonneg(kName, "weight_decay", weight_decay_);
  if (nesterov_ && momentum_ <= 0.0)
    throw ValueError(fmt::format("{}: nesterov requires momentum > 0 (got momentum {})", kName, momentum_));
  if (nesterov_ && dampening_ != 0.0)
    throw ValueError(fmt::format("{}: nesterov requires dampening 0 (got dampening {})", kName, dampening_));
  if (momentum_style_ == MomentumStyle::keras && dampening_ != 0.0)
    throw ValueError(fmt::format("{}: dampening is only defined for MomentumStyle::pytorch (got dampening {} with "
                                 "MomentumStyle::keras)",
                                 kName, dampening_));
}

void SGDOptions::save(StateDict& out, const std::string& prefix) const {
  out.scalars[prefix + "lr"] = lr_;
  out.scalars[prefix + "momentum"] = momentum_;
  out.scalars[prefix + "dampening"] = dampening_;
  out.scalars[prefix + "weight_decay"] = weight_decay_;
  out.scalars[prefix + "nesterov"] = nesterov_ ? 1.0 : 0.0;
  out.scalars[prefix + "maximize"] = maximize_ ? 1.0 : 0.0;
  out.scalars[prefix + "momentum_style"] = momentum_style_ == MomentumStyle::keras ? 1.0 : 0.0;
}

void SGDOptions::load(const StateDict& in, const std::string& prefix) {
  detail::load_option(in, prefix + "lr", kName, [&](double v) { lr(v); });
  detail::load_option(in, prefix + "momentum", kName, [&](double v) { momentum(v); });
  detail::load_option(in, prefix + "dampening", kName, [&](double v) { dampening(v); });
  detail::load_option(in, prefix + "weight_decay", kName, [&](double v) { weight_decay(v); });
  nesterov(detail::require_bool(in, prefix + "nesterov", kName));
  maximize(detail::require_bool(in, prefix + "maximize", kName));
  momentum_style(detail::require_bool(in, prefix + "momentum_style", kName) ? MomentumStyle::keras : MomentumStyle::pytorch);
}

SGD::SGD(TensorList params, const SGDOptions& options) : SGD(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults) : Optimizer(defaults.clone()) {
  init_groups(std::move(groups));
}

void SGD::check_options(const OptimizerOptions& options) const {
  detail::expect_options<SGDOptions>(options, name(), kName);
}

void SGD::update(const OptimizerOptions& options, Tensor& p, const Tensor& g, ParamState& st) {
  const auto& o = static_cast<const SGDOptions&>(options);
  const double lr = o.lr(), mu = o.momentum(), wd = o.weight_decay();
  const double s = o.maximize() ? -1.0 : 1.0;  // d = s*g + wd*p
  ++st.step;
  if (mu == 0.0) {
    // p - lr (s g + wd p) = (1 - lr wd) p - lr s g
    if (wd != 0.0) p.mul_(1.0 - lr * wd);
    p.add_(g, -lr * s);
    return;
  }
  st.buffers.resize(2);
  if (o.momentum_style() == MomentumStyle::pytorch) {
    const double damp = o.dampening();
    Tensor& b = st.buffers[0];
    if (!b.defined()) {  // b = d
      b = g.detach().clone();
      if (s < 0.0) b.mul_(-1.0);
      if (wd != 0.0) b.add_(p, wd);
    } else if (wd == 0.0 && !o.nesterov()) {  // the common case, one fused pass: b = mu b + (1 - damp) s g; p -= lr b
      p.momentum_step_(b, g, mu, (1.0 - damp) * s, lr);
      return;
    } else {  // b = mu b + (1 - damp) (s g + wd p)
      b.mul_(mu).add_(g, (1.0 - damp) * s);
      if (wd != 0.0) b.add_(p, (1.0 - damp) * wd);
    }
    if (o.nesterov()) {  // p - lr (d + mu b)
      if (wd != 0.0) p.mul_(1.0 - lr * wd);
      p.add_(g, -lr * s).add_(b, -lr * mu);
    } else {
      p.add_(b, -lr);
    }
  } else {
    Tensor& v = detail::zeros_if_undefined(st.buffers[1], p);
    v.mul_(mu).add_(g, -lr * s);  // v = mu v - lr d
    if (wd != 0.0) v.add_(p, -lr * wd);
    if (o.nesterov()) {  // p + mu v - lr d
      if (wd != 0.0) p.mul_(1.0 - lr * wd);
      p.add_(v, mu).add_(g, -lr * s);
    } else {
      p.add_(v);
    }
  }
}

}  // namespace xgrad::optim
