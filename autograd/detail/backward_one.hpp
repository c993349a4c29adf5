#pragma once
// Library-internal: the engine entry of Tensor::backward (defined in engine.cpp).

#include "../tensor.hpp"

namespace xgrad::detail {

/// autograd::backward({output}, {grad_output}, options) without building the two lists.
void backward_one(const Tensor& output, const Tensor& grad_output, BackwardOptions options);

}  // namespace xgrad::detail
