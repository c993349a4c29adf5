#pragma once
// Internal helpers of the optim layer (option checks, effective gradients). Not installed.

#include <fmt/format.h>

#include <cmath>
#include <string>

#include "../../autograd/ops/factories.hpp"
#include "../../autograd/tensor.hpp"
#include "../optimizer.hpp"

namespace xgrad::optim::detail {

/// Throws ValueError "<cls>: invalid <opt> <value> (must be <requirement>)" unless `ok`;
/// NaN and infinite values are always rejected.
inline void check_option(bool ok, const char* cls, const char* opt, double value, const char* requirement) {
  if (!std::isfinite(value))
    throw ValueError(fmt::format("{}: invalid {} {} (must be a finite number {})", cls, opt, value, requirement));
  if (!ok) throw ValueError(fmt::format("{}: invalid {} {} (must be {})", cls, opt, value, requirement));
}
inline void check_nonneg(const char* cls, const char* opt, double v) { check_option(v >= 0.0, cls, opt, v, ">= 0"); }
inline void check_positive(const char* cls, const char* opt, double v) { check_option(v > 0.0, cls, opt, v, "> 0"); }
inline void check_unit_open(const char* cls, const char* opt, double v) {
  check_option(v >= 0.0 && v < 1.0, cls, opt, v, "in [0, 1)");
}
inline void check_unit_closed(const char* cls, const char* opt, double v) {
  check_option(v >= 0.0 && v <= 1.0, cls, opt, v, "in [0, 1]");
}

/// The gradient an update uses, sign*g + wd*p (sign = -1 when maximizing). Without weight decay it
/// returns `g` itself and the sign separately (callers fold the sign into their scale factors, so no
/// tensor is allocated); with weight decay it allocates d = sign*g + wd*p and returns sign = 1.
struct EffectiveGrad {
  Tensor d;
  double sign;
};
inline EffectiveGrad effective_grad(const Tensor& g, const Tensor& p, double weight_decay, bool maximize) {
  if (weight_decay == 0.0) return {g, maximize ? -1.0 : 1.0};
  Tensor d = g.detach().clone();
  if (maximize) d.mul_(-1.0);
  d.add_(p, weight_decay);
  return {d, 1.0};
}

/// `buffer`, created with zeros like `like` when undefined.
inline Tensor& zeros_if_undefined(Tensor& buffer, const Tensor& like) {
  if (!buffer.defined()) buffer = zeros_like(like);
  return buffer;
}

/// The options of a group cast to the optimizer's options type O (named `expected`), validated.
/// ValueError "<optimizer> needs <expected>, got <name>" for another type.
template <class O>
const O& expect_options(const OptimizerOptions& options, const char* optimizer, const char* expected) {
  const auto* typed = dynamic_cast<const O*>(&options);
  if (typed == nullptr) throw ValueError(fmt::format("{} needs {}, got {}", optimizer, expected, options.name()));
  typed->validate();
  return *typed;
}

/// Reads scalars[key] and passes it to `set` (a chained setter); a ValueError from the setter is
/// rethrown naming the key.
template <class Setter>
void load_option(const StateDict& in, const std::string& key, const char* who, Setter&& set) {
  const double v = require_scalar(in, key, who);
  try {
    set(v);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("{}: load_state_dict: key '{}': {}", who, key, e.what()));
  }
}

}  // namespace xgrad::optim::detail
