#pragma once
// Shape, view and indexing ops. Views (reshape of contiguous data, transpose, permute, squeeze,
// unsqueeze, expand, narrow) share storage with their input and cost no copy.

#include <cstdint>
#include <vector>

#include "../tensor.hpp"

namespace xgrad {

/// Same elements in a new shape; one entry may be -1 (inferred). A view when the input is
/// contiguous, else a copy. Gradient: g reshaped back.
Tensor reshape(const Tensor& x, Shape shape, Where where = Where::current());
/// Like reshape but requires a contiguous input (ShapeError otherwise); always a view.
Tensor view(const Tensor& x, Shape shape, Where where = Where::current());
/// Merges dims start_dim..end_dim into one.
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1, Where where = Where::current());
/// Removes dimension `dim` if its size is 1 (no-op otherwise, like PyTorch).
Tensor squeeze(const Tensor& x, std::int64_t dim, Where where = Where::current());
/// Removes every dimension of size 1.
Tensor squeeze(const Tensor& x, Where where = Where::current());
/// Inserts a dimension of size 1 at `dim`.
Tensor unsqueeze(const Tensor& x, std::int64_t dim, Where where = Where::current());
/// Broadcasts to `shape` (a view with stride 0; -1 keeps a size). Gradient: sum back to x's shape.
Tensor expand(const Tensor& x, Shape shape, Where where = Where::current());
/// Same as expand (NumPy's name).
Tensor broadcast_to(const Tensor& x, Shape shape, Where where = Where::current());
/// Swaps two dimensions (a view).
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1, Where where = Where::current());
/// Transpose of a matrix (a 1-D or 0-D tensor is returned as is).
Tensor t(const Tensor& x, Where where = Where::current());
/// Reorders dimensions (a view): result dim i is input dim dims[i].
Tensor permute(const Tensor& x, std::vector<std::int64_t> dims, Where where = Where::current());
/// Concatenates along `dim`; the other sizes must match. Gradient: the slices of g.
Tensor cat(const TensorList& tensors, std::int64_t dim = 0, Where where = Where::current());
/// Stacks equal-shaped tensors along a new dimension `dim`.
Tensor stack(const TensorList& tensors, std::int64_t dim = 0, Where where = Where::current());
/// Splits into pieces of `split_size` along dim (the last may be smaller). Views.
TensorList split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0, Where where = Where::current());
/// Splits into pieces of the given sizes (must add up to the dim's size).
TensorList split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim = 0, Where where = Where::current());
/// Splits into `chunks` nearly equal pieces.
TensorList chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0, Where where = Where::current());
/// Elements start..start+length-1 along dim (a view). Gradient: g placed back into zeros.
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length, Where where = Where::current());
/// Python-style slice x[start:end:step] along dim (negative start/end count from the end; clamped).
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1, Where where = Where::current());
/// Picks entries of `index` (1-D int64) along dim. Gradient: index_add of g.
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index, Where where = Where::current());
/// out[i][j] = x[i][index[i][j]] (for dim 1; likewise for any dim). index is int64 with x's rank.
/// Gradient: scatter_add of g into zeros.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index, Where where = Where::current());
/// out = x; out[i][index[i][j]] += src[i][j] (for dim 1). Gradients: dx = g, dsrc = gather(g).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, Where where = Where::current());
/// One-hot encoding of int64 labels (any shape) -> shape + (num_classes), in `dtype`.
/// IndexError names the first label outside [0, num_classes).
Tensor one_hot(const Tensor& labels, std::int64_t num_classes, Dtype dtype = kFloat32, Where where = Where::current());

}  // namespace xgrad
