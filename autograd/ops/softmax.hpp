#pragma once
// Softmax and log-softmax, stable for large logits (the max is subtracted first).

#include <cstdint>

#include "../tensor.hpp"

namespace xgrad {

/// y_i = e^(x_i) / Σ_j e^(x_j) along dim. Gradient: y ⊙ (g - Σ g⊙y).
Tensor softmax(const Tensor& x, std::int64_t dim, Where where = Where::current());
/// y_i = x_i - logsumexp(x) along dim. Gradient: g - softmax(x)·Σ g.
Tensor log_softmax(const Tensor& x, std::int64_t dim, Where where = Where::current());

}  // namespace xgrad
