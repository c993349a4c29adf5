// Arithmetic ops. Backward formulas are written with xgrad ops, so they are differentiable.
#include "arithmetic.hpp"

#include <cmath>

#include "../detail/checks.hpp"
#include "../detail/record.hpp"
#include "../kernels/elementwise.hpp"
#include "../ops.hpp"

namespace xgrad {

using detail::input;
using detail::output;
using detail::record;
using detail::sum_to;
using kernels::BinaryOp;

Tensor add(const Tensor& a, const Tensor& b, double alpha, Where where) {
  OpScope scope("add", where);
  detail::check_binary(a, b, "add");
  broadcast_shapes(a.shape(), b.shape(), "add");
  Tensor out = alpha == 1.0 ? kernels::binary(BinaryOp::add, a, b)
                            : kernels::binary(BinaryOp::add, a, kernels::binary_scalar(BinaryOp::mul, b, alpha));
  return record(out, "AddBackward", where, {&a, &b}, {},
                [sa = a.shape(), sb = b.shape(), alpha](Node& n, TensorList& g) -> TensorList {
                  return {n.needs_input_grad(0) ? sum_to(g[0], sa) : Tensor(),
                          n.needs_input_grad(1) ? sum_to(alpha == 1.0 ? g[0] : g[0] * alpha, sb) : Tensor()};
                });
}

Tensor add(const Tensor& a, double s, Where where) {
  OpScope scope("add", where);
  detail::check_floating(a, "add");
  Tensor out = kernels::binary_scalar(BinaryOp::add, a, s);
  return record(out, "AddBackward", where, {&a}, {}, [](Node&, TensorList& g) -> TensorList { return {g[0]}; });
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha, Where where) {
  OpScope scope("sub", where);
  detail::check_binary(a, b, "sub");
  broadcast_shapes(a.shape(), b.shape(), "sub");
  Tensor out = alpha == 1.0 ? kernels::binary(BinaryOp::sub, a, b)
                            : kernels::binary(BinaryOp::sub, a, kernels::binary_scalar(BinaryOp::mul, b, alpha));
  return record(out, "SubBackward", where, {&a, &b}, {},
                [sa = a.shape(), sb = b.shape(), alpha](Node& n, TensorList& g) -> TensorList {
                  return {n.needs_input_grad(0) ? sum_to(g[0], sa) : Tensor(),
                          n.needs_input_grad(1) ? sum_to(g[0] * -alpha, sb) : Tensor()};
                });
}

Tensor mul(const Tensor& a, const Tensor& b, Where where) {
  OpScope scope("mul", where);
  detail::check_binary(a, b, "mul");
  broadcast_shapes(a.shape(), b.shape(), "mul");
  Tensor out = kernels::binary(BinaryOp::mul, a, b);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  // Save only what backward reads: b for da, a for db.
  if (need_a && need_b)
    return record(out, "MulBackward", where, {&a, &b}, {input(a), input(b)}, [](Node& n, TensorList& g) -> TensorList {
      const Tensor x = n.saved(0), y = n.saved(1);
      return {n.needs_input_grad(0) ? sum_to(g[0] * y, x.shape()) : Tensor(),
              n.needs_input_grad(1) ? sum_to(g[0] * x, y.shape()) : Tensor()};
    });
  if (need_a)
    return record(out, "MulBackward", where, {&a, &b}, {input(b)}, [sa = a.shape()](Node& n, TensorList& g) -> TensorList {
      return {sum_to(g[0] * n.saved(0), sa), Tensor()};
    });
  return record(out, "MulBackward", where, {&a, &b}, {input(a)}, [sb = b.shape()](Node& n, TensorList& g) -> TensorList {
    return {Tensor(), n.needs_input_grad(1) ? sum_to(g[0] * n.saved(0), sb) : Tensor()};
  });
}

Tensor mul(const Tensor& a, double s, Where where) {
  OpScope scope("mul", where);
  detail::check_floating(a, "mul");
  Tensor out = kernels::binary_scalar(BinaryOp::mul, a, s);
  return record(out, "MulBackward", where, {&a}, {}, [s](Node&, TensorList& g) -> TensorList { return {g[0] * s}; });
}

Tensor div(const Tensor& a, const Tensor& b, Where where) {
  OpScope scope("div", where);
  detail::check_binary(a, b, "div");
  broadcast_shapes(a.shape(), b.shape(), "div");
  Tensor out = kernels::binary(BinaryOp::div, a, b);
  return record(out, "DivBackward", where, {&a, &b}, {input(a), input(b)}, [](Node& n, TensorList& g) -> TensorList {
    const Tensor x = n.saved(0), y = n.saved(1);
    const Tensor ga = g[0] / y;
    return {n.needs_input_grad(0) ? sum_to(ga, x.shape()) : Tensor(),
            n.needs_input_grad(1) ? sum_to(-ga * x / y, y.shape()) : Tensor()};
  });
}

Tensor div(const Tensor& a, double s, Where where) {
  OpScope scope("div", where);
  detail::check_floating(a, "div");
  Tensor out = kernels::binary_scalar(BinaryOp::div, a, s);
  return record(out, "DivBackward", where, {&a}, {}, [s](Node&, TensorList& g) -> TensorList { return {g[0] / s}; });
}

Tensor div(double s, const Tensor& a, Where where) {
  OpScope scope("div", where);
  detail::check_floating(a, "div");
  Tensor out = kernels::binary_scalar(BinaryOp::div, a, s, /*scalar_first=*/true);
  // d(s/a)/da = -s/a² = -y/a
  return record(out, "DivBackward", where, {&a}, {input(a), output(out)}, [](Node& n, TensorList& g) -> TensorList {
    return {-g[0] * n.saved(1) / n.saved(0)};
  });
}

Tensor neg(const Tensor& a, Where where) {
  OpScope scope("neg", where);
  detail::check_floating(a, "neg");
  Tensor out = kernels::unary(kernels::UnaryOp::neg, a);
  return record(out, "NegBackward", where, {&a}, {}, [](Node&, TensorList& g) -> TensorList { return {-g[0]}; });
}

Tensor reciprocal(const Tensor& a, Where where) {
  OpScope scope("reciprocal", where);
  detail::check_floating(a, "reciprocal");
  Tensor out = kernels::unary(kernels::UnaryOp::reciprocal, a);
  return record(out, "ReciprocalBackward", where, {&a}, {output(out)},
                [](Node& n, TensorList& g) -> TensorList {
                  const Tensor y = n.saved(0);
                  return {-g[0] * y * y};
                });
}

Tensor pow(const Tensor& a, double p, Where where) {
  OpScope scope("pow", where);
  detail::check_floating(a, "pow");
  if (p == 1.0) return a.clone(where);
  Tensor out = p == 2.0 ? kernels::unary(kernels::UnaryOp::square, a) : kernels::binary_scalar(BinaryOp::pow, a, p);
  return record(out, "PowBackward", where, {&a}, {input(a)}, [p](Node& n, TensorList& g) -> TensorList {
    const Tensor x = n.saved(0);
    if (p == 0.0) return {zeros_like(x)};
    if (p == 2.0) return {g[0] * x * 2.0};
    return {g[0] * pow(x, p - 1.0) * p};
  });
}

Tensor pow(double s, const Tensor& a, Where where) {
  OpScope scope("pow", where);
  detail::check_floating(a, "pow");
  Tensor out = kernels::binary_scalar(BinaryOp::pow, a, s, /*scalar_first=*/true);
  return record(out, "PowBackward", where, {&a}, {output(out)}, [s](Node& n, TensorList& g) -> TensorList {
    const Tensor y = n.saved(0);
    if (s == 0.0) {
      // PyTorch's convention: 0 where the exponent is >= 0 (y is 0 or 1 there), y·ln 0 = -inf where it
      // is negative (y = inf there). A constant factor, so the gradient stays finite in double backward.
      const Tensor zero = zeros({}, y.dtype()), minus_inf = full({}, -HUGE_VAL, y.dtype());
      return {g[0] * xgrad::where(gt(y, 1.0), minus_inf, zero)};
    }
    return {g[0] * y * std::log(s)};
  });
}

Tensor pow(const Tensor& a, const Tensor& b, Where where) {
  OpScope scope("pow", where);
  detail::check_binary(a, b, "pow");
  broadcast_shapes(a.shape(), b.shape(), "pow");
  Tensor out = kernels::binary(BinaryOp::pow, a, b);
  return record(out, "PowBackward", where, {&a, &b}, {input(a), input(b), output(out)}, [](Node& n, TensorList& g) -> TensorList {
    const Tensor x = n.saved(0), e = n.saved(1), y = n.saved(2);
    const Tensor zero = zeros({}, x.dtype()), one = ones({}, x.dtype());
    Tensor ga, gb;
    // da = g·b·a^(b-1), taken as 0 where b == 0 (a^0 is constant; avoids 0·0^-1 = NaN at a = 0), as
    // PyTorch's pow_backward_self does.
    if (n.needs_input_grad(0)) ga = sum_to(xgrad::where(eq(e, 0.0), zero, g[0] * e * pow(x, e - 1.0)), x.shape());
    if (n.needs_input_grad(1)) {
      // db = g·a^b·ln a, taken as 0 where a == 0 and b >= 0 (the limit; PyTorch's pow_backward_exponent).
      // ln is taken of a with those elements replaced by 1, so no 0·inf appears, also not in double
      // backward; where a == 0 and b < 0 the result is inf·(-inf) = -inf as in PyTorch.
      const Tensor at_limit = eq(x, 0.0) * ge(e, 0.0);
      gb = sum_to(g[0] * y * log(xgrad::where(at_limit, one, x)), e.shape());
    }
    return {ga, gb};
  });
}

namespace {
// Gradient of max/min: to the selected input, split equally on ties.
Tensor select_binary(const Tensor& a, const Tensor& b, const char* op, const char* node, bool is_max, const Where& where) {
  OpScope scope(op, where);
  detail::check_binary(a, b, op);
  broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = kernels::binary(is_max ? BinaryOp::maximum : BinaryOp::minimum, a, b);
  return record(out, node, where, {&a, &b}, {input(a), input(b)}, [is_max](Node& n, TensorList& g) -> TensorList {
    const Tensor x = n.saved(0), y = n.saved(1);
    const Tensor wins_a = is_max ? gt(x, y) : lt(x, y);
    const Tensor ties = eq(x, y) * 0.5;
    const Tensor wa = wins_a + ties;
    return {n.needs_input_grad(0) ? sum_to(g[0] * wa, x.shape()) : Tensor(),
            n.needs_input_grad(1) ? sum_to(g[0] * (1.0 - wa), y.shape()) : Tensor()};
  });
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b, Where where) { return select_binary(a, b, "maximum", "MaximumBackward", true, where); }
Tensor minimum(const Tensor& a, const Tensor& b, Where where) { return select_binary(a, b, "minimum", "MinimumBackward", false, where); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b, Where where) {
  OpScope scope("where", where);
  detail::check_defined(cond, "where", "cond");
  detail::check_binary(a, b, "where");
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  (void)shape;
  const Tensor mask = kernels::cast(kernels::binary_scalar(BinaryOp::ne, cond, 0.0), a.dtype());
  Tensor out = kernels::select(mask, a, b);
  return record(out, "WhereBackward", where, {&a, &b}, {input(mask)},
                [sa = a.shape(), sb = b.shape()](Node& n, TensorList& g) -> TensorList {
                  const Tensor m = n.saved(0);
                  return {n.needs_input_grad(0) ? sum_to(g[0] * m, sa) : Tensor(),
                          n.needs_input_grad(1) ? sum_to(g[0] * (1.0 - m), sb) : Tensor()};
                });
}

Tensor clamp(const Tensor& a, double lo, double hi, Where where) {
  OpScope scope("clamp", where);
  detail::check_floating(a, "clamp");
  if (lo > hi) detail::raise<ValueError>("clamp", fmt::format("min {} is greater than max {}", lo, hi));
  Tensor out = kernels::unary(kernels::UnaryOp::clamp, a, lo, hi);
  return record(out, "ClampBackward", where, {&a}, {input(a)}, [lo, hi](Node& n, TensorList& g) -> TensorList {
    return {g[0] * kernels::unary(kernels::UnaryOp::clamp_mask, n.saved(0), lo, hi)};
  });
}

Tensor clamp_min(const Tensor& a, double lo, Where where) { return clamp(a, lo, HUGE_VAL, where); }
Tensor clamp_max(const Tensor& a, double hi, Where where) { return clamp(a, -HUGE_VAL, hi, where); }

namespace {
Tensor compare(BinaryOp op, const Tensor& a, const Tensor& b, const char* name, const Where& where) {
  OpScope scope(name, where);
  detail::check_defined(a, name, "a");
  detail::check_defined(b, name, "b");
  detail::check_same_dtype(a, b, name);
  broadcast_shapes(a.shape(), b.shape(), name);
  return kernels::binary(op, a, b);
}
Tensor compare(BinaryOp op, const Tensor& a, double s, const char* name, const Where& where) {
  OpScope scope(name, where);
  detail::check_defined(a, name, "a");
  return kernels::binary_scalar(op, a, s);
}
}  // namespace

Tensor eq(const Tensor& a, const Tensor& b, Where w) { return compare(BinaryOp::eq, a, b, "eq", w); }
Tensor ne(const Tensor& a, const Tensor& b, Where w) { return compare(BinaryOp::ne, a, b, "ne", w); }
Tensor lt(const Tensor& a, const Tensor& b, Where w) { return compare(BinaryOp::lt, a, b, "lt", w); }
Tensor le(const Tensor& a, const Tensor& b, Where w) { return compare(BinaryOp::le, a, b, "le", w); }
Tensor gt(const Tensor& a, const Tensor& b, Where w) { return compare(BinaryOp::gt, a, b, "gt", w); }
Tensor ge(const Tensor& a, const Tensor& b, Where w) { return compare(BinaryOp::ge, a, b, "ge", w); }
Tensor eq(const Tensor& a, double s, Where w) { return compare(BinaryOp::eq, a, s, "eq", w); }
Tensor ne(const Tensor& a, double s, Where w) { return compare(BinaryOp::ne, a, s, "ne", w); }
Tensor lt(const Tensor& a, double s, Where w) { return compare(BinaryOp::lt, a, s, "lt", w); }
Tensor le(const Tensor& a, double s, Where w) { return compare(BinaryOp::le, a, s, "le", w); }
Tensor gt(const Tensor& a, double s, Where w) { return compare(BinaryOp::gt, a, s, "gt", w); }
Tensor ge(const Tensor& a, double s, Where w) { return compare(BinaryOp::ge, a, s, "ge", w); }

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (!a.defined() || !b.defined() || a.shape() != b.shape()) return false;
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (std::size_t i = 0; i < va.size(); ++i)
    if (!(std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(vb[i]))) return false;
  return true;
}

Tensor operator+(const Tensor& a, Operand b) { return add(a, b.tensor, 1.0, b.where); }
Tensor operator+(Operand a, double s) { return add(a.tensor, s, a.where); }
Tensor operator+(double s, Operand a) { return add(a.tensor, s, a.where); }
Tensor operator-(const Tensor& a, Operand b) { return sub(a, b.tensor, 1.0, b.where); }
Tensor operator-(Operand a, double s) { return add(a.tensor, -s, a.where); }
Tensor operator-(double s, Operand a) { return add(neg(a.tensor, a.where), s, a.where); }
Tensor operator*(const Tensor& a, Operand b) { return mul(a, b.tensor, b.where); }
Tensor operator*(Operand a, double s) { return mul(a.tensor, s, a.where); }
Tensor operator*(double s, Operand a) { return mul(a.tensor, s, a.where); }
Tensor operator/(const Tensor& a, Operand b) { return div(a, b.tensor, b.where); }
Tensor operator/(Operand a, double s) { return div(a.tensor, s, a.where); }
Tensor operator/(double s, Operand a) { return div(s, a.tensor, a.where); }
Tensor operator-(Operand a) { return neg(a.tensor, a.where); }
Tensor operator<(const Tensor& a, Operand b) { return lt(a, b.tensor, b.where); }
Tensor operator<=(const Tensor& a, Operand b) { return le(a, b.tensor, b.where); }
Tensor operator>(const Tensor& a, Operand b) { return gt(a, b.tensor, b.where); }
Tensor operator>=(const Tensor& a, Operand b) { return ge(a, b.tensor, b.where); }
Tensor operator<(Operand a, double s) { return lt(a.tensor, s, a.where); }
Tensor operator<=(Operand a, double s) { return le(a.tensor, s, a.where); }
Tensor operator>(Operand a, double s) { return gt(a.tensor, s, a.where); }
Tensor operator>=(Operand a, double s) { return ge(a.tensor, s, a.where); }
Tensor operator<(double s, Operand a) { return gt(a.tensor, s, a.where); }
Tensor operator<=(double s, Operand a) { return ge(a.tensor, s, a.where); }
Tensor operator>(double s, Operand a) { return lt(a.tensor, s, a.where); }
Tensor operator>=(double s, Operand a) { return le(a.tensor, s, a.where); }
Tensor operator==(const Tensor& a, Operand b) { return eq(a, b.tensor, b.where); }
Tensor operator!=(const Tensor& a, Operand b) { return ne(a, b.tensor, b.where); }
Tensor operator==(Operand a, double s) { return eq(a.tensor, s, a.where); }
Tensor operator!=(Operand a, double s) { return ne(a.tensor, s, a.where); }
Tensor operator==(double s, Operand a) { return eq(a.tensor, s, a.where); }
Tensor operator!=(double s, Operand a) { return ne(a.tensor, s, a.where); }

}  // namespace xgrad
