// Matrix products. Forward and backward both run through BLAS gemm (kernels/gemm.cpp); the backward
// formulas are written with matmul on transpose *views*, which the kernel turns into transpose flags
// (no transposed copy is ever made), and they stay differentiable for double backward.
#include "linalg.hpp"

#include "../detail/checks.hpp"
#include "../detail/record.hpp"
#include "../kernels/elementwise.hpp"
#include "../kernels/gemm.hpp"
#include "../ops.hpp"

namespace xgrad {

using detail::input;
using detail::record;
using detail::sum_to;

namespace {

Shape batch_of(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

// (..., m, k)·(..., k, n) with broadcast batch dims, both ranks >= 2: the one recorded node of matmul.
Tensor matmul_nd(const Tensor& a, const Tensor& b, const Where& where) {
  Tensor out = kernels::matmul(a, b);
  // dA = g·Bᵀ, dB = Aᵀ·g, each reduced over the batch dims its operand was broadcast along. When b is
  // a plain matrix and a is batched, the forward folded the batch into a's rows; dB does the same:
  // one gemm (a flattened to (B·m, k))ᵀ·(g flattened to (B·m, n)) instead of a batch and a sum.
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  // Save only what backward reads: b for dA, a for dB (saved in the order a, b).
  const int saved_b = need_a ? (need_b ? 1 : 0) : -1, saved_a = need_b ? 0 : -1;
  auto backward = [saved_a, saved_b, sa = a.shape(), sb = b.shape()](Node& n, TensorList& g) -> TensorList {
    Tensor ga, gb;
    if (n.needs_input_grad(0) && saved_b >= 0)
      ga = sum_to(matmul(g[0], transpose(n.saved(static_cast<std::size_t>(saved_b)), -1, -2)), sa);
    if (n.needs_input_grad(1) && saved_a >= 0) {
      const Tensor aa = n.saved(static_cast<std::size_t>(saved_a));
      if (sb.size() == 2 && sa.size() > 2) {
        const std::int64_t rows = shape_numel(Shape(sa.begin(), sa.end() - 1)), k = sa.back(), cols = sb.back();
        gb = matmul(transpose(reshape(aa, {rows, k}), 0, 1), reshape(g[0], {rows, cols}));
      } else {
        gb = sum_to(matmul(transpose(aa, -1, -2), g[0]), sb);
      }
    }
    return {ga, gb};
  };
  if (need_a && need_b) return record(out, "MatmulBackward", where, {&a, &b}, {input(a), input(b)}, std::move(backward));
  if (need_a) return record(out, "MatmulBackward", where, {&a, &b}, {input(b)}, std::move(backward));
  return record(out, "MatmulBackward", where, {&a, &b}, {input(a)}, std::move(backward));
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, Where where) {
  OpScope scope("matmul", where);
  detail::check_binary(a, b, "matmul");
  if (a.dim() == 0 || b.dim() == 0)
    detail::raise<ShapeError>("matmul", fmt::format("both arguments need at least one dimension, got shapes {} and {}",
                                                    shape_str(a.shape()), shape_str(b.shape())));
  const std::int64_t ka = a.shape().back(), kb = b.dim() == 1 ? b.shape()[0] : b.shape()[b.shape().size() - 2];
  if (ka != kb)
    detail::raise<ShapeError>("matmul", fmt::format("shapes {} and {} are not aligned: {} (last dim of a) != {} ({} of b)",
                                                    shape_str(a.shape()), shape_str(b.shape()), ka, kb,
                                                    b.dim() == 1 ? "dim 0" : "second-to-last dim"));
  if (a.dim() > 2 && b.dim() > 2) {
    const Shape ba = batch_of(a.shape()), bb = batch_of(b.shape());
    const std::size_t r = std::max(ba.size(), bb.size());
    for (std::size_t i = 0; i < r; ++i) {
      const auto da = i < r - ba.size() ? 1 : ba[i - (r - ba.size())], db = i < r - bb.size() ? 1 : bb[i - (r - bb.size())];
      if (da != db && da != 1 && db != 1)
        detail::raise<ShapeError>("matmul", fmt::format("batch dimensions of shapes {} and {} cannot be broadcast ({} vs {})",
                                                        shape_str(a.shape()), shape_str(b.shape()), da, db));
    }
  }
  // A 1-D operand becomes a matrix (a row for a, a column for b); the added dim is removed after.
  const Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0, where) : a;
  const Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1, where) : b;
  Tensor out = matmul_nd(a2, b2, where);
  if (b.dim() == 1) out = squeeze(out, -1, where);
  if (a.dim() == 1) out = squeeze(out, a.dim() == 1 && b.dim() == 1 ? 0 : -2, where);
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Where where) {
  OpScope scope("linear", where);
  detail::check_floating(x, "linear", "input");
  detail::check_floating(weight, "linear", "weight");
  detail::check_same_dtype(x, weight, "linear");
  if (bias.defined()) {
    detail::check_floating(bias, "linear", "bias");
    detail::check_same_dtype(x, bias, "linear");
  }
  if (weight.dim() != 2)
    detail::raise<ShapeError>("linear", fmt::format("weight must be 2-D (out_features, in_features), got shape {}", shape_str(weight.shape())));
  if (x.dim() == 0 || x.shape().back() != weight.shape()[1])
    detail::raise<ShapeError>("linear", fmt::format("input of shape {} does not fit weight of shape {}: expected the last dim of the input to be {}",
                                                    shape_str(x.shape()), shape_str(weight.shape()), weight.shape()[1]));
  const std::int64_t in = weight.shape()[1], outf = weight.shape()[0];
  if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != outf))
    detail::raise<ShapeError>("linear", fmt::format("bias of shape {} does not fit weight of shape {}: expected shape {}",
                                                    shape_str(bias.shape()), shape_str(weight.shape()), shape_str({outf})));

  // The kernel sees x as a (rows, in) matrix: x itself when 2-D (any BLAS-readable layout), else a
  // row-major view (x made contiguous first if needed).
  Tensor x2 = x;
  if (x.dim() != 2) {
    const Tensor xc = kernels::contiguous(x);
    const std::int64_t r = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
    x2 = make_view(xc, {r, in}, contiguous_strides({r, in}), xc.impl()->offset);
  }
  Tensor out2 = kernels::linear(x2, weight, bias);
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(outf);
  Tensor out = x.dim() == 2 ? out2 : make_view(out2, out_shape, contiguous_strides(out_shape), 0);

  // dx = g·W (skipped when x needs no gradient: the first layer's input), dW = gᵀ·x over all rows,
  // db = Σ g over rows. gᵀ is a transpose view: the gemm reads it with a transpose flag.
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const int ix = need_w ? 0 : -1, iw = need_x ? (need_w ? 1 : 0) : -1;
  const std::int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  auto backward = [ix, iw, in, outf, rows](Node& n, TensorList& g) -> TensorList {
    Tensor gx, gw, gb;
    const Tensor g2 = g[0].dim() == 2 ? g[0] : reshape(g[0], {rows, outf});
    if (n.needs_input_grad(0) && iw >= 0) gx = matmul(g[0], n.saved(static_cast<std::size_t>(iw)));
    if (n.needs_input_grad(1) && ix >= 0) {
      const Tensor xs = n.saved(static_cast<std::size_t>(ix));
      gw = matmul(transpose(g2, 0, 1), xs.dim() == 2 ? xs : reshape(xs, {rows, in}));
    }
    if (n.needs_input_grad(2)) gb = sum(g2, {0});
    return {gx, gw, gb};
  };
  if (need_x && need_w) return record(out, "LinearBackward", where, {&x, &weight, &bias}, {input(x), input(weight)}, std::move(backward));
  if (need_w) return record(out, "LinearBackward", where, {&x, &weight, &bias}, {input(x)}, std::move(backward));
  if (need_x) return record(out, "LinearBackward", where, {&x, &weight, &bias}, {input(weight)}, std::move(backward));
  return record(out, "LinearBackward", where, {&x, &weight, &bias}, {}, std::move(backward));
}

}  // namespace xgrad
