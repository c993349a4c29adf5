// Reductions: sum and mean (the rest of the family lives in reduction_extra.cpp).
#include "reduction.hpp"

#include "../detail/checks.hpp"
#include "../detail/record.hpp"
#include "../kernels/reduce.hpp"
#include "../ops.hpp"

namespace xgrad {

using detail::record;

namespace {
// The gradient of a reduction over `dims`: g with the reduced dims reinserted, broadcast to `shape`.
Tensor unreduce(const Tensor& g, const Shape& shape, const std::vector<std::int64_t>& dims, bool keepdim) {
  if (keepdim || dims.empty()) return expand(g, shape);
  return expand(reshape(g, kernels::reduced_shape(shape, dims, true)), shape);
}
}  // namespace

Tensor sum(const Tensor& x, const Dims& dims_in, bool keepdim, Where where) {
  OpScope scope("sum", where);
  detail::check_defined(x, "sum");
  const auto dims = detail::normalize_dims(dims_in, x.dim(), "sum");
  Tensor out = kernels::sum(x, dims, keepdim);
  if (!is_floating(x.dtype())) return out;
  return record(out, "SumBackward", where, {&x}, {}, [shape = x.shape(), dims, keepdim](Node&, TensorList& g) -> TensorList {
    return {unreduce(g[0], shape, dims, keepdim)};
  });
}

Tensor mean(const Tensor& x, const Dims& dims_in, bool keepdim, Where where) {
  OpScope scope("mean", where);
  detail::check_floating(x, "mean");
  const auto dims = detail::normalize_dims(dims_in, x.dim(), "mean");
  std::int64_t n = 1;
  for (auto d : dims) n *= x.shape()[static_cast<std::size_t>(d)];
  if (n == 0) detail::raise<ShapeError>("mean", fmt::format("cannot take the mean over zero elements (shape {})", shape_str(x.shape())));
  Tensor out = kernels::sum(x, dims, keepdim);
  out.mul_(1.0 / static_cast<double>(n));
  return record(out, "MeanBackward", where, {&x}, {}, [shape = x.shape(), dims, keepdim, n](Node&, TensorList& g) -> TensorList {
    return {unreduce(g[0] * (1.0 / static_cast<double>(n)), shape, dims, keepdim)};
  });
}

Tensor detail::sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const auto lead = static_cast<std::int64_t>(grad.shape().size()) - static_cast<std::int64_t>(shape.size());
  std::vector<std::int64_t> dims;
  for (std::int64_t i = 0; i < lead; ++i) dims.push_back(i);
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 1 && grad.shape()[static_cast<std::size_t>(lead) + i] != 1) dims.push_back(lead + static_cast<std::int64_t>(i));
  Tensor s = dims.empty() ? grad : sum(grad, dims, /*keepdim=*/true);
  return s.shape() == shape ? s : reshape(s, shape);
}

}  // namespace xgrad
