#pragma once
// Softmax and log-softmax, stable for large logits (the max is subtracted first).

#include <cstdint>

#include "../tensor.hpp"

namespace xgrad {

/// y_i = e^(x_i) / Σ_j e^(x_j) along dim (any dim, negative counts from the end; IndexError when out
/// of range). One fused kernel, finite for logits of any magnitude (±1e4 included).
/// Gradient: y ⊙ (g - Σ g⊙y), one fused op that is itself differentiable (double backward works).
Tensor softmax(const Tensor& x, std::int64_t dim, Where where = Where::current());
/// y_i = x_i - logsumexp(x) along dim, computed as (x_i - max) - ln Σ e^(x_j - max) (exact for huge
/// logits). Gradient: g - e^y·Σ g, one fused op that is itself differentiable.
Tensor log_softmax(const Tensor& x, std::int64_t dim, Where where = Where::current());

}  // namespace xgrad
