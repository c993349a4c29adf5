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
/// p-norm over dims: p = 1 (Σ|x|), 2 (√Σx²), or infinity (max|x|). Gradient as for the formula
/// (the inf-norm's gradient goes to the largest |x|, split on ties).
Tensor norm(const Tensor& x, double p = 2.0, const Dims& dims = {}, bool keepdim = false, Where where = Where::current());
/// Largest value over all elements (gradient split evenly among ties).
Tensor max(const Tensor& x, Where where = Where::current());
/// Smallest value over all elements.
Tensor min(const Tensor& x, Where where = Where::current());
/// Max and its position along one dim: {values, indices (int64)}. The gradient goes to the selected
/// element.
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};
ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim = false, Where where = Where::current());
ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim = false, Where where = Where::current());
/// Max over several dims (values only; gradient split evenly among ties).
Tensor amax(const Tensor& x, const Dims& dims, bool keepdim = false, Where where = Where::current());
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim = false, Where where = Where::current());
/// Index of the max along dim (int64; first one on ties). Without dim: of the flattened tensor.
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false, Where where = Where::current());
Tensor argmax(const Tensor& x, Where where = Where::current());
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false, Where where = Where::current());
Tensor argmin(const Tensor& x, Where where = Where::current());

}  // namespace xgrad
