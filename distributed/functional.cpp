#include "functional.hpp"

#include "../autograd/function.hpp"
#include "../autograd/grad_mode.hpp"

namespace xgrad::distributed::functional {
namespace {

struct AllReduce : autograd::Function<AllReduce> {
  static constexpr const char* name = "AllReduce";
  static Tensor forward(autograd::FunctionContext& ctx, const TensorList& in, ReduceOp op) {
    ctx.set("op", op);
    Tensor y = in[0].detach().clone();
    distributed::all_reduce(y, op);
    return y;
  }
  static TensorList backward(autograd::FunctionContext& ctx, const TensorList& g) {
    const ReduceOp op = ctx.get<ReduceOp>("op");
    // The adjoint of an all-reduce is the same all-reduce. Under create_graph it is recorded (it is
    // this function again), so the gradient is itself differentiable.
    if (GradMode::is_enabled()) return {functional::all_reduce(g[0], op)};
    Tensor r = g[0].clone();
    distributed::all_reduce(r, op);
    return {r};
  }
};

}  // namespace

Tensor all_reduce(const Tensor& x, ReduceOp op, Where where) { return AllReduce::apply(autograd::FunctionInputs(x, where), op); }

}  // namespace xgrad::distributed::functional
