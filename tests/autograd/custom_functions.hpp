#pragma once
// User-defined differentiable functions shared by test_function.cpp and op_cases_function.cpp.
// Every backward is written with xgrad ops, so each one is twice differentiable.

#include <xgrad/autograd/function.hpp>
#include <xgrad/xgrad.hpp>

namespace xgrad::testing::custom {

using autograd::Function;
using autograd::FunctionContext;

/// y = e^x, saving its output. dx = g·y.
struct MyExp : Function<MyExp> {
  static Tensor forward(FunctionContext& ctx, const TensorList& in) {
    Tensor y = exp(in[0]);
    ctx.save_for_backward({y});
    return y;
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) { return {g[0] * ctx.saved()[0]}; }
};

/// y = x³, saving its input. dx = 3x²·g (so d²y/dx² = 6x through the saved input).
struct Cube : Function<Cube> {
  static constexpr const char* name = "cube";
  static Tensor forward(FunctionContext& ctx, const TensorList& in) {
    ctx.save_for_backward({in[0]});
    return in[0] * in[0] * in[0];
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) {
    const Tensor x = ctx.saved()[0];
    return {g[0] * x * x * 3.0};
  }
};

/// Two inputs, two outputs: (a·b, a + b) with broadcasting of b. da = g0·b + g1, db = Σ(g0·a + g1)
/// reduced to b's shape.
struct MulAdd : Function<MulAdd> {
  static TensorList forward(FunctionContext& ctx, const TensorList& in) {
    ctx.save_for_backward({in[0], in[1]});
    return {in[0] * in[1], in[0] + in[1]};
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) {
    const TensorList s = ctx.saved();
    const Tensor& a = s[0];
    const Tensor& b = s[1];
    Tensor ga, gb;
    if (ctx.needs_input_grad(0)) ga = g[0] * b + g[1];
    if (ctx.needs_input_grad(1)) {
      gb = g[0] * a + g[1];
      // reduce the broadcast leading dimension of b
      if (gb.dim() > b.dim()) gb = gb.sum({0});
    }
    return {ga, gb};
  }
};

/// y = alpha·x + beta with non-tensor arguments kept in the context. dx = alpha·g.
struct Affine : Function<Affine> {
  static Tensor forward(FunctionContext& ctx, const TensorList& in, double alpha, double beta) {
    ctx.set("alpha", alpha);
    return in[0] * alpha + beta;
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) { return {g[0] * ctx.get<double>("alpha")}; }
};

}  // namespace xgrad::testing::custom
