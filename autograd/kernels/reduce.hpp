#pragma once
// Library-internal reduction kernels. `dims` are already wrapped, sorted and unique (the ops layer
// normalizes them); outputs are contiguous with the reduced dims removed, or kept as size 1 when
// keepdim is set.

#include <cstdint>
#include <vector>

#include "../tensor.hpp"

namespace xgrad::kernels {

/// Shape after reducing `dims` of `shape`.
Shape reduced_shape(const Shape& shape, const std::vector<std::int64_t>& dims, bool keepdim);

/// Σ over dims.
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim);

}  // namespace xgrad::kernels
