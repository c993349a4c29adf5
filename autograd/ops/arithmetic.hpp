#pragma once
// Element-wise arithmetic with NumPy broadcasting. Binary ops need equal dtypes (DtypeError names
// both otherwise); a double scalar mixes with either dtype. Every gradient is reduced back to its
// input's shape (the sum over broadcast dimensions).

#include "../tensor.hpp"

namespace xgrad {

/// a + alpha*b. Gradients: da = g, db = alpha*g.
Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0, Where where = Where::current());
/// a + s. Gradient: da = g.
Tensor add(const Tensor& a, double s, Where where = Where::current());
/// a - alpha*b.
Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0, Where where = Where::current());
/// a * b. Gradients: da = g*b, db = g*a.
Tensor mul(const Tensor& a, const Tensor& b, Where where = Where::current());
/// a * s.
Tensor mul(const Tensor& a, double s, Where where = Where::current());
/// a / b. Gradients: da = g/b, db = -g*a/b².
Tensor div(const Tensor& a, const Tensor& b, Where where = Where::current());
/// a / s, divided (not multiplied by 1/s, so x / 3 rounds like C++). Gradient: da = g/s.
Tensor div(const Tensor& a, double s, Where where = Where::current());
/// s / a. Gradient: da = -g·s/a² (= -g·y/a).
Tensor div(double s, const Tensor& a, Where where = Where::current());
/// -a.
Tensor neg(const Tensor& a, Where where = Where::current());
/// 1/a. Gradient: -g/a².
Tensor reciprocal(const Tensor& a, Where where = Where::current());
/// a^p. Gradient: g*p*a^(p-1).
Tensor pow(const Tensor& a, double p, Where where = Where::current());
/// s^a. Gradient: g*s^a*ln(s).
Tensor pow(double s, const Tensor& a, Where where = Where::current());
/// a^b (broadcast). Gradients: da = g*b*a^(b-1), db = g*a^b*ln(a) (taken as 0 where a = 0).
Tensor pow(const Tensor& a, const Tensor& b, Where where = Where::current());
/// Element-wise max(a, b) (broadcast); NaN if either is NaN. Gradients: g to the larger input, g/2 to
/// each on ties (PyTorch's convention), summed back to each input's shape.
Tensor maximum(const Tensor& a, const Tensor& b, Where where = Where::current());
/// Element-wise min(a, b), as maximum.
Tensor minimum(const Tensor& a, const Tensor& b, Where where = Where::current());
/// cond ? a : b element-wise (cond nonzero = true, any dtype; the three broadcast together). Gradients:
/// g·cond to a and g·(1-cond) to b, summed back to their shapes; cond gets none.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b, Where where = Where::current());
/// Clamps into [lo, hi] (lo > hi -> ValueError; NaN stays NaN). Gradient: g where lo <= a <= hi (the
/// bounds included, like PyTorch), 0 outside and at NaN.
Tensor clamp(const Tensor& a, double lo, double hi, Where where = Where::current());
/// Clamps from below only.
Tensor clamp_min(const Tensor& a, double lo, Where where = Where::current());
/// Clamps from above only.
Tensor clamp_max(const Tensor& a, double hi, Where where = Where::current());

/// Comparisons: 1 where the relation holds, else 0, in the inputs' dtype (broadcast). No gradient.
Tensor eq(const Tensor& a, const Tensor& b, Where where = Where::current());
Tensor ne(const Tensor& a, const Tensor& b, Where where = Where::current());
Tensor lt(const Tensor& a, const Tensor& b, Where where = Where::current());
Tensor le(const Tensor& a, const Tensor& b, Where where = Where::current());
Tensor gt(const Tensor& a, const Tensor& b, Where where = Where::current());
Tensor ge(const Tensor& a, const Tensor& b, Where where = Where::current());
Tensor eq(const Tensor& a, double s, Where where = Where::current());
Tensor ne(const Tensor& a, double s, Where where = Where::current());
Tensor lt(const Tensor& a, double s, Where where = Where::current());
Tensor le(const Tensor& a, double s, Where where = Where::current());
Tensor gt(const Tensor& a, double s, Where where = Where::current());
Tensor ge(const Tensor& a, double s, Where where = Where::current());
/// True when shapes match and every element differs by at most atol + rtol*|b| (NaNs unequal).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

/// An operand of an arithmetic operator that remembers the caller's line. Operators cannot take a
/// defaulted source_location argument, but the default argument of this implicit constructor is
/// evaluated where the conversion happens: in the user's expression. So errors from `a + b` name the
/// line of `a + b` like errors from `add(a, b)` do.
struct Operand {
  Operand(const Tensor& t, Where w = Where::current()) noexcept : tensor(t), where(w) {}  // NOLINT: implicit
  const Tensor& tensor;
  Where where;
};

/// Operators: a + b = add(a, b), a - b = sub(a, b), a * b = mul(a, b), a / b = div(a, b), -a = neg(a);
/// with a double on either side, the scalar forms (s - a = neg(a) + s, s / a = div(s, a)).
/// Comparisons <, <=, >, >=, ==, != with a tensor or a double on either side return 0/1 masks in the
/// tensor's dtype (no gradient).
Tensor operator+(const Tensor& a, Operand b);
Tensor operator+(Operand a, double s);
Tensor operator+(double s, Operand a);
Tensor operator-(const Tensor& a, Operand b);
Tensor operator-(Operand a, double s);
Tensor operator-(double s, Operand a);
Tensor operator*(const Tensor& a, Operand b);
Tensor operator*(Operand a, double s);
Tensor operator*(double s, Operand a);
Tensor operator/(const Tensor& a, Operand b);
Tensor operator/(Operand a, double s);
Tensor operator/(double s, Operand a);
Tensor operator-(Operand a);
Tensor operator<(const Tensor& a, Operand b);
Tensor operator<=(const Tensor& a, Operand b);
Tensor operator>(const Tensor& a, Operand b);
Tensor operator>=(const Tensor& a, Operand b);
Tensor operator<(Operand a, double s);
Tensor operator<=(Operand a, double s);
Tensor operator>(Operand a, double s);
Tensor operator>=(Operand a, double s);
Tensor operator<(double s, Operand a);
Tensor operator<=(double s, Operand a);
Tensor operator>(double s, Operand a);
Tensor operator>=(double s, Operand a);
/// a == b = eq(a, b), a != b = ne(a, b) (masks, like LibTorch; use is_same() for identity).
Tensor operator==(const Tensor& a, Operand b);
Tensor operator!=(const Tensor& a, Operand b);
Tensor operator==(Operand a, double s);
Tensor operator!=(Operand a, double s);
Tensor operator==(double s, Operand a);
Tensor operator!=(double s, Operand a);

}  // namespace xgrad
