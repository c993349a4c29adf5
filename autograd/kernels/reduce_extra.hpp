#pragma once
// Library-internal reduction kernels beyond sum (see reduce.hpp for the conventions): `dims` are
// already wrapped, sorted and unique (an empty list reduces nothing, which only happens for 0-d
// inputs); outputs are contiguous, with the reduced dims removed or kept as size 1 under keepdim.
// The ops layer checks dtypes and empty reductions before calling these.

#include <cstdint>
#include <vector>

#include "../tensor.hpp"

namespace xgrad::kernels {

/// Σ(x-μ)²/max(0, n - correction) over dims, by the corrected two-pass algorithm (mean first, then
/// the squared deviations minus the square of their rounding-error sum / n). NaN when the
/// denominator is 0. Floating dtypes.
Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims, double correction, bool keepdim);

/// Π over dims (1 over an empty set). Floating and int64.
Tensor prod(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim);

/// m + ln Σ e^(x-m) with m the max over dims (±inf stays ±inf, -inf over an empty set). Floating.
Tensor logsumexp(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim);

/// Σ|x| (p = 1), √Σx² (p = 2) or max|x| (p = inf; the reduced set must not be empty). Floating.
Tensor norm(const Tensor& x, double p, const std::vector<std::int64_t>& dims, bool keepdim);

/// max (is_max) or min over dims; NaN wins (propagates). The reduced set must not be empty.
/// Floating and int64.
Tensor extreme(const Tensor& x, const std::vector<std::int64_t>& dims, bool is_max, bool keepdim);

/// max or min along one dim with its position (int64, first one on ties; a NaN wins). `values` may
/// be null when only the indices are wanted. The dim must not be empty. Floating and int64.
void extreme_along(const Tensor& x, std::int64_t dim, bool is_max, bool keepdim, Tensor* values, Tensor* indices);

/// True when some element equals 0.
bool has_zero(const Tensor& x);

}  // namespace xgrad::kernels
