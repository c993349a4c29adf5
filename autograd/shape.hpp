#pragma once
// Shapes, strides and the broadcasting rules shared by every op.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "small_vector.hpp"

namespace xgrad {

/// Sizes of a tensor's dimensions (row-major). A 0-d tensor (scalar) has an empty shape. Up to 6
/// dimensions live inside the object (no heap allocation); it converts to and from
/// std::vector<std::int64_t>.
using Shape = SmallVector<std::int64_t, 6>;
/// Element strides of each dimension; a view may have any strides (0 for broadcast dims).
using Strides = SmallVector<std::int64_t, 6>;

/// Product of the sizes (1 for a 0-d shape); INT64_MAX when the product of non-zero sizes overflows
/// int64 (no tensor can have that many elements: allocation and views refuse such shapes).
std::int64_t shape_numel(const Shape& shape) noexcept;

/// Row-major contiguous strides of `shape`.
Strides contiguous_strides(const Shape& shape);

/// "(2, 3)" style text, used in every error message.
std::string shape_str(const Shape& shape);

/// NumPy broadcasting of two shapes; throws ShapeError naming `op` and both shapes when they do not
/// broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

/// Wraps a possibly negative `dim` into [0, rank); throws IndexError naming `op` when out of range.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t rank, const char* op);

}  // namespace xgrad
