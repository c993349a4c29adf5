#pragma once
// Library-internal kernels: element-wise loops without autograd. Inputs may have any layout; outputs
// are new contiguous tensors unless the name says "into"/"inplace". Dtypes are checked by the ops
// layer before calling these.

#include "../tensor.hpp"

namespace xgrad::kernels {

/// A contiguous copy of x (x itself when already contiguous and `force` is false).
Tensor contiguous(const Tensor& x, bool force = false);
/// x converted to dtype (always a new tensor).
Tensor cast(const Tensor& x, Dtype dtype);
/// Sets every element of x to v.
void fill(const Tensor& x, double v);
/// dst[...] = src broadcast to dst's shape, converting dtype. dst may be a view.
void copy_into(const Tensor& dst, const Tensor& src);

enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge };

/// op(a, b) with broadcasting; a and b have the same dtype. Comparisons return 0/1 in that dtype.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
/// op(a, s) or, when `scalar_first`, op(s, a).
Tensor binary_scalar(BinaryOp op, const Tensor& a, double s, bool scalar_first = false);
/// a = op(a, b) in place, b broadcast to a's shape (a may be a non-overlapping view).
void binary_inplace(BinaryOp op, const Tensor& a, const Tensor& b);
/// a = op(a, s) in place.
void binary_scalar_inplace(BinaryOp op, const Tensor& a, double s);
/// a += alpha * b (b broadcast to a's shape).
void axpy_inplace(const Tensor& a, const Tensor& b, double alpha);
/// a += value * t1 ⊙ t2  (divide = false) or a += value * t1 / t2 (divide = true).
void addc_inplace(const Tensor& a, const Tensor& t1, const Tensor& t2, double value, bool divide);
/// Clamps a into [lo, hi] in place.
void clamp_inplace(const Tensor& a, double lo, double hi);
/// b = mu*b + alpha*g; p = p + (-lr)*b in one pass (Tensor::momentum_step_). False (nothing done)
/// unless all three are contiguous floating tensors of one shape.
bool momentum_step(const Tensor& p, const Tensor& b, const Tensor& g, double mu, double alpha, double lr);

enum class UnaryOp {
  neg, reciprocal, exp, log, log1p, expm1, sqrt, rsqrt, square, abs, sign, sin, cos, tanh, atan, sigmoid,
  relu, leaky_relu, elu, selu, softplus, gelu, gelu_tanh, silu, heaviside, clamp,
  // derivatives used by backward formulas
  gelu_grad,       // Φ(x) + x φ(x)
  gelu_tanh_grad,  // d/dx of ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
  elu_grad,        // 1 for x > 0, p0 * e^x otherwise
  selu_grad,
  leaky_relu_grad, // 1 for x > 0, p0 otherwise
  relu_mask,       // 1 for x > 0, else 0
  clamp_mask,      // 1 for p0 <= x <= p1, else 0
  isfinite_mask,   // 1 where finite
};

/// op(x) element-wise; p0 and p1 are the op's parameters (alpha, beta/threshold, bounds, ...).
Tensor unary(UnaryOp op, const Tensor& x, double p0 = 0.0, double p1 = 0.0);

/// Fused backward of an activation from its saved output y (one pass instead of two or three):
///   tanh:    g ⊙ (1 - y²)      sigmoid: g ⊙ y ⊙ (1 - y)      relu: 0 where y <= 0, else g (also for y = NaN, like PyTorch).
/// g and y have the same shape and a floating dtype; the result is contiguous.
enum class ActivationGrad { tanh, sigmoid, relu };
Tensor activation_backward(ActivationGrad op, const Tensor& g, const Tensor& y);

/// mask ? a : b element-wise with broadcasting (mask nonzero = true; all of one dtype).
Tensor select(const Tensor& mask, const Tensor& a, const Tensor& b);

/// True when every element is finite.
bool all_finite(const Tensor& x);

}  // namespace xgrad::kernels
