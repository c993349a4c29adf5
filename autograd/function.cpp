// Custom differentiable functions (function.hpp): the node that runs a user's backward, and the
// recording of a finished forward call.
#include "function.hpp"

#include <cxxabi.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "detail/record.hpp"
#include "detail/tensor_impl.hpp"

namespace xgrad::autograd {

// ---- FunctionContext ------------------------------------------------------------------------

void FunctionContext::save_for_backward(TensorList tensors) {
  if (!in_forward_)
    throw GraphError(fmt::format("{}: save_for_backward can only be called during forward{}", name(), OpScope::call_site()));
  to_save_ = std::move(tensors);
}

TensorList FunctionContext::saved() const {
  if (in_forward_ || node_ == nullptr)
    throw GraphError(fmt::format("{}: saved() is only available in backward; use the tensors directly in forward{}", name(),
                                 OpScope::call_site()));
  TensorList out;
  out.reserve(node_->saved_slots_.size());
  for (const std::ptrdiff_t slot : node_->saved_slots_)
    out.push_back(slot < 0 ? Tensor() : node_->saved(static_cast<std::size_t>(slot)));
  return out;
}

void FunctionContext::mark_non_differentiable(const TensorList& outputs) {
  if (!in_forward_)
    throw GraphError(fmt::format("{}: mark_non_differentiable can only be called during forward{}", name(), OpScope::call_site()));
  for (const Tensor& t : outputs)
    if (t.defined()) non_differentiable_.push_back(t.impl().get());
}

const std::any& FunctionContext::lookup(const std::string& key) const {
  auto it = saved_data.find(key);
  if (it == saved_data.end()) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : saved_data) keys.push_back(k);
    throw ValueError(fmt::format("{}: no value named '{}' in the context's saved_data (it holds: [{}])", name(), key,
                                 fmt::join(keys, ", ")));
  }
  return it->second;
}

void FunctionContext::throw_bad_type(const std::string& key, const std::type_info& stored, const std::type_info& wanted) const {
  throw ValueError(fmt::format("{}: saved_data['{}'] holds a {}, but get<{}> was called", name(), key, detail::function_name(stored),
                               detail::function_name(wanted)));
}

namespace detail {

// ---- the node ---------------------------------------------------------------------------------

FunctionNode::FunctionNode(const std::string& name, const std::string& node_name, BackwardFn backward, const TensorList& inputs)
    : Node(node_name.c_str()), backward_(backward) {
  ctx_.name_ = &name;
  ctx_.node_ = this;
  input_shapes_.reserve(inputs.size());
  input_dtypes_.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    input_shapes_.push_back(t.defined() ? t.shape() : Shape{});
    input_dtypes_.push_back(t.defined() ? t.dtype() : kFloat32);
  }
}

TensorList FunctionNode::apply(TensorList&& grads) {
  TensorList result = backward_(ctx_, grads);
  const std::size_t n_inputs = input_shapes_.size();
  if (result.size() != n_inputs)
    throw GraphError(fmt::format("{}::backward returned {} gradient{}, but forward had {} input{}: return one per input (an "
                                 "undefined Tensor for an input without gradient){}",
                                 ctx_.name(), result.size(), result.size() == 1 ? "" : "s", n_inputs, n_inputs == 1 ? "" : "s",
                                 OpScope::call_site()));
  for (std::size_t i = 0; i < n_inputs; ++i) {
    Tensor& g = result[i];
    if (!g.defined()) continue;
    if (!needs_input_grad(i)) {  // a gradient nobody asked for: drop it
      g = Tensor();
      continue;
    }
    if (g.shape() != input_shapes_[i] || g.dtype() != input_dtypes_[i])
      throw GraphError(fmt::format("{}::backward returned a gradient of shape {} and dtype {} for input {}, but that input has "
                                   "shape {} and dtype {}{}",
                                   ctx_.name(), shape_str(g.shape()), dtype_name(g.dtype()), i, shape_str(input_shapes_[i]),
                                   dtype_name(input_dtypes_[i]), OpScope::call_site()));
  }
  return result;
}

// ---- recording --------------------------------------------------------------------------------

std::string function_name(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string full = status == 0 && demangled != nullptr ? demangled : type.name();
  std::free(demangled);
  // Drop namespace qualifiers before the template arguments: "ns::(anonymous namespace)::MyExp" -> "MyExp".
  const std::size_t angle = full.find('<');
  const std::size_t colons = full.rfind("::", angle);
  if (colons != std::string::npos) full.erase(0, colons + 2);
  return full;
}

void begin_forward(FunctionContext& ctx, const TensorList& inputs) {
  const bool grad_mode = GradMode::is_enabled();
  ctx.needs_input_grad_.resize(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i)
    ctx.needs_input_grad_[i] = grad_mode && inputs[i].defined() && inputs[i].requires_grad();
  ctx.in_forward_ = true;
}

TensorList finish_forward(const std::shared_ptr<FunctionNode>& node, const TensorList& inputs, TensorList outputs,
                          const Where& where) {
  FunctionContext& ctx = node->context();
  ctx.in_forward_ = false;
  TensorList to_save = std::move(ctx.to_save_);
  ctx.to_save_.clear();
  std::vector<const void*> non_diff = std::move(ctx.non_differentiable_);
  ctx.non_differentiable_.clear();

  if (outputs.empty()) throw GraphError(fmt::format("{}::forward returned no outputs{}", ctx.name(), OpScope::call_site()));
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    if (!outputs[k].defined())
      throw GraphError(fmt::format("{}::forward returned an undefined tensor as output {}{}", ctx.name(), k, OpScope::call_site()));
    if (AnomalyMode::is_enabled() && is_floating(outputs[k].dtype()))
      xgrad::detail::check_forward_anomaly(outputs[k], ctx.name().c_str(), where);
  }
  bool record = false;
  for (std::size_t i = 0; i < inputs.size(); ++i) record = record || ctx.needs_input_grad(i);
  if (!record) return outputs;

  // Which tensors are inputs and outputs, by identity, before outputs are re-wrapped below.
  auto index_of = [](const TensorList& list, const Tensor& t) -> std::ptrdiff_t {
    for (std::size_t k = 0; k < list.size(); ++k)
      if (list[k].is_same(t)) return static_cast<std::ptrdiff_t>(k);
    return -1;
  };
  std::vector<std::ptrdiff_t> saved_output(to_save.size(), -1);
  for (std::size_t s = 0; s < to_save.size(); ++s)
    if (to_save[s].defined() && index_of(inputs, to_save[s]) < 0) saved_output[s] = index_of(outputs, to_save[s]);

  node->where_ = where;
  node->next_edges_.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i)
    node->next_edges_.push_back(ctx.needs_input_grad(i) ? gradient_edge(inputs[i]) : Edge{});

  std::vector<bool> differentiable(outputs.size());
  node->outputs_.reserve(outputs.size());
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    Tensor& out = outputs[k];
    differentiable[k] = is_floating(out.dtype()) &&
                        std::find(non_diff.begin(), non_diff.end(), static_cast<const void*>(out.impl().get())) == non_diff.end();
    node->outputs_.push_back({out.shape(), out.dtype()});
    if (!differentiable[k]) continue;
    // An output that is an input (or already belongs to a graph) gets its own handle on the same
    // data, so that the input keeps its identity and history.
    if (out.impl()->grad_fn || out.impl()->requires_grad || index_of(inputs, out) >= 0) out = out.detach();
    TensorImpl& o = *out.impl();
    o.grad_fn = node;
    o.output_nr = static_cast<std::uint32_t>(k);
    o.requires_grad = true;
  }

  node->saved_.reserve(to_save.size());
  node->saved_slots_.reserve(to_save.size());
  for (std::size_t s = 0; s < to_save.size(); ++s) {
    const Tensor& t = to_save[s];
    if (!t.defined()) {  // saving "nothing" is allowed; saved() gives it back undefined
      node->saved_slots_.push_back(-1);
      continue;
    }
    node->saved_slots_.push_back(static_cast<std::ptrdiff_t>(node->saved_.size()));
    const std::ptrdiff_t k = saved_output[s];
    if (k >= 0 && differentiable[static_cast<std::size_t>(k)])
      node->saved_.emplace_back(outputs[static_cast<std::size_t>(k)], /*is_output=*/true);
    else
      node->saved_.emplace_back(t, /*is_output=*/false);
  }
  return outputs;
}

}  // namespace detail
}  // namespace xgrad::autograd
