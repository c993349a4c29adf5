#pragma once
// Library-internal indexing kernels: concatenation, strided copies, index_select / index_add,
// gather / scatter_add and one-hot. No autograd and no argument checks: the ops layer validates
// shapes, dtypes and index ranges (kernels::first_out_of_range) before calling these. Inputs may have
// any layout (strides are followed directly, no contiguous copy); outputs are new contiguous tensors.

#include <cstdint>

#include "../tensor.hpp"

namespace xgrad::kernels {

/// dst[...] = src[...] element by element; equal shapes and dtypes, any strides (dst may be a view).
void strided_copy(const Tensor& dst, const Tensor& src);

/// Concatenation of `xs` (same dtype and rank, equal sizes except along `dim`) into a new
/// contiguous tensor of `out_shape`.
Tensor cat(const TensorList& xs, std::int64_t dim, const Shape& out_shape);

/// Flat (row-major) position of the first element of the int64 tensor `index` outside [lo, hi),
/// or -1 when every element is in range.
std::int64_t first_out_of_range(const Tensor& index, std::int64_t lo, std::int64_t hi);

/// out = x with dimension `dim` replaced by the entries of the 1-D int64 `index`:
/// out[..., j, ...] = x[..., index[j], ...].
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);

/// out[..., index[j], ...] += src[..., j, ...] in place (accumulates on repeated indices). src has
/// out's shape except along dim, where its size is index.numel(). out may be a view.
void index_add_inplace(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src);

/// out[p] = x[p with coordinate `dim` replaced by index[p]] for every position p of index (same rank
/// as x, index.size(d) <= x.size(d) for d != dim). out has index's shape and x's dtype.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);

/// out[p with coordinate dim replaced by index[p]] += src[p] in place, for every position p of index
/// (accumulates on repeated targets). src has index's shape; out may be a view.
void scatter_add_inplace(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src);

/// labels (int64, any shape) -> shape + (num_classes) of `dtype`, 1 at each label, 0 elsewhere.
Tensor one_hot(const Tensor& labels, std::int64_t num_classes, Dtype dtype);

}  // namespace xgrad::kernels
