#pragma once
// Explaining the backward pass, for teaching and debugging:
// - record_backward(): runs a backward pass and keeps, for every node the engine ran, the gradient it
//   received and the gradients it passed to its inputs (built on BackwardTraceGuard, engine.hpp);
// - explain()/explain_backward(): that pass as text, node by node, with the local derivatives, and
//   the chain-rule products the lecture slides write by hand for named tensors, e.g.
//     ∂E/∂w7 = ∂E/∂out · ∂out/∂z · ∂z/∂w7 = (-0.1203) · (0.1058) · (0.9995) = -0.01273
// - to_dot(): the graph in Graphviz's DOT language (like micrograd's draw_dot): one box per value
//   with its name, shape, value and gradient, one oval per op.
//
// Names come from Tensor::set_name(). Leaves are found through the graph; intermediate tensors must be
// passed in `named` (a node does not keep its output tensor, only the engine's gradient for it).
// The text and the pictures grow with the graph: these are for the small graphs of worked examples and
// for debugging a few nodes, not for whole networks.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine.hpp"
#include "tensor.hpp"

namespace xgrad::autograd {

/// One node run by the engine during a recorded backward pass.
struct BackwardStep {
  /// The node (kept alive by the record).
  std::shared_ptr<const Node> node;
  /// ∂root/∂(each output of the node): the summed gradient the node received.
  TensorList grad_outputs;
  /// What the node passed to each of its inputs (undefined for inputs that need no gradient; empty
  /// for a leaf's AccumulateGrad node).
  TensorList grad_inputs;
};

/// Every node of one backward pass, in the order the engine ran them (a reverse topological order:
/// a node comes after every node that consumes its outputs).
struct BackwardRecord {
  std::vector<BackwardStep> steps;
  /// The step of `node`, or nullptr when the pass did not run it.
  const BackwardStep* find(const Node* node) const;
};

/// Runs root.backward(gradient, options) — accumulating into the leaves' grad() exactly like it — and
/// records every node the engine runs. `gradient` may be omitted for a one-element root.
BackwardRecord record_backward(const Tensor& root, const Tensor& gradient = Tensor(), BackwardOptions options = {});

/// Options of explain() and explain_backward().
struct ExplainOptions {
  /// Significant digits of every printed number (the slides use 4).
  int precision = 4;
  /// Tensors with more elements are shown by shape only.
  std::int64_t max_elements = 12;
  /// The node-by-node account of the pass.
  bool steps = true;
  /// The chain-rule lines for every named tensor.
  bool chains = true;
};

/// Explains a recorded backward pass of `root` as text:
/// 1. for every node, in the order the engine ran it: the op and its output's label (the tensor's
///    name, or "op#k" for unnamed ones, k being the step number), the gradient it received
///    (∂root/∂output), and for each input the local derivative ∂output/∂input and the product passed
///    on. The local derivative is shown where it is a number per element: for one-element tensors it
///    is grad_input / grad_output; for element-wise ops (sigmoid, mul, add, ...) with equal shapes the
///    element-wise ratio; for other ops (matmul, linear, sums, ...) the input gradient is a Jacobian
///    product and only it is shown. An incoming gradient of 0 leaves the local derivative unknown.
/// 2. for every named tensor (leaves named with set_name(), and the tensors in `named`): its gradient
///    as the chain rule through the nearest named tensors above it. When every tensor on the way is a
///    one-element tensor and each has a single named consumer, the full product from the root down is
///    written with its numbers (∂E/∂w1 = ∂E/∂out · ∂out/∂z · ∂z/∂a1 · ∂a1/∂z1 · ∂z1/∂w1 = ...); with
///    several named consumers, the sum over them (∂E/∂h = ∂E/∂p · ∂p/∂h + ∂E/∂q · ∂q/∂h = ...); for
///    larger tensors the symbolic chain and the resulting gradient.
/// The root is labelled root.name(), or "L". Unnamed values appear only in the node-by-node part.
std::string explain(const BackwardRecord& record, const Tensor& root, const TensorList& named = {},
                    const ExplainOptions& options = {});

/// record_backward(root) followed by explain(). This *is* the backward pass: the leaves' grad()
/// accumulate as with root.backward(), so call it instead of backward(), not in addition.
std::string explain_backward(const Tensor& root, const TensorList& named = {}, const ExplainOptions& options = {});

/// Options of to_dot().
struct DotOptions {
  /// Intermediate tensors to label with their name(), value and (with a record) gradient.
  TensorList named;
  /// A recorded backward pass of the same graph: every value box then shows its gradient. Without
  /// it, only leaves show a gradient (their grad(), when defined).
  const BackwardRecord* record = nullptr;
  /// Values and gradients of tensors with more elements are shown by shape only.
  std::int64_t max_elements = 6;
  /// Significant digits of the printed numbers.
  int precision = 4;
  /// Graphviz rankdir: "LR" (inputs on the left, the root on the right) or "TB".
  std::string rankdir = "LR";
  /// A caption under the picture ("" for none).
  std::string title;
  /// Leave out the boxes of unnamed intermediate values (an op's oval then feeds the next op
  /// directly): a smaller picture of a big scalar graph. Named values, leaves and the root keep theirs.
  bool compact = false;
};

/// The graph that produced `root` in Graphviz DOT (render with `dot -Tsvg g.dot -o g.svg`). Every value
/// is a box "name | shape | data ... | grad ...": leaves that require grad (named with set_name(), or
/// "leaf"), the outputs of every op, the root (double border). Every op is an oval between its inputs'
/// boxes and its output's box. Values are known for leaves, the root and the tensors in
/// options.named; tensors that do not require grad (inputs, targets, constants) are not part of the
/// graph and do not appear.
std::string to_dot(const Tensor& root, const DotOptions& options = {});

}  // namespace xgrad::autograd
