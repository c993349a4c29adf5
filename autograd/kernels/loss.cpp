// Element-wise BCE kernels on flat xtensor adaptors (vectorized log/exp through xsimd).
#include "loss.hpp"

#include <cmath>

#include "../detail/xt.hpp"
#include "elementwise.hpp"

namespace xgrad::kernels {
namespace {

// `t` broadcast to `shape` as a contiguous tensor (t itself when it already is one).
Tensor dense_as(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return contiguous(t);
  Tensor out = empty(shape, t.dtype());
  copy_into(out, t);
  return out;
}

}  // namespace

Tensor binary_cross_entropy(const Tensor& p, const Tensor& y, const Tensor& weight) {
  Tensor out = empty(p.shape(), p.dtype());
  if (out.numel() == 0) return out;
  const Tensor pc = contiguous(p), yc = contiguous(y);
  dispatch_dtype(p.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T one = 1, floor = -100;
    auto o = xtd::flat<T>(out);
    auto pv = xtd::flat<T>(pc);
    auto yv = xtd::flat<T>(yc);
    xt::noalias(o) = -(yv * xt::maximum(xt::log(pv), floor) + (one - yv) * xt::maximum(xt::log1p(-pv), floor));
    if (weight.defined()) {
      const Tensor wc = dense_as(weight, p.shape());
      xt::noalias(o) = o * xtd::flat<T>(wc);
    }
  });
  return out;
}

Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y, const Tensor& weight, const Tensor& pos_weight) {
  Tensor out = empty(z.shape(), z.dtype());
  if (out.numel() == 0) return out;
  const Tensor zc = contiguous(z), yc = contiguous(y);
  dispatch_dtype(z.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T one = 1, zero = 0;
    auto o = xtd::flat<T>(out);
    auto zv = xtd::flat<T>(zc);
    auto yv = xtd::flat<T>(yc);
    // softplus(-z) = ln(1 + e^-|z|) + max(-z, 0): no overflow for any z
    if (pos_weight.defined()) {
      const Tensor pw = dense_as(pos_weight, z.shape());
      auto pv = xtd::flat<T>(pw);
      xt::noalias(o) = (one - yv) * zv + (one + (pv - one) * yv) * (xt::log1p(xt::exp(-xt::abs(zv))) + xt::maximum(-zv, zero));
    } else {
      xt::noalias(o) = (one - yv) * zv + xt::log1p(xt::exp(-xt::abs(zv))) + xt::maximum(-zv, zero);
    }
    if (weight.defined()) {
      const Tensor wc = dense_as(weight, z.shape());
      xt::noalias(o) = o * xtd::flat<T>(wc);
    }
  });
  return out;
}

std::int64_t first_outside(const Tensor& x, double lo, double hi, double& value) {
  const Tensor xc = contiguous(x);
  return dispatch_dtype(x.dtype(), [&](auto tag) -> std::int64_t {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(xc.impl()->data_ptr());
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    for (std::int64_t i = 0, n_ = xc.numel(); i < n_; ++i)
      if (!(p[i] >= l && p[i] <= h)) {
        value = static_cast<double>(p[i]);
        return i;
      }
    return -1;
  });
}

}  // namespace xgrad::kernels
