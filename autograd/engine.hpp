#pragma once
// The backward engine: walks the graph from the outputs in topological order, without recursion.

#include "tensor.hpp"

namespace xgrad::autograd {

/// Accumulates d(sum_i <outputs[i], grad_outputs[i]>)/d(leaf) into every reachable leaf's grad().
/// `grad_outputs[i]` may be undefined for one-element outputs (defaults to 1).
void backward(const TensorList& outputs, const TensorList& grad_outputs = {},
              BackwardOptions options = {});

/// Options of autograd::grad.
struct GradOptions {
  /// Keep the graph's saved tensors (default: same as create_graph).
  bool retain_graph = false;
  /// Record the backward pass, so the returned gradients are differentiable.
  bool create_graph = false;
  /// Return an undefined tensor (instead of throwing) for inputs the outputs do not depend on.
  bool allow_unused = false;
};

/// Returns d(sum_i <outputs[i], grad_outputs[i]>)/d(inputs[j]) for every j without touching any
/// tensor's grad() (like torch.autograd.grad). Inputs may be leaves or intermediate tensors.
TensorList grad(const TensorList& outputs, const TensorList& inputs,
                const TensorList& grad_outputs = {}, GradOptions options = {});

}  // namespace xgrad::autograd
