#pragma once
// Reductions over a list of dimensions (empty list = all dimensions). With keepdim the reduced
// dimensions stay with size 1. Negative dims count from the end.

#include <cstdint>
#include <vector>

#include "../tensor.hpp"

namespace xgrad {

using Dims = std::vector<std::int64_t>;

/// Σ over dims. Gradient: g broadcast back.
Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false, Where where = Where::current());
/// Mean over dims. Gradient: g/n broadcast back.
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false, Where where = Where::current());
/// Variance over dims, divided by n-1 when unbiased (n otherwise). Gradient: 2(x-μ)g/(n-1 or n).
Tensor var(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false, Where where = Where::current());
/// √var. Gradient: (x-μ)g/((n-1 or n)·std).
Tensor std(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false, Where where = Where::current());
/// Π over dims. Gradient: g·Π/x (computed without dividing, so zeros are handled).
Tensor prod(const Tensor& x, const Dims& dims = {}, bool keepdim = false, Where where = Where::current());
/// ln Σ e^x over dims, stable for large x. Gradient: g·softmax(x).
Tensor logsumexp(const Tensor& x, const Dims& dims = {}, bool keepdim = false, Where where = Where::current());
/// Vector p-norm over dims: (Σ|x|^p)^(1/p) for any p > 0 (p = 1: Σ|x|; p = 2: √Σx², one fused
/// kernel each; other p are scaled by max|x| so that |x|^p cannot overflow), p = infinity (max|x|),
/// p = -infinity (min|x|) and p = 0 (the number of nonzero elements). Negative finite p or NaN ->
/// ValueError. The norm of an empty group is 0 (±inf: ShapeError).
/// Gradient: g·sign(x)|x|^(p-1)/‖x‖^(p-1) (p = 2: g·x/‖x‖; p = 1: g·sign(x)), taken as 0 where
/// ‖x‖ = 0 (and, for p < 1, where x = 0), like PyTorch; ±inf: g·sign(x) to the largest (smallest) |x|,
/// split evenly among ties; p = 0: zero.
Tensor norm(const Tensor& x, double p = 2.0, const Dims& dims = {}, bool keepdim = false, Where where = Where::current());
/// Largest value over all elements, 0-d (NaN if any element is NaN). Gradient: g split evenly
/// among the tied maxima (PyTorch's evenly_distribute_backward). Empty tensor -> ShapeError.
Tensor max(const Tensor& x, Where where = Where::current());
/// Smallest value over all elements, as max.
Tensor min(const Tensor& x, Where where = Where::current());
/// The result of max/min along a dim: the values and their int64 positions along that dim.
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};
/// Max along one dim: {values, indices (int64; the first position on ties)}, the dim removed unless
/// keepdim. A NaN in a row is its max. Gradient: g to the selected element only (like PyTorch's
/// value_selecting_reduction_backward), zero elsewhere. Empty dim -> ShapeError.
ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim = false, Where where = Where::current());
/// Min along one dim, as max.
ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim = false, Where where = Where::current());
/// Max over several dims (empty list = all; values only). Gradient: g split evenly among the tied
/// maxima of each group (PyTorch's amax convention).
Tensor amax(const Tensor& x, const Dims& dims, bool keepdim = false, Where where = Where::current());
/// Min over several dims, as amax.
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim = false, Where where = Where::current());
/// Index of the max along dim (int64; first one on ties; no gradient).
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false, Where where = Where::current());
/// Index of the max of the flattened tensor (0-d int64).
Tensor argmax(const Tensor& x, Where where = Where::current());
/// Index of the min along dim (int64; first one on ties; no gradient).
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false, Where where = Where::current());
/// Index of the min of the flattened tensor (0-d int64).
Tensor argmin(const Tensor& x, Where where = Where::current());

}  // namespace xgrad
