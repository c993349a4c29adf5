#pragma once
// The autograd graph: every recorded op creates one Node that knows how to turn the gradients of its
// outputs into gradients of its inputs, and one Edge per input pointing at the node that produced it.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "inline_vector.hpp"
#include "tensor.hpp"

namespace xgrad {

class Node;

/// Where a gradient goes: input `input_nr` of `node` (the output number of the tensor that was
/// used). An invalid edge (null node) means "this input needs no gradient".
struct Edge {
  std::shared_ptr<Node> node;
  std::uint32_t input_nr = 0;
  bool valid() const noexcept { return node != nullptr; }
};

/// Shape and dtype of one output of a node, used to check the gradients that arrive for it.
struct OutputMeta {
  Shape shape;
  Dtype dtype = Dtype::float32;
};

/// A tensor saved for backward. It remembers the version of the tensor's storage at save time;
/// reading it after an in-place change throws GraphError (Note [version counter]). A saved *output*
/// of the node is stored without its grad_fn (no reference cycle) and reconnected on unpack.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  /// The saved tensor; `owner` is the node that saved it (used to reattach saved outputs).
  Tensor unpack(const std::shared_ptr<Node>& owner, std::size_t index) const;
  void reset() noexcept { data_ = Tensor(); }
  bool defined() const noexcept { return data_.defined(); }

 private:
  Tensor data_;
  std::uint32_t version_ = 0;
  std::uint32_t output_nr_ = 0;
  bool is_output_ = false;
};

/// Base class of every backward function. Subclasses implement apply(); library ops use
/// FunctionNode with a lambda, users use xgrad::autograd::Function (function.hpp).
class Node : public std::enable_shared_from_this<Node> {
 public:
  explicit Node(const char* name) noexcept;
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Gradients of the inputs from the gradients of the outputs. `grads[i]` is the gradient of
  /// output i (undefined means zero). Returns one tensor per input (undefined = no gradient).
  virtual TensorList apply(TensorList&& grads) = 0;

  /// Drops saved tensors after a backward without retain_graph.
  virtual void release_variables();

  /// "MulBackward", "AccumulateGrad", ...
  const char* name() const noexcept { return name_; }
  /// Whether input `i` needs a gradient (its edge is valid).
  bool needs_input_grad(std::size_t i) const noexcept {
    return i < next_edges_.size() && next_edges_[i].valid();
  }
  /// Unpacks saved tensor `i` (with the in-place version check).
  Tensor saved(std::size_t i);

  /// One edge per input (inline for up to two inputs: most nodes allocate nothing but themselves).
  using EdgeList = InlineVector<Edge, 2>;
  using OutputList = InlineVector<OutputMeta, 1>;
  using SavedList = InlineVector<SavedTensor, 2>;
  const EdgeList& next_edges() const noexcept { return next_edges_; }
  const OutputList& outputs() const noexcept { return outputs_; }
  std::uint64_t sequence_nr() const noexcept { return sequence_nr_; }
  /// The user's call site of the forward op (for anomaly mode and error messages).
  const Where& where() const noexcept { return where_; }
  bool released() const noexcept { return released_; }

  // ---- library-internal bookkeeping (used by the recording helpers and the engine) ----------
  EdgeList next_edges_;
  OutputList outputs_;
  SavedList saved_;
  std::vector<std::pair<std::uint32_t, std::pair<int, TensorHook>>> pre_hooks_;  // output_nr, hook
  std::vector<std::pair<std::uint32_t, std::weak_ptr<TensorImpl>>> retained_;    // retain_grad()
  Where where_{};
  std::uint64_t sequence_nr_ = 0;
  bool released_ = false;
  // engine state, valid during one backward pass (see engine.cpp)
  TensorList buffer_;
  std::uint64_t epoch_ = 0;
  bool needed_ = true;

 protected:
  const char* name_;
};

/// A node whose backward is a callable `F(Node& self, TensorList& grads) -> TensorList`.
template <class F>
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, F&& f) : Node(name), backward_(std::move(f)) {}
  TensorList apply(TensorList&& grads) override { return backward_(static_cast<Node&>(*this), grads); }

 private:
  F backward_;
};

/// The node at the end of every leaf's edges: adds the incoming gradient into the leaf's grad().
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf);
  TensorList apply(TensorList&& grads) override;
  /// Runs the leaf's hooks (Tensor::register_hook) on `g`; returns the possibly replaced gradient.
  Tensor run_hooks(Tensor g) const;
  /// The leaf, or null once every handle of it is gone.
  std::shared_ptr<TensorImpl> leaf() const noexcept { return leaf_.lock(); }

 private:
  // Weak: the leaf owns this node (TensorImpl::grad_accumulator) so that it is made once per leaf,
  // not once per training step (Note [per-op overhead] in docs/design.md).
  std::weak_ptr<TensorImpl> leaf_;
};

/// The edge that gradients for `t` must follow: its grad_fn, or its AccumulateGrad for a leaf that
/// requires grad, or an invalid edge.
Edge gradient_edge(const Tensor& t);

}  // namespace xgrad
