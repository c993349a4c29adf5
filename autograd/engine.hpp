#pragma once
// The backward engine: walks the graph from the outputs in topological order, without recursion.

#include <functional>

#include "tensor.hpp"

namespace xgrad {
class Node;
}

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

/// An observer of the backward engine (see BackwardTraceGuard). Called once per node the engine runs,
/// in execution order (a reverse topological order of the graph), with
/// - `grad_outputs`: the gradient of each of the node's outputs, summed over every consumer and after
///   the tensor hooks, i.e. exactly what the node's backward received (∂L/∂output);
/// - `grad_inputs`: what the node returned for each input (∂L/∂input along this node; undefined for
///   inputs that need no gradient), before it is summed into the producers' buffers.
/// For a leaf's AccumulateGrad node, grad_outputs[0] is the gradient the leaf receives and grad_inputs
/// is empty. The tensors are the engine's own (not copies): an observer may keep the handles, never
/// modify them in place.
using BackwardTraceFn = std::function<void(const Node& node, const TensorList& grad_outputs, const TensorList& grad_inputs)>;

/// Installs a backward trace on the calling thread for the guard's lifetime: every backward() and
/// autograd::grad() run on this thread reports its nodes to `fn` (autograd::grad reports only the
/// nodes it runs). Guards nest (the previous trace is restored on destruction); the trace is switched
/// off while `fn` runs. Without a guard the engine pays one thread-local pointer test per node.
/// explain_backward() and record_backward() (explain.hpp) are built on it.
class BackwardTraceGuard {
 public:
  explicit BackwardTraceGuard(BackwardTraceFn fn);
  ~BackwardTraceGuard();
  BackwardTraceGuard(const BackwardTraceGuard&) = delete;
  BackwardTraceGuard& operator=(const BackwardTraceGuard&) = delete;

 private:
  BackwardTraceFn fn_;
  const BackwardTraceFn* previous_;
};

}  // namespace xgrad::autograd
