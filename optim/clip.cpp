#include "clip.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "../autograd/grad_mode.hpp"

namespace xgrad::optim {

namespace {

// Σ |x|^p over the elements of t (max |x| when p is infinite), in double.
double grad_norm_part(const Tensor& t, double p) {
  const Tensor c = t.contiguous();
  return dispatch_dtype(c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = c.data<T>();
    const auto n = static_cast<std::size_t>(c.numel());
    double acc = 0.0;
    if (std::isinf(p)) {
      for (std::size_t i = 0; i < n; ++i) {
        const double a = std::abs(static_cast<double>(x[i]));
        acc = (a > acc || std::isnan(a)) ? a : acc;
        if (std::isnan(acc)) break;
      }
    } else if (p == 2.0) {
      for (std::size_t i = 0; i < n; ++i) acc += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    } else if (p == 1.0) {
      for (std::size_t i = 0; i < n; ++i) acc += std::abs(static_cast<double>(x[i]));
    } else {
      for (std::size_t i = 0; i < n; ++i) acc += std::pow(std::abs(static_cast<double>(x[i])), p);
    }
    return acc;
  });
}

}  // namespace

double clip_grad_norm_(const TensorList& parameters, double max_norm, double norm_type, bool error_if_nonfinite) {
  if (!(max_norm >= 0.0))
    throw ValueError(fmt::format("clip_grad_norm_: invalid max_norm {} (must be >= 0)", max_norm));
  if (!(norm_type > 0.0))
    throw ValueError(fmt::format("clip_grad_norm_: invalid norm_type {} (must be > 0, or kInfNorm)", norm_type));
  NoGradGuard guard;
  TensorList grads;
  for (const Tensor& p : parameters) {
    if (!p.defined()) throw ValueError("clip_grad_norm_: a parameter is an undefined tensor");
    Tensor g = p.grad();
    if (g.defined()) grads.push_back(std::move(g));
  }
  if (grads.empty()) return 0.0;

  const bool inf = std::isinf(norm_type);
  double acc = 0.0;
  for (const Tensor& g : grads) {
    const double part = grad_norm_part(g, norm_type);
    acc = inf ? ((part > acc || std::isnan(part)) ? part : acc) : acc + part;
  }
  const double total = inf || norm_type == 1.0 ? acc : norm_type == 2.0 ? std::sqrt(acc) : std::pow(acc, 1.0 / norm_type);
  if (error_if_nonfinite && !std::isfinite(total))
    throw ValueError(fmt::format("clip_grad_norm_: the total norm of order {} of the gradients is {}; the gradients were "
                                 "left unchanged (pass error_if_nonfinite = false to clip anyway)",
                                 norm_type, total));
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0 || std::isnan(coef))
    for (Tensor& g : grads) g.mul_(coef);
  return total;
}

void clip_grad_value_(const TensorList& parameters, double clip_value) {
  if (!(clip_value >= 0.0))
    throw ValueError(fmt::format("clip_grad_value_: invalid clip_value {} (must be >= 0)", clip_value));
  NoGradGuard guard;
  for (const Tensor& p : parameters) {
    if (!p.defined()) throw ValueError("clip_grad_value_: a parameter is an undefined tensor");
    Tensor g = p.grad();
    if (g.defined()) g.clamp_(-clip_value, clip_value);
  }
}

}  // namespace xgrad::optim
