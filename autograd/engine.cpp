#include "engine.hpp"

#include <fmt/format.h>

#include <atomic>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>

#include "detail/backward_one.hpp"
#include "detail/record.hpp"
#include "detail/tensor_impl.hpp"
#include "grad_mode.hpp"
#include "kernels/elementwise.hpp"
#include "node.hpp"
#include "ops.hpp"

namespace xgrad::autograd {
namespace {

// Note [engine]
// 1. Collect every node reachable from the roots with an explicit-stack DFS and record its
//    post-order. The reverse post-order is a topological order: a node comes before every node its
//    gradients flow into, so when a node runs, all gradient contributions to it have been summed.
// 2. Walk that order once: run hooks, apply the node, check and route its input gradients into the
//    buffers of the nodes behind its edges, free saved tensors unless retain_graph.
// No recursion anywhere: a 1,000,000-node chain needs one vector of pointers.
std::atomic<std::uint64_t> g_epoch{0};

struct Target {  // an input of autograd::grad: the edge its gradient arrives on
  Node* node;
  std::uint32_t input_nr;
};

// The vectors one backward pass needs, kept per thread between passes so that the backward of a small
// graph allocates nothing of its own (Note [per-op overhead] in docs/design.md). A pass started while
// another runs on the same thread (a hook calling backward) takes a second Scratch.
struct Scratch {
  std::vector<std::pair<Edge, Tensor>> root_grads;  // the edges keep the root nodes alive
  std::vector<Node*> roots;
  std::vector<Node*> order;
  std::vector<std::pair<Node*, std::size_t>> stack;
  std::vector<TensorList> spare_lists;  // emptied gradient lists, reused as node buffers

  TensorList take_list() {
    if (spare_lists.empty()) return {};
    TensorList l = std::move(spare_lists.back());
    spare_lists.pop_back();
    return l;
  }
  void give_list(TensorList&& l) {
    // only small lists: a node with a million inputs must not leave a million slots behind
    if (l.capacity() == 0 || l.capacity() > 16 || spare_lists.size() >= 32) return;
    l.clear();
    spare_lists.push_back(std::move(l));
  }
  void clear() noexcept {
    root_grads.clear();
    roots.clear();
    order.clear();
    stack.clear();
    // a huge graph leaves huge vectors behind: give that memory back
    if (order.capacity() > 4096) {
      std::vector<Node*>().swap(order);
      std::vector<std::pair<Node*, std::size_t>>().swap(stack);
    }
  }
};

class ScratchLease {  // borrows a Scratch of this thread for one pass
 public:
  ScratchLease() {
    auto& free = free_list();
    if (free.empty()) {
      owned_ = std::make_unique<Scratch>();
    } else {
      owned_ = std::move(free.back());
      free.pop_back();
    }
  }
  ~ScratchLease() {
    owned_->clear();
    auto& free = free_list();
    if (free.size() < 4) free.push_back(std::move(owned_));
  }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  Scratch* operator->() const noexcept { return owned_.get(); }
  Scratch& operator*() const noexcept { return *owned_; }

 private:
  static std::vector<std::unique_ptr<Scratch>>& free_list() {
    thread_local std::vector<std::unique_ptr<Scratch>> list;
    return list;
  }
  std::unique_ptr<Scratch> owned_;
};

void topological_order(Scratch& sc, std::uint64_t epoch) {
  std::vector<Node*>& post = sc.order;
  auto& stack = sc.stack;
  for (Node* r : sc.roots) {
    if (r->epoch_ == epoch) continue;
    r->epoch_ = epoch;
    stack.emplace_back(r, 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->next_edges_.size()) {
        Node* child = node->next_edges_[next++].node.get();
        if (child != nullptr && child->epoch_ != epoch) {
          child->epoch_ = epoch;
          stack.emplace_back(child, 0);
        }
      } else {
        post.push_back(node);
        stack.pop_back();
      }
    }
  }
}

void accumulate_into(Tensor& slot, Tensor&& g, bool create_graph) {
  if (!slot.defined()) {
    slot = std::move(g);
  } else if (!create_graph && slot.impl().use_count() == 1 && slot.impl()->storage.use_count() == 1 &&
             slot.is_contiguous() && slot.shape() == g.shape()) {
    slot.add_(g);
  } else {
    slot = add(slot, g);
  }
}

// True while the engine runs a node's backward function on this thread. Anomaly mode then checks the
// gradients the node returns (naming the node and its forward call site) instead of every op inside
// the backward formula (which would name library code).
thread_local bool t_in_backward_fn = false;

struct BackwardFnScope {
  bool previous = t_in_backward_fn;
  BackwardFnScope() noexcept { t_in_backward_fn = true; }
  ~BackwardFnScope() { t_in_backward_fn = previous; }
  BackwardFnScope(const BackwardFnScope&) = delete;
  BackwardFnScope& operator=(const BackwardFnScope&) = delete;
};

// Makes `g` fit the output it is meant for: same dtype, and the same shape (summing broadcast
// dimensions when g is an expansion of it, like PyTorch's validate_outputs).
// `what` says where g comes from, for the message ("returned ... for input 1", "a hook returned ...").
Tensor validate(Tensor g, const Node& producer, const std::string& what, const OutputMeta& meta) {
  if (g.dtype() != meta.dtype)
    throw GraphError(fmt::format("{}: {} of dtype {}, expected {}. Forward op called at {}", producer.name(), what,
                                 dtype_name(g.dtype()), dtype_name(meta.dtype), format_where(producer.where())));
  if (g.shape() == meta.shape) return g;
  bool expandable = g.dim() >= static_cast<std::int64_t>(meta.shape.size());
  for (std::size_t i = 0; expandable && i < meta.shape.size(); ++i) {
    const auto gd = g.shape()[g.shape().size() - meta.shape.size() + i];
    expandable = meta.shape[i] == gd || meta.shape[i] == 1;
  }
  if (!expandable)
    throw GraphError(fmt::format("{}: {} of shape {}, expected shape {}. Forward op called at {}", producer.name(), what,
                                 shape_str(g.shape()), shape_str(meta.shape), format_where(producer.where())));
  return detail::sum_to(g, meta.shape);
}

// The active backward trace of this thread (BackwardTraceGuard), or null.
thread_local const BackwardTraceFn* t_trace = nullptr;

struct Cleanup {  // clears engine state from every visited node, also when an exception escapes
  std::vector<Node*>* order;
  ~Cleanup() {
    for (Node* n : *order) {
      n->buffer_.clear();
      n->needed_ = true;
    }
  }
};

/// The gradient buffer of `node`, one slot per output (a recycled list when it has none yet).
TensorList& buffer_of(Node& node, Scratch& sc) {
  if (node.buffer_.size() < node.outputs_.size()) {
    if (node.buffer_.capacity() == 0) node.buffer_ = sc.take_list();
    node.buffer_.resize(node.outputs_.size());
  }
  return node.buffer_;
}

// Runs the backward pass. With `targets`, captures the gradients arriving at them instead of
// accumulating into leaves, and runs only the nodes that lead to a target.
TensorList run(std::span<const Tensor> outputs, std::span<const Tensor> grad_outputs, bool retain_graph, bool create_graph,
               const std::vector<Target>* targets, const char* op) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    detail::raise<ValueError>(op, fmt::format("got {} outputs but {} gradients", outputs.size(), grad_outputs.size()));
  ScratchLease sc;
  auto& root_grads = sc->root_grads;
  root_grads.reserve(outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    if (!out.defined()) detail::raise<ValueError>(op, fmt::format("output {} is an undefined tensor", i));
    Edge edge = gradient_edge(out);
    if (!edge.valid())
      detail::raise<GraphError>(op, fmt::format("output {} (shape {}) does not require grad and has no grad_fn; "
                                                "did you forget requires_grad_() on a leaf, or compute it under NoGradGuard?",
                                                i, shape_str(out.shape())));
    Tensor g = i < grad_outputs.size() ? grad_outputs[i] : Tensor();
    if (!g.defined()) {
      if (out.numel() != 1)
        detail::raise<ShapeError>(op, fmt::format("a gradient can be created implicitly only for one-element outputs, "
                                                  "but output {} has shape {}; pass the upstream gradient explicitly",
                                                  i, shape_str(out.shape())));
      g = ones_like(out);
    } else if (g.shape() != out.shape() || g.dtype() != out.dtype()) {
      detail::raise<ShapeError>(op, fmt::format("the gradient for output {} has shape {} and dtype {}, but the output has shape {} and dtype {}",
                                                i, shape_str(g.shape()), dtype_name(g.dtype()), shape_str(out.shape()), dtype_name(out.dtype())));
    }
    root_grads.emplace_back(std::move(edge), std::move(g));
  }

  const std::uint64_t epoch = g_epoch.fetch_add(1, std::memory_order_relaxed) + 1;
  for (auto& [edge, g] : root_grads) sc->roots.push_back(edge.node.get());
  topological_order(*sc, epoch);
  std::vector<Node*>& order = sc->order;
  Cleanup cleanup{&order};

  TensorList captured;
  if (targets != nullptr) {
    captured.resize(targets->size());
    // needed_ = some target is reachable from the node. Post-order visits children first.
    for (Node* n : order) {
      bool needed = false;
      for (const Target& t : *targets) needed = needed || t.node == n;
      for (const Edge& e : n->next_edges_) needed = needed || (e.node && e.node->needed_);
      n->needed_ = needed;
    }
  }

  for (auto& [edge, g] : root_grads) {
    accumulate_into(buffer_of(*edge.node, *sc)[edge.input_nr], std::move(g), create_graph);
  }

  AutoGradMode mode(create_graph);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node& node = **it;
    TensorList grads = std::move(node.buffer_);
    node.buffer_.clear();
    bool any = false;
    for (const Tensor& g : grads) any = any || g.defined();
    if (!any) continue;
    // autograd::grad runs only the nodes on a path to a target; a target's own node runs only when
    // further targets lie behind it.
    bool execute = true;
    if (targets != nullptr) {
      if (!node.needed_) continue;
      execute = false;
      for (const Edge& e : node.next_edges_) execute = execute || (e.node && e.node->needed_);
    }
    grads.resize(node.outputs_.size());
    for (std::size_t k = 0; k < grads.size(); ++k)
      if (!grads[k].defined()) grads[k] = zeros(node.outputs_[k].shape, node.outputs_[k].dtype);

    for (auto& [nr, hook] : node.pre_hooks_) {
      Tensor r = hook.second(grads[nr]);
      if (r.defined())
        grads[nr] = validate(std::move(r), node, fmt::format("a hook on output {} returned a gradient", nr), node.outputs_[nr]);
    }

    if (targets == nullptr) {
      // retain_grad(): accumulate like a leaf (out of place: the gradient may still be shared).
      for (auto& [nr, weak] : node.retained_) {
        auto impl = weak.lock();
        if (!impl) continue;
        const Tensor g = create_graph ? grads[nr] : grads[nr].detach();
        impl->grad = impl->grad ? add(Tensor(impl->grad), g).impl() : g.impl();
      }
    } else {
      for (std::size_t t = 0; t < targets->size(); ++t) {
        if ((*targets)[t].node != &node || captured[t].defined()) continue;
        Tensor g = grads[(*targets)[t].input_nr];
        // A leaf's hooks live on the leaf (they run in AccumulateGrad during backward()); run them
        // here too, so that grad() sees the same gradient backward() would accumulate.
        if (auto* acc = dynamic_cast<AccumulateGrad*>(&node)) g = acc->run_hooks(std::move(g));
        captured[t] = std::move(g);
      }
      if (!execute) continue;
    }

    if (node.released_)
      throw GraphError(fmt::format("{}: trying to backward through the graph a second time (its saved tensors were freed "
                                   "by the first backward). Pass retain_graph=true to the first backward if you need "
                                   "to backward twice. Forward op called at {}",
                                   node.name(), format_where(node.where())));
    TensorList input_grads;
    TensorList traced_grads;  // what the node received, kept for the trace (apply consumes `grads`)
    if (t_trace != nullptr) traced_grads = grads;
    {
      // Errors raised inside the backward formula name the user's forward call site (nodes without
      // one, like AccumulateGrad, leave any enclosing scope in charge).
      std::optional<OpScope> scope;
      if (node.where().line() != 0) scope.emplace(node.name(), node.where());
      BackwardFnScope in_backward;
      input_grads = node.apply(std::move(grads));
    }
    // apply() may have returned (and so shared) the incoming gradients: drop our references, so that
    // accumulation below can add in place into buffers nobody else sees.
    sc->give_list(std::move(grads));
    if (t_trace != nullptr) {
      const BackwardTraceFn* trace = t_trace;
      t_trace = nullptr;  // no tracing of whatever the observer itself computes
      struct Restore {
        const BackwardTraceFn* fn;
        ~Restore() { t_trace = fn; }
      } restore{trace};
      (*trace)(node, traced_grads, input_grads);
      traced_grads.clear();
    }
    if (!retain_graph && !node.saved_.empty()) {
      node.release_variables();
      node.released_ = true;
    }
    if (input_grads.size() > node.next_edges_.size())
      throw GraphError(fmt::format("{}: returned {} gradients, but the node has {} inputs. Forward op called at {}", node.name(),
                                   input_grads.size(), node.next_edges_.size(), format_where(node.where())));
    for (std::size_t i = 0; i < input_grads.size(); ++i) {
      const Edge& e = node.next_edges_[i];
      if (!e.valid() || !input_grads[i].defined()) continue;
      if (AnomalyMode::is_enabled() && !kernels::all_finite(input_grads[i]))
        throw AnomalyError(fmt::format("{}: the gradient it returned for input {} (shape {}) contains NaN or Inf. "
                                       "Forward op called at {}",
                                       node.name(), i, shape_str(input_grads[i].shape()), format_where(node.where())));
      Node& child = *e.node;
      Tensor g = input_grads[i].shape() == child.outputs_[e.input_nr].shape && input_grads[i].dtype() == child.outputs_[e.input_nr].dtype
                     ? std::move(input_grads[i])
                     : validate(std::move(input_grads[i]), node, fmt::format("returned a gradient for input {}", i),
                                child.outputs_[e.input_nr]);
      accumulate_into(buffer_of(child, *sc)[e.input_nr], std::move(g), create_graph);
    }
    sc->give_list(std::move(input_grads));
  }
  return captured;
}

}  // namespace

BackwardTraceGuard::BackwardTraceGuard(BackwardTraceFn fn) : fn_(std::move(fn)), previous_(t_trace) {
  t_trace = fn_ ? &fn_ : nullptr;
}

BackwardTraceGuard::~BackwardTraceGuard() { t_trace = previous_; }

void backward(const TensorList& outputs, const TensorList& grad_outputs, BackwardOptions options) {
  run(outputs, grad_outputs, options.retain_graph || options.create_graph, options.create_graph, nullptr, "backward");
}


TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                GradOptions options) {
  std::vector<Target> targets;
  std::vector<std::shared_ptr<Node>> keep;  // accumulators of leaf inputs stay alive during the pass
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad())
      detail::raise<GraphError>("autograd::grad", fmt::format("input {} does not require grad", i));
    Edge e = gradient_edge(inputs[i]);
    targets.push_back({e.node.get(), e.input_nr});
    keep.push_back(std::move(e.node));
  }
  TensorList result = run(outputs, grad_outputs, options.retain_graph || options.create_graph, options.create_graph,
                          &targets, "autograd::grad");
  for (std::size_t i = 0; i < result.size(); ++i) {
    if (!result[i].defined() && !options.allow_unused)
      detail::raise<GraphError>("autograd::grad",
                                fmt::format("input {} (shape {}) was not used to compute the outputs; pass allow_unused=true "
                                            "to get an undefined gradient for it",
                                            i, shape_str(inputs[i].shape())));
    if (result[i].defined() && !options.create_graph) result[i] = result[i].detach();
  }
  return result;
}

}  // namespace xgrad::autograd

namespace xgrad::detail {
void backward_one(const Tensor& output, const Tensor& grad_output, BackwardOptions options) {
  autograd::run(std::span<const Tensor>(&output, 1), std::span<const Tensor>(&grad_output, 1),
                options.retain_graph || options.create_graph, options.create_graph, nullptr, "backward");
}

void check_forward_anomaly(const Tensor& t, const char* op, const Where& where) {
  // Inside a backward function the engine checks the returned gradients instead (see t_in_backward_fn).
  if (autograd::t_in_backward_fn || kernels::all_finite(t)) return;
  const std::string scope = OpScope::call_site();  // names the op the user called, e.g. "(in log called at f.cpp:7)"
  throw AnomalyError(fmt::format("anomaly detected in the forward pass: the output of {} (shape {}) contains NaN or Inf{}", op,
                                 shape_str(t.shape()), scope.empty() ? " (op called at " + format_where(where) + ")" : scope));
}
}  // namespace xgrad::detail
