#pragma once
// Element-wise math functions and activations. y = f(x); backward: dx = g * f'(x).
// Functions with a kink (relu, abs, clamp, step, ...) use the subgradient stated below at the kink.

#include "../tensor.hpp"

namespace xgrad {

/// e^x. dx = g*y.
Tensor exp(const Tensor& x, Where where = Where::current());
/// ln x. dx = g/x.
Tensor log(const Tensor& x, Where where = Where::current());
/// ln(1+x). dx = g/(1+x).
Tensor log1p(const Tensor& x, Where where = Where::current());
/// e^x - 1. dx = g*(y+1).
Tensor expm1(const Tensor& x, Where where = Where::current());
/// √x. dx = g/(2y).
Tensor sqrt(const Tensor& x, Where where = Where::current());
/// 1/√x. dx = -g*y³/2.
Tensor rsqrt(const Tensor& x, Where where = Where::current());
/// x². dx = 2gx.
Tensor square(const Tensor& x, Where where = Where::current());
/// |x|. dx = g*sign(x) (0 at 0).
Tensor abs(const Tensor& x, Where where = Where::current());
/// -1, 0 or 1. Zero gradient.
Tensor sign(const Tensor& x, Where where = Where::current());
/// sin x. dx = g*cos x.
Tensor sin(const Tensor& x, Where where = Where::current());
/// cos x. dx = -g*sin x.
Tensor cos(const Tensor& x, Where where = Where::current());
/// tanh x. dx = g*(1-y²).
Tensor tanh(const Tensor& x, Where where = Where::current());
/// arctan x. dx = g/(1+x²).
Tensor atan(const Tensor& x, Where where = Where::current());
/// σ(x) = 1/(1+e^-x), computed without overflow. dx = g*y*(1-y).
Tensor sigmoid(const Tensor& x, Where where = Where::current());
/// max(x, 0) (NaN stays NaN). dx = g where x > 0 (0 at the kink, like PyTorch).
Tensor relu(const Tensor& x, Where where = Where::current());
/// x for x > 0, alpha*x otherwise. dx = g for x > 0, alpha*g otherwise (alpha*g at 0, like PyTorch).
Tensor leaky_relu(const Tensor& x, double alpha = 0.01, Where where = Where::current());
/// x for x > 0, alpha*(e^x - 1) otherwise. dx = g for x > 0, g*alpha*e^x otherwise (alpha*g at 0).
Tensor elu(const Tensor& x, double alpha = 1.0, Where where = Where::current());
/// scale*elu(x, alpha) with the self-normalizing constants alpha ≈ 1.6733, scale ≈ 1.0507.
/// dx = scale*g for x > 0, scale*alpha*e^x*g otherwise (scale*alpha*g at 0).
Tensor selu(const Tensor& x, Where where = Where::current());
/// (1/beta)*ln(1+e^(beta*x)), and x itself where beta*x > threshold (beta > 0, ValueError otherwise).
/// dx = g*σ(beta*x), and exactly g where beta*x > threshold (PyTorch's softplus_backward).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0, Where where = Where::current());
/// x*Φ(x) with Φ the standard normal CDF, computed as ½erfc(-x/√2) (exact, accurate in the negative
/// tail). dx = g*(Φ(x) + x*φ(x)).
Tensor gelu(const Tensor& x, Where where = Where::current());
/// How gelu computes Φ: exactly (erfc), or with the tanh approximation of GPT-2/BERT.
enum class GeluApproximation { none, tanh };
/// gelu with a choice of Φ (PyTorch's `approximate="tanh"`): with tanh,
/// y = ½x(1 + tanh(√(2/π)(x + 0.044715x³))), dx = g*(½(1 + t) + ½x(1 - t²)√(2/π)(1 + 0.134145x²))
/// with t the tanh term. `none` is gelu(x).
Tensor gelu(const Tensor& x, GeluApproximation approximate, Where where = Where::current());
/// x*σ(x) (swish). dx = g*σ(x)*(1 + x*(1-σ(x))).
Tensor silu(const Tensor& x, Where where = Where::current());
/// Heaviside step: 1 where x > 0, `at_zero` where x == 0, else 0. Zero gradient (the perceptron's
/// activation).
Tensor heaviside(const Tensor& x, double at_zero = 0.0, Where where = Where::current());
/// Alias of heaviside(x, 0): the binary step of the lecture slides.
Tensor step(const Tensor& x, Where where = Where::current());
/// PReLU: x for x > 0, a*x otherwise, with a learnable slope tensor `a` broadcast against x (one
/// value, or one per channel along dim 1). Gradients: dx = g or a*g; da = sum of g*x over x <= 0.
Tensor prelu(const Tensor& x, const Tensor& a, Where where = Where::current());

}  // namespace xgrad
