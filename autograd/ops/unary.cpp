// Element-wise math and activations. Each backward is written with xgrad ops (differentiable);
// masks from comparisons are constants, which is right away from kinks.
#include "unary.hpp"

#include <cmath>

#include "../detail/checks.hpp"
#include "../detail/record.hpp"
#include "../kernels/elementwise.hpp"
#include "../ops.hpp"

namespace xgrad {

using detail::input;
using detail::output;
using detail::record;
using kernels::UnaryOp;

namespace {

// y = op(x) with a backward that reads the saved input x.
template <class F>
Tensor unary_in(UnaryOp op, const Tensor& x, const char* name, const char* node, const Where& where, F&& backward,
                double p0 = 0, double p1 = 0) {
  OpScope scope(name, where);
  detail::check_floating(x, name);
  Tensor out = kernels::unary(op, x, p0, p1);
  return record(out, node, where, {&x}, {input(x)}, std::forward<F>(backward));
}

// y = op(x) with a backward that reads the saved output y.
template <class F>
Tensor unary_out(UnaryOp op, const Tensor& x, const char* name, const char* node, const Where& where, F&& backward,
                 double p0 = 0, double p1 = 0) {
  OpScope scope(name, where);
  detail::check_floating(x, name);
  Tensor out = kernels::unary(op, x, p0, p1);
  return record(out, node, where, {&x}, {output(out)}, std::forward<F>(backward));
}

// d/dx of gelu: Φ(x) + x φ(x), as its own op so that gelu is twice differentiable:
// d/dx [Φ(x) + x φ(x)] = φ(x) (2 - x²).
Tensor gelu_grad(const Tensor& x) {
  Tensor out = kernels::unary(UnaryOp::gelu_grad, x);
  return record(out, "GeluGradBackward", Where::current(), {&x}, {input(x)}, [](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0);
    const Tensor phi = exp(square(v) * -0.5) * 0.39894228040143267794;
    return {g[0] * phi * (2.0 - square(v))};
  });
}

// The fused backward ops of tanh, sigmoid and relu: one kernel instead of two or three, and each is
// differentiable itself (double backward), like PyTorch's tanh_backward / sigmoid_backward /
// threshold_backward. Inputs: the upstream gradient g and the activation's saved output y.
//   tanh:    b = g(1 - y²)     ∂b/∂g = 1 - y²      ∂b/∂y = -2gy
//   sigmoid: b = g y (1 - y)   ∂b/∂g = y(1 - y)    ∂b/∂y = g(1 - 2y)
//   relu:    b = g [y > 0]     ∂b/∂g = [y > 0]     ∂b/∂y = 0 (piecewise constant)
Tensor fused_activation_backward(kernels::ActivationGrad op, const Tensor& g, const Tensor& y) {
  using kernels::ActivationGrad;
  Tensor out = kernels::activation_backward(op, g, y);
  const char* name = op == ActivationGrad::tanh ? "TanhBackwardBackward"
                     : op == ActivationGrad::sigmoid ? "SigmoidBackwardBackward" : "ReluBackwardBackward";
  return record(out, name, Where::current(), {&g, &y}, {input(g), input(y)}, [op](Node& n, TensorList& gg) -> TensorList {
    Tensor dg, dy;
    const Tensor gs = n.saved(0), ys = n.saved(1);
    if (n.needs_input_grad(0)) dg = fused_activation_backward(op, gg[0], ys);
    if (n.needs_input_grad(1) && op != ActivationGrad::relu)
      dy = op == ActivationGrad::tanh ? gg[0] * gs * ys * -2.0 : gg[0] * gs * (1.0 - ys * 2.0);
    return {dg, dy};
  });
}

// d/dx of the tanh-approximated gelu, as its own op so that gelu(x, tanh) is twice differentiable.
// With u = k(x + c x³), t = tanh u, u' = k(1 + 3c x²), u'' = 6kc x:
// d/dx [½(1 + t) + ½x(1 - t²)u'] = (1 - t²)(u' - x t u'² + ½x u'').
Tensor gelu_tanh_grad(const Tensor& x) {
  Tensor out = kernels::unary(UnaryOp::gelu_tanh_grad, x);
  return record(out, "GeluTanhGradBackward", Where::current(), {&x}, {input(x)}, [](Node& n, TensorList& g) -> TensorList {
    constexpr double k = 0.79788456080286535588, c = 0.044715;
    const Tensor v = n.saved(0);
    const Tensor v2 = square(v);
    const Tensor t = tanh((v + v2 * v * c) * k);
    const Tensor du = (v2 * (3 * c) + 1.0) * k;
    return {g[0] * (1.0 - square(t)) * (du - v * t * square(du) + v * v * (3 * c * k))};
  });
}

}  // namespace

Tensor exp(const Tensor& x, Where where) {
  return unary_out(UnaryOp::exp, x, "exp", "ExpBackward", where, [](Node& n, TensorList& g) -> TensorList { return {g[0] * n.saved(0)}; });
}

Tensor log(const Tensor& x, Where where) {
  return unary_in(UnaryOp::log, x, "log", "LogBackward", where, [](Node& n, TensorList& g) -> TensorList { return {g[0] / n.saved(0)}; });
}

Tensor log1p(const Tensor& x, Where where) {
  return unary_in(UnaryOp::log1p, x, "log1p", "Log1pBackward", where,
                  [](Node& n, TensorList& g) -> TensorList { return {g[0] / (n.saved(0) + 1.0)}; });
}

Tensor expm1(const Tensor& x, Where where) {
  return unary_out(UnaryOp::expm1, x, "expm1", "Expm1Backward", where,
                   [](Node& n, TensorList& g) -> TensorList { return {g[0] * (n.saved(0) + 1.0)}; });
}

Tensor sqrt(const Tensor& x, Where where) {
  return unary_out(UnaryOp::sqrt, x, "sqrt", "SqrtBackward", where,
                   [](Node& n, TensorList& g) -> TensorList { return {g[0] / n.saved(0) * 0.5}; });
}

Tensor rsqrt(const Tensor& x, Where where) {
  return unary_out(UnaryOp::rsqrt, x, "rsqrt", "RsqrtBackward", where, [](Node& n, TensorList& g) -> TensorList {
    const Tensor y = n.saved(0);
    return {g[0] * y * y * y * -0.5};
  });
}

Tensor square(const Tensor& x, Where where) {
  return unary_in(UnaryOp::square, x, "square", "SquareBackward", where,
                  [](Node& n, TensorList& g) -> TensorList { return {g[0] * n.saved(0) * 2.0}; });
}

Tensor abs(const Tensor& x, Where where) {
  return unary_in(UnaryOp::abs, x, "abs", "AbsBackward", where,
                  [](Node& n, TensorList& g) -> TensorList { return {g[0] * sign(n.saved(0))}; });
}

Tensor sign(const Tensor& x, Where where) {
  return unary_in(UnaryOp::sign, x, "sign", "SignBackward", where,
                  [](Node&, TensorList& g) -> TensorList { return {zeros_like(g[0])}; });
}

Tensor sin(const Tensor& x, Where where) {
  return unary_in(UnaryOp::sin, x, "sin", "SinBackward", where,
                  [](Node& n, TensorList& g) -> TensorList { return {g[0] * cos(n.saved(0))}; });
}

Tensor cos(const Tensor& x, Where where) {
  return unary_in(UnaryOp::cos, x, "cos", "CosBackward", where,
                  [](Node& n, TensorList& g) -> TensorList { return {-g[0] * sin(n.saved(0))}; });
}

Tensor tanh(const Tensor& x, Where where) {
  return unary_out(UnaryOp::tanh, x, "tanh", "TanhBackward", where, [](Node& n, TensorList& g) -> TensorList {
    return {fused_activation_backward(kernels::ActivationGrad::tanh, g[0], n.saved(0))};
  });
}

Tensor atan(const Tensor& x, Where where) {
  return unary_in(UnaryOp::atan, x, "atan", "AtanBackward", where,
                  [](Node& n, TensorList& g) -> TensorList { return {g[0] / (square(n.saved(0)) + 1.0)}; });
}

Tensor sigmoid(const Tensor& x, Where where) {
  return unary_out(UnaryOp::sigmoid, x, "sigmoid", "SigmoidBackward", where, [](Node& n, TensorList& g) -> TensorList {
    return {fused_activation_backward(kernels::ActivationGrad::sigmoid, g[0], n.saved(0))};
  });
}

Tensor relu(const Tensor& x, Where where) {
  return unary_out(UnaryOp::relu, x, "relu", "ReluBackward", where,
                   [](Node& n, TensorList& g) -> TensorList { return {fused_activation_backward(kernels::ActivationGrad::relu, g[0], n.saved(0))}; });
}

Tensor leaky_relu(const Tensor& x, double alpha, Where where) {
  return unary_in(
      UnaryOp::leaky_relu, x, "leaky_relu", "LeakyReluBackward", where,
      [alpha](Node& n, TensorList& g) -> TensorList { return {g[0] * kernels::unary(UnaryOp::leaky_relu_grad, n.saved(0), alpha)}; },
      alpha);
}

Tensor elu(const Tensor& x, double alpha, Where where) {
  OpScope scope("elu", where);
  detail::check_floating(x, "elu");
  Tensor out = kernels::unary(UnaryOp::elu, x, alpha);
  // for x <= 0: d/dx alpha(e^x - 1) = alpha e^x = y + alpha (differentiable through y)
  return record(out, "EluBackward", where, {&x}, {input(x), output(out)}, [alpha](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0), y = n.saved(1);
    const Tensor pos = gt(v, 0.0);
    return {g[0] * (pos + (1.0 - pos) * (y + alpha))};
  });
}

Tensor selu(const Tensor& x, Where where) {
  constexpr double alpha = 1.6732632423543772848170429916717;
  constexpr double scale = 1.0507009873554804934193349852946;
  OpScope scope("selu", where);
  detail::check_floating(x, "selu");
  Tensor out = kernels::unary(UnaryOp::selu, x);
  return record(out, "SeluBackward", where, {&x}, {input(x), output(out)}, [](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0), y = n.saved(1);
    const Tensor pos = gt(v, 0.0);
    return {g[0] * (pos * scale + (1.0 - pos) * (y + scale * alpha))};
  });
}

Tensor softplus(const Tensor& x, double beta, double threshold, Where where) {
  OpScope scope("softplus", where);
  detail::check_floating(x, "softplus");
  if (!(beta > 0)) detail::raise<ValueError>("softplus", fmt::format("beta must be positive, got {}", beta));
  Tensor out = kernels::unary(UnaryOp::softplus, x, beta, threshold);
  return record(out, "SoftplusBackward", where, {&x}, {input(x)}, [beta, threshold](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0);
    const Tensor linear = gt(v * beta, threshold);
    return {g[0] * (linear + (1.0 - linear) * sigmoid(v * beta))};
  });
}

Tensor gelu(const Tensor& x, Where where) {
  return unary_in(UnaryOp::gelu, x, "gelu", "GeluBackward", where,
                  [](Node& n, TensorList& g) -> TensorList { return {g[0] * gelu_grad(n.saved(0))}; });
}

Tensor gelu(const Tensor& x, GeluApproximation approximate, Where where) {
  if (approximate == GeluApproximation::none) return gelu(x, where);
  return unary_in(UnaryOp::gelu_tanh, x, "gelu", "GeluBackward", where,
                  [](Node& n, TensorList& g) -> TensorList { return {g[0] * gelu_tanh_grad(n.saved(0))}; });
}

Tensor silu(const Tensor& x, Where where) {
  return unary_in(UnaryOp::silu, x, "silu", "SiluBackward", where, [](Node& n, TensorList& g) -> TensorList {
    const Tensor v = n.saved(0);
    const Tensor s = sigmoid(v);
    return {g[0] * s * (1.0 + v * (1.0 - s))};
  });
}

Tensor heaviside(const Tensor& x, double at_zero, Where where) {
  return unary_in(
      UnaryOp::heaviside, x, "heaviside", "HeavisideBackward", where,
      [](Node&, TensorList& g) -> TensorList { return {zeros_like(g[0])}; }, at_zero);
}

Tensor step(const Tensor& x, Where where) { return heaviside(x, 0.0, where); }

Tensor prelu(const Tensor& x, const Tensor& a, Where where) {
  OpScope scope("prelu", where);
  detail::check_binary(x, a, "prelu");
  // relu(x) - a*relu(-x): x where x > 0, a*x elsewhere; gradients follow from the composition.
  Tensor slope = a;
  if (a.numel() > 1 && x.dim() >= 2) {
    if (a.dim() != 1 || a.size(0) != x.size(1))
      detail::raise<ShapeError>("prelu", fmt::format("weight of shape {} must have one value or one per channel (dim 1 of input {})",
                                                     shape_str(a.shape()), shape_str(x.shape())));
    Shape s(static_cast<std::size_t>(x.dim() - 1), 1);
    s[0] = a.size(0);
    slope = reshape(a, s);
  }
  return relu(x) - slope * relu(-x);
}

}  // namespace xgrad
