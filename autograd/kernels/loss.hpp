#pragma once
// Library-internal: element-wise binary cross-entropy kernels (no autograd). Shapes are checked by
// the ops layer; optional tensors (weights) are undefined when absent and broadcast to the input's
// shape. Outputs are new contiguous tensors of the input's shape.

#include <cstdint>

#include "../tensor.hpp"

namespace xgrad::kernels {

/// -w [y max(ln p, -100) + (1-y) max(ln(1-p), -100)].
Tensor binary_cross_entropy(const Tensor& p, const Tensor& y, const Tensor& weight);
/// w [(1-y) z + (1 + (pw-1) y)(ln(1 + e^-|z|) + max(-z, 0))]: BCE on logits z, exact and finite for
/// any finite z (pw = pos_weight, 1 when absent).
Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y, const Tensor& weight, const Tensor& pos_weight);
/// Row-major flat index of the first element of x outside [lo, hi] (NaN counts as outside), or -1;
/// its value goes to `value`.
std::int64_t first_outside(const Tensor& x, double lo, double hi, double& value);

}  // namespace xgrad::kernels
