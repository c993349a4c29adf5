// Reductions beyond sum/mean: var, std, prod, logsumexp, norm, max/min (all, along a dim), amax/amin,
// argmax/argmin. Backward formulas are written with xgrad ops (differentiable again); masks of
// selected elements (ties of max, signs) are constants, which is right away from ties and kinks.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "../detail/checks.hpp"
#include "../grad_mode.hpp"
#include "../detail/record.hpp"
#include "../detail/tensor_impl.hpp"
#include "../kernels/elementwise.hpp"
#include "../kernels/reduce.hpp"
#include "../kernels/reduce_extra.hpp"
#include "../ops.hpp"

namespace xgrad {

using detail::input;
using detail::output;
using detail::record;

namespace {

// g of a reduction over `dims` broadcast back to the input's `shape` (reinserting the reduced dims
// unless keepdim kept them).
Tensor expand_back(const Tensor& g, const Shape& shape, const std::vector<std::int64_t>& dims, bool keepdim) {
  if (keepdim || dims.empty()) return expand(g, shape);
  return expand(reshape(g, kernels::reduced_shape(shape, dims, true)), shape);
}

std::int64_t group_size(const Shape& shape, const std::vector<std::int64_t>& dims) {
  std::int64_t n = 1;
  for (auto d : dims) n *= shape[static_cast<std::size_t>(d)];
  return n;
}

// ShapeError for a max-like reduction over an empty set.
void check_nonempty(const Tensor& x, const std::vector<std::int64_t>& dims, const char* op) {
  if (group_size(x.shape(), dims) == 0)
    detail::raise<ShapeError>(op, fmt::format("cannot reduce over zero elements (input shape {}, dims [{}])", shape_str(x.shape()),
                                              fmt::join(dims, ", ")));
}

// g / y where y != 0, 0 where y == 0 (differentiable in both; the subgradient choice of PyTorch).
Tensor div_or_zero(const Tensor& g, const Tensor& y) {
  const Tensor nz = ne(y, 0.0);
  return g * nz / (y + (1.0 - nz));
}

// For each element of x, the product of the *other* elements of its reduction group over `dims`,
// without any division (exact with zeros). Prefix and suffix products by log-step doubling scans
// built from mul, cat and narrow, so the result is differentiable to any order.
Tensor prod_others(const Tensor& x, const std::vector<std::int64_t>& dims) {
  if (x.numel() == 0) return zeros_like(x);
  if (x.dim() == 0) return ones_like(x);
  std::vector<std::int64_t> perm, inverse(static_cast<std::size_t>(x.dim()));
  Shape flat_shape;
  std::int64_t n = 1;
  for (std::int64_t i = 0; i < x.dim(); ++i)
    if (!std::binary_search(dims.begin(), dims.end(), i)) {
      perm.push_back(i);
      flat_shape.push_back(x.shape()[static_cast<std::size_t>(i)]);
    }
  for (auto d : dims) {
    perm.push_back(d);
    n *= x.shape()[static_cast<std::size_t>(d)];
  }
  for (std::size_t i = 0; i < perm.size(); ++i) inverse[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
  flat_shape.push_back(n);
  const Tensor xp = permute(x, perm);
  const Tensor f = reshape(xp, flat_shape);
  const auto last = static_cast<std::int64_t>(flat_shape.size()) - 1;
  auto ones_of = [&](std::int64_t len) {
    Shape s = flat_shape;
    s.back() = len;
    return ones(s, x.dtype());
  };
  Tensor pre = f, suf = f;  // inclusive prefix / suffix products
  for (std::int64_t s = 1; s < n; s *= 2) {
    const Tensor pad = ones_of(s);
    pre = pre * cat({pad, narrow(pre, last, 0, n - s)}, last);
    suf = suf * cat({narrow(suf, last, s, n - s), pad}, last);
  }
  const Tensor one = ones_of(1);
  const Tensor others = cat({one, narrow(pre, last, 0, n - 1)}, last) * cat({narrow(suf, last, 1, n - 1), one}, last);
  return permute(reshape(others, xp.shape()), inverse);
}

// max/min over every element; the gradient is split evenly among the tied maxima.
Tensor extreme_all(const Tensor& x, bool is_max, const char* op, const char* node, const Where& where) {
  OpScope scope(op, where);
  detail::check_defined(x, op);
  if (x.numel() == 0)
    detail::raise<ShapeError>(op, fmt::format("cannot reduce an empty tensor (shape {}); use the overload with a dim", shape_str(x.shape())));
  const auto dims = detail::normalize_dims({}, x.dim(), op);
  Tensor out = kernels::extreme(x, dims, is_max, false);
  return record(out, node, where, {&x}, {input(x), output(out)}, [](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0), y = n.saved(1);
    const Tensor mask = eq(v, y);
    return {mask * (g[0] / sum(mask))};
  });
}

// amax/amin over dims; the gradient is split evenly among the ties of each group.
Tensor extreme_dims(const Tensor& x, const Dims& dims_in, bool keepdim, bool is_max, const char* op, const char* node, const Where& where) {
  OpScope scope(op, where);
  detail::check_defined(x, op);
  const auto dims = detail::normalize_dims(dims_in, x.dim(), op);
  check_nonempty(x, dims, op);
  Tensor out = kernels::extreme(x, dims, is_max, keepdim);
  return record(out, node, where, {&x}, {input(x), output(out)}, [dims, keepdim](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0), y = n.saved(1);
    const Tensor mask = eq(v, expand_back(y, v.shape(), dims, keepdim));
    const Tensor count = sum(mask, dims, /*keepdim=*/true);
    return {mask / count * expand_back(g[0], v.shape(), dims, keepdim)};
  });
}

// max/min along dim with indices; the gradient goes to the selected element (scatter into zeros).
ValuesIndices extreme_along(const Tensor& x, std::int64_t dim, bool keepdim, bool is_max, const char* op, const char* node,
                            const Where& where) {
  OpScope scope(op, where);
  detail::check_defined(x, op);
  const auto d = wrap_dim(dim, x.dim(), op);
  if (x.dim() > 0 && x.shape()[static_cast<std::size_t>(d)] == 0)
    detail::raise<ShapeError>(op, fmt::format("cannot reduce dimension {} of size 0 (input shape {})", d, shape_str(x.shape())));
  ValuesIndices r;
  kernels::extreme_along(x, d, is_max, keepdim, &r.values, &r.indices);
  if (x.dim() == 0) {
    return {record(r.values, node, where, {&x}, {}, [](Node&, TensorList& g) -> TensorList { return {g[0]}; }), r.indices};
  }
  record(r.values, node, where, {&x}, {input(r.indices)}, [shape = x.shape(), d, keepdim](Node& n, TensorList& g) -> TensorList {
    const Tensor idx = keepdim ? n.saved(0) : unsqueeze(n.saved(0), d);
    const Tensor gk = keepdim ? g[0] : unsqueeze(g[0], d);
    return {scatter_add(zeros(shape, gk.dtype()), d, idx, gk)};
  });
  return r;
}

Tensor arg_along(const Tensor& x, std::int64_t dim, bool keepdim, bool is_max, const char* op, const Where& where) {
  OpScope scope(op, where);
  detail::check_defined(x, op);
  const auto d = wrap_dim(dim, x.dim(), op);
  if (x.dim() > 0 && x.shape()[static_cast<std::size_t>(d)] == 0)
    detail::raise<ShapeError>(op, fmt::format("cannot reduce dimension {} of size 0 (input shape {})", d, shape_str(x.shape())));
  Tensor idx;
  kernels::extreme_along(x, d, is_max, keepdim, nullptr, &idx);
  return idx;
}

Tensor arg_all(const Tensor& x, bool is_max, const char* op, const Where& where) {
  OpScope scope(op, where);
  detail::check_defined(x, op);
  if (x.numel() == 0) detail::raise<ShapeError>(op, fmt::format("cannot reduce an empty tensor (shape {})", shape_str(x.shape())));
  const Tensor c = kernels::contiguous(x);
  const Tensor flat = make_view(c, {c.numel()}, {1}, c.impl()->offset);
  Tensor idx;
  kernels::extreme_along(flat, 0, is_max, false, nullptr, &idx);
  return idx;
}

}  // namespace

Tensor var(const Tensor& x, const Dims& dims_in, bool unbiased, bool keepdim, Where where) {
  OpScope scope("var", where);
  detail::check_floating(x, "var");
  const auto dims = detail::normalize_dims(dims_in, x.dim(), "var");
  const double denom = std::max(0.0, static_cast<double>(group_size(x.shape(), dims)) - (unbiased ? 1.0 : 0.0));
  Tensor out = kernels::var(x, dims, unbiased ? 1.0 : 0.0, keepdim);
  return record(out, "VarBackward", where, {&x}, {input(x)}, [dims, keepdim, denom](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0);
    return {(v - mean(v, dims, true)) * expand_back(g[0] * (2.0 / denom), v.shape(), dims, keepdim)};
  });
}

Tensor std(const Tensor& x, const Dims& dims_in, bool unbiased, bool keepdim, Where where) {
  OpScope scope("std", where);
  detail::check_floating(x, "std");
  const auto dims = detail::normalize_dims(dims_in, x.dim(), "std");
  const double denom = std::max(0.0, static_cast<double>(group_size(x.shape(), dims)) - (unbiased ? 1.0 : 0.0));
  Tensor out = kernels::unary(kernels::UnaryOp::sqrt, kernels::var(x, dims, unbiased ? 1.0 : 0.0, keepdim));
  return record(out, "StdBackward", where, {&x}, {input(x), output(out)}, [dims, keepdim, denom](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0), y = n.saved(1);
    return {(v - mean(v, dims, true)) * expand_back(div_or_zero(g[0], y) * (1.0 / denom), v.shape(), dims, keepdim)};
  });
}

Tensor prod(const Tensor& x, const Dims& dims_in, bool keepdim, Where where) {
  OpScope scope("prod", where);
  detail::check_defined(x, "prod");
  const auto dims = detail::normalize_dims(dims_in, x.dim(), "prod");
  Tensor out = kernels::prod(x, dims, keepdim);
  return record(out, "ProdBackward", where, {&x}, {input(x), output(out)}, [dims, keepdim](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0), y = n.saved(1);
    // Π_{j≠i} x_j = y / x_i when that division is exact enough: no zero in x, and y neither
    // underflowed to 0 nor overflowed (else y / x_i loses the finite products of the others).
    // Otherwise the division-free exclusive products.
    if (!kernels::has_zero(v) && !kernels::has_zero(y) && kernels::all_finite(y))
      return {expand_back(g[0] * y, v.shape(), dims, keepdim) / v};
    return {expand_back(g[0], v.shape(), dims, keepdim) * prod_others(v, dims)};
  });
}

Tensor logsumexp(const Tensor& x, const Dims& dims_in, bool keepdim, Where where) {
  OpScope scope("logsumexp", where);
  detail::check_floating(x, "logsumexp");
  const auto dims = detail::normalize_dims(dims_in, x.dim(), "logsumexp");
  Tensor out = kernels::logsumexp(x, dims, keepdim);
  return record(out, "LogsumexpBackward", where, {&x}, {input(x), output(out)}, [dims, keepdim](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0), y = n.saved(1);
    return {expand_back(g[0], v.shape(), dims, keepdim) * exp(v - expand_back(y, v.shape(), dims, keepdim))};
  });
}

namespace {
// Forward of the p-norms without a kernel of their own (p = 0, -inf, any other finite p > 0), built
// from ops without recording. A general p is scaled by the largest |x| of each group, so that |x|^p
// neither overflows nor underflows: ‖x‖_p = m (Σ (|x|/m)^p)^(1/p).
Tensor norm_forward_composed(const Tensor& x, double p, const std::vector<std::int64_t>& dims, bool keepdim) {
  NoGradGuard no_grad;
  const Shape out_shape = kernels::reduced_shape(x.shape(), dims, keepdim);
  if (p == 0.0) return sum(ne(x, 0.0), dims, keepdim);
  if (group_size(x.shape(), dims) == 0) return zeros(out_shape, x.dtype());
  const Tensor a = abs(x);
  if (std::isinf(p)) return amin(a, dims, keepdim);
  const Tensor m = amax(a, dims, /*keepdim=*/true);
  const Tensor zero_group = eq(m, 0.0);
  const Tensor safe_m = m + zero_group;  // 1 where the whole group is 0 (every term is then 0)
  const Tensor s = sum(pow(a / safe_m, p), dims, /*keepdim=*/true);
  return reshape(m * pow(s, 1.0 / p), out_shape);
}
}  // namespace

Tensor norm(const Tensor& x, double p, const Dims& dims_in, bool keepdim, Where where) {
  OpScope scope("norm", where);
  detail::check_floating(x, "norm");
  if (std::isnan(p) || (p < 0 && !std::isinf(p)))
    detail::raise<ValueError>("norm", fmt::format("p must be >= 0, infinity or -infinity, got {}", p));
  const bool inf = std::isinf(p) && p > 0, minus_inf = std::isinf(p) && p < 0;
  const auto dims = detail::normalize_dims(dims_in, x.dim(), "norm");
  if (inf || minus_inf) check_nonempty(x, dims, "norm");
  const bool kernel = p == 1.0 || p == 2.0 || inf;
  Tensor out = kernel ? kernels::norm(x, inf ? HUGE_VAL : p, dims, keepdim) : norm_forward_composed(x, p, dims, keepdim);
  return record(out, "NormBackward", where, {&x}, {input(x), output(out)}, [p, dims, keepdim](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0);
    const Shape& shape = v.shape();
    if (p == 0.0) return {zeros_like(v)};  // a count: piecewise constant
    if (p == 1.0) return {expand_back(g[0], shape, dims, keepdim) * sign(v)};
    const Tensor y = n.saved(1);
    if (p == 2.0) return {v * expand_back(div_or_zero(g[0], y), shape, dims, keepdim)};
    if (std::isinf(p)) {
      // to the largest (inf) or smallest (-inf) |x|, split among ties, with the sign of x
      const Tensor mask = eq(abs(v), expand_back(y, shape, dims, keepdim));
      const Tensor count = sum(mask, dims, /*keepdim=*/true);
      return {sign(v) * mask / count * expand_back(g[0], shape, dims, keepdim)};
    }
    // d‖x‖_p/dx = sign(x)|x|^(p-1) / ‖x‖^(p-1); 0 where ‖x‖ = 0 (PyTorch's choice).
    if (p < 1.0) {
      // |x|^(p-1) is infinite at x = 0: taken as 0 there, through a base that is never 0 (also in
      // double backward), then times ‖x‖^(1-p), which is finite.
      const Tensor nz = ne(v, 0.0);
      const Tensor scaled = sign(v) * pow(abs(v) + (1.0 - nz), p - 1.0) * nz;
      return {scaled * expand_back(g[0] * pow(y, 1.0 - p), shape, dims, keepdim)};
    }
    return {sign(v) * pow(abs(v), p - 1.0) * expand_back(div_or_zero(g[0], pow(y, p - 1.0)), shape, dims, keepdim)};
  });
}

Tensor max(const Tensor& x, Where where) { return extreme_all(x, true, "max", "MaxBackward", where); }
Tensor min(const Tensor& x, Where where) { return extreme_all(x, false, "min", "MinBackward", where); }

ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim, Where where) {
  return extreme_along(x, dim, keepdim, true, "max", "MaxBackward", where);
}
ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim, Where where) {
  return extreme_along(x, dim, keepdim, false, "min", "MinBackward", where);
}

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim, Where where) {
  return extreme_dims(x, dims, keepdim, true, "amax", "AmaxBackward", where);
}
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim, Where where) {
  return extreme_dims(x, dims, keepdim, false, "amin", "AminBackward", where);
}

Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim, Where where) { return arg_along(x, dim, keepdim, true, "argmax", where); }
Tensor argmax(const Tensor& x, Where where) { return arg_all(x, true, "argmax", where); }
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim, Where where) { return arg_along(x, dim, keepdim, false, "argmin", where); }
Tensor argmin(const Tensor& x, Where where) { return arg_all(x, false, "argmin", where); }

}  // namespace xgrad
