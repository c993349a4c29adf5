#pragma once
// Differentiable collectives: recorded by autograd like any op, so that a loss can depend on values
// computed from several ranks' data (SyncBatchNorm's batch statistics).

#include "../autograd/tensor.hpp"
#include "collectives.hpp"

namespace xgrad::distributed::functional {

/// y = Σ_r x_r (sum) or (1/N)·Σ_r x_r (mean) over the ranks, out of place, the same on every rank.
/// Backward: every rank's loss L_s depends on its copy of y, and the objective is Σ_s L_s, so
/// ∂(Σ_s L_s)/∂x_r = Σ_s ∂L_s/∂y (sum) or (1/N)·Σ_s ∂L_s/∂y (mean): the incoming gradients are
/// all-reduced with the same op. This is a collective in forward and in backward (every rank must run
/// both). Differentiable again with create_graph. Shapes and dtypes as distributed::all_reduce.
Tensor all_reduce(const Tensor& x, ReduceOp op = ReduceOp::sum, Where where = Where::current());

}  // namespace xgrad::distributed::functional
