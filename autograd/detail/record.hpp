#pragma once
// Library-internal: the helpers every op uses to record itself in the graph.
//
// An op computes its output with kernels, then calls record(). When grad mode is on and some input
// requires grad, record() creates a FunctionNode whose backward is the given lambda, connects one
// edge per input, saves the requested tensors and makes the output a non-leaf. The backward lambda
// is written with xgrad ops, so it is itself differentiable (create_graph).

#include <initializer_list>
#include <utility>

#include "../grad_mode.hpp"
#include "../node.hpp"
#include "object_pool.hpp"
#include "tensor_impl.hpp"

namespace xgrad::detail {

/// A tensor to save for backward: an input of the op, or its output.
struct Save {
  const Tensor* tensor;
  bool is_output;
};
inline Save input(const Tensor& t) noexcept { return {&t, false}; }
inline Save output(const Tensor& t) noexcept { return {&t, true}; }

/// True when grad mode is on and some input requires grad.
inline bool should_record(std::initializer_list<const Tensor*> inputs) noexcept {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->impl()->requires_grad) return true;
  return false;
}

/// Throws AnomalyError when `t` holds a NaN or Inf (called only in anomaly mode).
void check_forward_anomaly(const Tensor& t, const char* op, const Where& where);

/// Connects `node` to `inputs`, gives it `outs` as outputs and makes them its results.
void attach(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs,
            std::initializer_list<Tensor*> outs, std::initializer_list<Save> saves, const Where& where);

/// Records `out = op(inputs)` with the given backward (`TensorList(Node&, TensorList& grads)`).
template <class F>
Tensor& record(Tensor& out, const char* name, const Where& where,
               std::initializer_list<const Tensor*> inputs, std::initializer_list<Save> saves,
               F&& backward) {
  if (AnomalyMode::is_enabled()) check_forward_anomaly(out, name, where);
  if (!should_record(inputs)) return out;
  auto node = make_pooled<FunctionNode<std::decay_t<F>>>(name, std::forward<F>(backward));
  attach(node, inputs, {&out}, saves, where);
  return out;
}

/// Sums `grad` down to `shape`: the gradient of broadcasting `shape` up to grad.shape().
/// Differentiable (its backward is expand). Returns grad itself when the shapes already match.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace xgrad::detail
