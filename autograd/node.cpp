#include "node.hpp"

#include <fmt/format.h>

#include <atomic>

#include "detail/record.hpp"
#include "detail/tensor_impl.hpp"
#include "kernels/elementwise.hpp"
#include "grad_mode.hpp"
#include "ops.hpp"

namespace xgrad {

// Note [teardown]
// Graphs are chains of shared_ptr<Node>: a node owns the nodes of its inputs through its edges, and
// saved tensors own their producers' nodes too. Letting the destructors recurse overflows the stack
// at a few hundred thousand nodes (fewer at -O0). Instead, every place that drops a node reference
// (edges in ~Node, grad_fn in ~TensorImpl) hands it to release_node(): the first call on a thread
// becomes the "drainer" and destroys queued nodes in a loop; destructors running inside the loop only
// push more nodes onto the queue. Stack depth stays constant, whatever the graph's depth, and
// duplicate edges (x * x) are just two references dropped in turn.
void detail::release_node(std::shared_ptr<Node>&& node) noexcept {
  thread_local std::vector<std::shared_ptr<Node>> pending;
  thread_local bool draining = false;
  if (!node) return;
  if (node.use_count() > 1) {  // not the last owner: nothing is destroyed now
    node.reset();
    return;
  }
  pending.push_back(std::move(node));
  if (draining) return;
  draining = true;
  while (!pending.empty()) {
    std::shared_ptr<Node> last = std::move(pending.back());
    pending.pop_back();
    last.reset();  // may run ~Node, which pushes onto `pending`
  }
  draining = false;
  // A wide graph (one node with a million inputs) grows the queue to millions of entries: give that
  // memory back instead of keeping it for the thread's lifetime.
  if (pending.capacity() > 4096) std::vector<std::shared_ptr<Node>>().swap(pending);
}

namespace {
std::atomic<std::uint64_t> g_sequence{0};
}

Node::Node(const char* name) noexcept : sequence_nr_(g_sequence.fetch_add(1, std::memory_order_relaxed)), name_(name) {}

Node::~Node() {
  for (Edge& e : next_edges_) detail::release_node(std::move(e.node));
  for (SavedTensor& s : saved_) s.reset();
}

void Node::release_variables() {
  for (SavedTensor& s : saved_) s.reset();
}

Tensor Node::saved(std::size_t i) { return saved_.at(i).unpack(shared_from_this(), i); }

// Note [version counter]
// Every storage has a version, bumped by each in-place op. A SavedTensor remembers the version it saw;
// unpacking it after an in-place change would silently compute a wrong gradient, so it throws.
SavedTensor::SavedTensor(const Tensor& t, bool is_output)
    : version_(t.impl()->storage->version), output_nr_(t.impl()->output_nr), is_output_(is_output) {
  if (is_output) {
    // Keep the data without grad_fn: the node owning this SavedTensor is the output's grad_fn, and a
    // strong reference back to it would be a cycle.
    data_ = make_view(t, t.shape(), t.strides(), t.impl()->offset);
  } else {
    data_ = t;
  }
}

Tensor SavedTensor::unpack(const std::shared_ptr<Node>& owner, std::size_t index) const {
  if (!data_.defined())
    throw GraphError(fmt::format(
        "{}: trying to backward through the graph a second time (or to read saved tensors after they were freed). "
        "Pass retain_graph=true to the first backward if you need to backward twice. Forward op called at {}",
        owner->name(), format_where(owner->where())));
  const std::uint32_t now = data_.impl()->storage->version;
  if (now != version_)
    throw GraphError(fmt::format(
        "{}: tensor #{} saved for backward (shape {}, dtype {}) was modified by an in-place operation after it "
        "was saved: its version is {}, expected {}. Forward op called at {}",
        owner->name(), index, shape_str(data_.shape()), dtype_name(data_.dtype()), now, version_,
        format_where(owner->where())));
  if (is_output_ && GradMode::is_enabled()) {
    // create_graph: reconnect the saved output to the node that produced it, so double backward
    // flows through it.
    Tensor t = make_view(data_, data_.shape(), data_.strides(), data_.impl()->offset);
    t.impl()->grad_fn = owner;
    t.impl()->output_nr = output_nr_;
    t.impl()->requires_grad = true;
    return t;
  }
  return data_;
}

AccumulateGrad::AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf) : Node("AccumulateGrad"), leaf_(leaf) {
  outputs_.push_back({leaf->shape, leaf->dtype});
}

Tensor AccumulateGrad::run_hooks(Tensor g) const {
  const std::shared_ptr<TensorImpl> leaf = leaf_.lock();
  if (!leaf) return g;
  for (auto& [handle, hook] : leaf->hooks) {
    Tensor r = hook(g);
    if (r.defined()) g = std::move(r);
  }
  return g;
}

TensorList AccumulateGrad::apply(TensorList&& grads) {
  Tensor g = std::move(grads[0]);
  const std::shared_ptr<TensorImpl> leaf = leaf_.lock();
  if (!g.defined() || !leaf) return {};  // a leaf nobody holds any more: no one can read its gradient
  g = run_hooks(std::move(g));
  if (g.shape() != leaf->shape || g.dtype() != leaf->dtype)
    throw GraphError(fmt::format("AccumulateGrad: gradient of shape {} and dtype {} does not match the leaf's shape {} and dtype {}",
                                 shape_str(g.shape()), dtype_name(g.dtype()), shape_str(leaf->shape), dtype_name(leaf->dtype)));
  auto& slot = leaf->grad;
  if (GradMode::is_enabled()) {  // create_graph: keep the gradient's own graph
    slot = slot ? add(Tensor(slot), g).impl() : g.impl();
  } else if (!slot) {
    // Steal the buffer when nobody else can see it; otherwise copy (the same gradient tensor may be
    // handed to several inputs, e.g. both sides of an add).
    const bool exclusive = g.impl().use_count() == 1 && g.impl()->storage.use_count() == 1 && g.is_contiguous() && !g.requires_grad();
    slot = exclusive ? g.impl() : g.detach().clone().impl();
  } else if (slot->requires_grad) {
    // The stored gradient is part of a graph (an earlier create_graph backward): never modify it in place.
    slot = add(Tensor(slot), g).impl();
  } else {
    Tensor(slot).add_(g);
  }
  if (!leaf->post_accumulate_hooks.empty()) {
    g = Tensor();  // the hooks may modify grad() in place: hold no second reference to its buffer
    // a copy, so that a hook may remove itself (or others) while they run
    const auto hooks = leaf->post_accumulate_hooks;
    const Tensor handle(leaf);
    for (const auto& [id, hook] : hooks) hook(handle);
  }
  return {};
}

Edge gradient_edge(const Tensor& t) {
  TensorImpl& impl = *t.impl();
  if (impl.grad_fn) return {impl.grad_fn, impl.output_nr};
  if (!impl.requires_grad) return {};
  if (!impl.grad_accumulator) impl.grad_accumulator = detail::make_pooled<AccumulateGrad>(t.impl());
  return {impl.grad_accumulator, 0};
}

void detail::attach(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs,
                    std::initializer_list<Tensor*> outs, std::initializer_list<Save> saves, const Where& where) {
  node->where_ = where;
  node->next_edges_.reserve(inputs.size());
  for (const Tensor* in : inputs) node->next_edges_.push_back(in->defined() ? gradient_edge(*in) : Edge{});
  node->outputs_.reserve(outs.size());
  std::uint32_t nr = 0;
  for (Tensor* out : outs) {
    TensorImpl& o = *out->impl();
    node->outputs_.push_back({o.shape, o.dtype});
    o.grad_fn = node;
    o.output_nr = nr++;
    o.requires_grad = true;
  }
  node->saved_.reserve(saves.size());
  for (const Save& s : saves) node->saved_.emplace_back(*s.tensor, s.is_output);
}

}  // namespace xgrad
