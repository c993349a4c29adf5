#include "module.hpp"

#include <cxxabi.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <ostream>
#include <sstream>
#include <typeinfo>
#include <unordered_map>

#include "../autograd/grad_mode.hpp"
#include "../autograd/ops.hpp"

namespace xgrad::nn {

// ---- hooks --------------------------------------------------------------------------------------

struct HookTable {
  int next_id = 0;
  std::vector<std::pair<int, ForwardPreHook>> pre;
  std::vector<std::pair<int, ForwardHook>> forward;
  std::vector<std::pair<int, BackwardHook>> backward;
};

void HookHandle::remove() {
  if (auto t = table_.lock()) {
    std::erase_if(t->pre, [&](const auto& h) { return h.first == id_; });
    std::erase_if(t->forward, [&](const auto& h) { return h.first == id_; });
    std::erase_if(t->backward, [&](const auto& h) { return h.first == id_; });
  }
  table_.reset();
}

bool HookHandle::active() const {
  auto t = table_.lock();
  if (!t) return false;
  auto has = [&](const auto& v) { return std::any_of(v.begin(), v.end(), [&](const auto& h) { return h.first == id_; }); };
  return has(t->pre) || has(t->forward) || has(t->backward);
}

namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  char* raw = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string full = (status == 0 && raw) ? raw : mangled;
  std::free(raw);
  // strip namespaces of the outer name: "xgrad::nn::Linear" -> "Linear", "ns::Block<ns::X>" -> "Block<ns::X>"
  const auto lt = full.find('<');
  const auto head = full.substr(0, lt);
  const auto colon = head.rfind("::");
  return colon == std::string::npos ? full : full.substr(colon + 2);
}

std::string thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string join_quoted(const std::vector<std::string>& keys) {
  std::string out;
  for (std::size_t i = 0; i < keys.size(); ++i) out += (i ? ", '" : "'") + keys[i] + "'";
  return out;
}

/// State shared by the tensor hooks of one module call (see register_full_backward_hook).
struct BackwardHookCall {
  Module* module = nullptr;
  std::vector<BackwardHook> hooks;
  Tensor grad_output;
  bool input_needs_grad = false;

  Tensor run(const Tensor& grad_input) {
    Tensor gi = grad_input;
    bool replaced = false;
    for (auto& h : hooks) {
      Tensor r = h(*module, gi, grad_output);
      if (r.defined()) {
        gi = r;
        replaced = true;
      }
    }
    grad_output = Tensor();
    return replaced ? gi : Tensor();
  }
};

}  // namespace

// ---- construction -------------------------------------------------------------------------------

Module::Module(std::string type_name) : type_name_(std::move(type_name)), hooks_(std::make_shared<HookTable>()) {}
Module::~Module() = default;
Module::Module(Module&& other)
    : std::enable_shared_from_this<Module>(),
      type_name_(std::move(other.type_name_)),
      training_(other.training_),
      parameters_(std::move(other.parameters_)),
      buffers_(std::move(other.buffers_)),
      children_(std::move(other.children_)),
      hooks_(std::move(other.hooks_)) {
  other.hooks_ = std::make_shared<HookTable>();
}

const std::string& Module::type_name() const {
  if (type_name_.empty()) type_name_ = demangle(typeid(*this).name());
  return type_name_;
}

Tensor Module::forward(const Tensor&) {
  throw ValueError(fmt::format("{}::forward is not implemented: override `Tensor forward(const Tensor&)`{}", type_name(),
                               OpScope::call_site()));
}

Tensor Module::operator()(const Tensor& input, Where where) {
  OpScope scope(type_name().c_str(), where);
  if (hooks_->pre.empty() && hooks_->forward.empty() && hooks_->backward.empty()) return forward(input);  // fast path
  const std::shared_ptr<HookTable> table = hooks_;  // keeps the table alive while hooks run
  Tensor x = input;
  if (!table->pre.empty()) {
    const auto pre = table->pre;  // a hook may remove itself
    for (const auto& [id, hook] : pre) {
      Tensor r = hook(*this, x);
      if (r.defined()) x = r;
    }
  }
  std::shared_ptr<BackwardHookCall> call;
  if (!table->backward.empty() && GradMode::is_enabled()) {
    call = std::make_shared<BackwardHookCall>();
    call->module = this;
    for (const auto& [id, hook] : table->backward) call->hooks.push_back(hook);
    call->input_needs_grad = x.defined() && x.requires_grad();
    // an identity node in front of forward: its gradient is ∂L/∂input, whatever forward does with x
    if (call->input_needs_grad) x = reshape(x, x.shape());
  }
  Tensor y = forward(x);
  if (!table->forward.empty()) {
    const auto fwd = table->forward;
    for (const auto& [id, hook] : fwd) {
      Tensor r = hook(*this, x, y);
      if (r.defined()) y = r;
    }
  }
  if (call && y.defined() && y.requires_grad()) {
    y = reshape(y, y.shape());  // a node of our own, even when forward returned its input
    y.register_hook([call](const Tensor& g) -> Tensor {
      call->grad_output = g;
      if (!call->input_needs_grad) call->run(Tensor());
      return Tensor();
    });
    if (call->input_needs_grad) x.register_hook([call](const Tensor& g) -> Tensor { return call->run(g); });
  }
  return y;
}

// ---- registration -------------------------------------------------------------------------------

void Module::check_new_name(const std::string& name, const char* what) const {
  if (name.empty())
    throw ValueError(fmt::format("{}::{}: the name must not be empty", type_name(), what));
  if (name.find('.') != std::string::npos)
    throw ValueError(fmt::format("{}::{}: the name '{}' must not contain '.' (dots separate nested names)", type_name(), what, name));
  const char* used = parameters_.contains(name) ? "parameter" : buffers_.contains(name) ? "buffer" : children_.contains(name) ? "child module" : nullptr;
  if (used) throw ValueError(fmt::format("{}::{}: the name '{}' is already used by a {}", type_name(), what, name, used));
}

Tensor& Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
  check_new_name(name, "register_parameter");
  if (tensor.defined()) {
    if (!is_floating(tensor.dtype()))
      throw DtypeError(fmt::format("{}::register_parameter: parameter '{}' must be float32 or float64, got {}", type_name(), name,
                                   dtype_name(tensor.dtype())));
    if (!tensor.is_leaf()) tensor = tensor.detach();
    tensor.requires_grad_(requires_grad);
  }
  return parameters_.insert(std::move(name), std::move(tensor));
}

Tensor& Module::register_buffer(std::string name, Tensor tensor) {
  check_new_name(name, "register_buffer");
  if (tensor.defined() && !tensor.is_leaf()) tensor = tensor.detach();
  return buffers_.insert(std::move(name), std::move(tensor));
}

void Module::register_module_impl(std::string name, ModulePtr module) {
  check_new_name(name, "register_module");
  if (!module) throw ValueError(fmt::format("{}::register_module: module '{}' is null", type_name(), name));
  children_.insert(std::move(name), std::move(module));
}

// ---- access ---------------------------------------------------------------------------------------

void Module::collect_named(OrderedDict<Tensor>& out, const std::string& prefix, bool params, bool recurse, bool dedupe) const {
  for (const auto& [name, t] : params ? parameters_ : buffers_) {
    if (!t.defined()) continue;
    if (dedupe && std::any_of(out.begin(), out.end(), [&t = t](const auto& item) { return item.value.is_same(t); })) continue;
    const std::string key = prefix + name;
    if (!out.contains(key)) out.insert(key, t);
  }
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect_named(out, prefix + name + ".", params, true, dedupe);
}

TensorList Module::parameters(bool recurse) const { return named_parameters(recurse).values(); }

OrderedDict<Tensor> Module::named_parameters(bool recurse) const {
  OrderedDict<Tensor> out;
  collect_named(out, "", true, recurse, true);
  return out;
}

TensorList Module::buffers(bool recurse) const { return named_buffers(recurse).values(); }

OrderedDict<Tensor> Module::named_buffers(bool recurse) const {
  OrderedDict<Tensor> out;
  collect_named(out, "", false, recurse, true);
  return out;
}

std::vector<ModulePtr> Module::children() const { return children_.values(); }

OrderedDict<ModulePtr> Module::named_children() const {
  OrderedDict<ModulePtr> out;
  for (const auto& [name, child] : children_) out.insert(name, child);
  return out;
}

void Module::collect_modules(OrderedDict<ModulePtr>& out, const std::string& prefix, const ModulePtr& self) {
  if (std::any_of(out.begin(), out.end(), [&](const auto& item) { return item.value.get() == self.get(); })) return;
  out.insert(prefix, self);
  for (const auto& [name, child] : children_) child->collect_modules(out, prefix.empty() ? name : prefix + "." + name, child);
}

OrderedDict<ModulePtr> Module::named_modules(bool include_self) {
  ModulePtr self = weak_from_this().lock();
  if (!self) self = ModulePtr(ModulePtr(), this);  // not owned by a shared_ptr: a non-owning pointer
  OrderedDict<ModulePtr> all;
  collect_modules(all, "", self);
  if (include_self) return all;
  OrderedDict<ModulePtr> out;
  for (const auto& [name, m] : all)
    if (!name.empty()) out.insert(name, m);
  return out;
}

std::vector<ModulePtr> Module::modules(bool include_self) { return named_modules(include_self).values(); }

Tensor* Module::find_slot(std::string_view dotted, bool params) {
  const auto dot = dotted.find('.');
  if (dot == std::string_view::npos) return params ? parameters_.find(dotted) : buffers_.find(dotted);
  ModulePtr* child = children_.find(dotted.substr(0, dot));
  return child ? (*child)->find_slot(dotted.substr(dot + 1), params) : nullptr;
}

Tensor& Module::parameter(std::string_view dotted_name) {
  if (Tensor* t = find_slot(dotted_name, true)) return *t;
  throw IndexError(fmt::format("{}::parameter: no parameter named '{}' (parameters: {})", type_name(), dotted_name,
                               join_quoted(named_parameters().keys())));
}

Tensor& Module::buffer(std::string_view dotted_name) {
  if (Tensor* t = find_slot(dotted_name, false)) return *t;
  throw IndexError(fmt::format("{}::buffer: no buffer named '{}' (buffers: {})", type_name(), dotted_name,
                               join_quoted(named_buffers().keys())));
}

ModulePtr Module::child(std::string_view name) const {
  if (const ModulePtr* c = children_.find(name)) return *c;
  throw IndexError(fmt::format("{}::child: no child module named '{}' (children: {})", type_name(), name,
                               join_quoted(children_.keys())));
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [name, child] : children_) child->apply(fn);
  fn(*this);
}

// ---- modes and housekeeping ---------------------------------------------------------------------

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) p.zero_grad(set_to_none);
}

Module& Module::requires_grad_(bool requires_grad) {
  for (Tensor& p : parameters()) p.requires_grad_(requires_grad);
  return *this;
}

void Module::to(Dtype dtype) {
  if (!is_floating(dtype))
    throw DtypeError(fmt::format("{}::to: modules convert to float32 or float64, not {}", type_name(), dtype_name(dtype)));
  std::vector<std::pair<Tensor, Tensor>> converted;  // old -> new, so that tied tensors stay tied
  auto convert = [&](Tensor& slot, bool keep_grad) {
    if (!slot.defined() || !is_floating(slot.dtype()) || slot.dtype() == dtype) return;
    for (const auto& [old, now] : converted)
      if (old.is_same(slot)) {
        slot = now;
        return;
      }
    Tensor now = slot.detach().to(dtype);
    if (keep_grad) {
      now.requires_grad_(slot.requires_grad());
      if (slot.grad().defined()) now.set_grad(slot.grad().detach().to(dtype));
    }
    converted.emplace_back(slot, now);
    slot = now;
  };
  apply([&](Module& m) {
    for (auto& item : m.parameters_) convert(item.value, true);
    for (auto& item : m.buffers_) convert(item.value, false);
  });
}

// ---- serialization --------------------------------------------------------------------------------

void Module::collect_state(StateDict& out, const std::string& prefix) const {
  for (const auto& [name, t] : parameters_)
    if (t.defined()) out.insert(prefix + name, t.detach());
  for (const auto& [name, t] : buffers_)
    if (t.defined()) out.insert(prefix + name, t.detach());
  for (const auto& [name, child] : children_) child->collect_state(out, prefix + name + ".");
}

StateDict Module::state_dict() const {
  StateDict out;
  collect_state(out, "");
  return out;
}

LoadStateDictResult Module::load_state_dict(const StateDict& state, bool strict) {
  const StateDict own = state_dict();
  LoadStateDictResult result;
  std::vector<std::string> mismatched, unconvertible;
  for (const auto& [key, t] : own) {
    const Tensor* src = state.find(key);
    if (!src) {
      result.missing_keys.push_back(key);
    } else if (!src->defined()) {
      mismatched.push_back(fmt::format("'{}' expected shape {}, got an undefined tensor", key, shape_str(t.shape())));
    } else if (src->shape() != t.shape()) {
      mismatched.push_back(fmt::format("'{}' expected shape {}, got {}", key, shape_str(t.shape()), shape_str(src->shape())));
    } else if (t.dtype() == kInt64 && is_floating(src->dtype())) {
      // An int64 buffer (e.g. BatchNorm's num_batches_tracked) cannot hold NaN, infinities or |v| >= 2^63.
      const std::vector<double> v = src->to_vector<double>();
      for (std::size_t i = 0; i < v.size(); ++i)
        if (!(v[i] >= -0x1p63 && v[i] < 0x1p63)) {
          unconvertible.push_back(fmt::format("'{}' (int64) cannot hold the {} value {} (element {})", key, dtype_name(src->dtype()),
                                              v[i], i));
          break;
        }
    }
  }
  for (const auto& [key, t] : state)
    if (!own.contains(key)) result.unexpected_keys.push_back(key);
  const bool key_problems = strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty());
  if (!mismatched.empty() || !unconvertible.empty() || key_problems) {
    std::vector<std::string> parts;
    if (strict && !result.missing_keys.empty()) parts.push_back("missing keys: " + join_quoted(result.missing_keys));
    if (strict && !result.unexpected_keys.empty()) parts.push_back("unexpected keys: " + join_quoted(result.unexpected_keys));
    if (!mismatched.empty()) {
      std::string s = "shape mismatch: ";
      for (std::size_t i = 0; i < mismatched.size(); ++i) s += (i ? "; " : "") + mismatched[i];
      parts.push_back(s);
    }
    for (const std::string& u : unconvertible) parts.push_back(u);
    std::string msg;
    for (std::size_t i = 0; i < parts.size(); ++i) msg += (i ? "; " : "") + parts[i];
    throw ValueError(fmt::format("{}::load_state_dict: {}", type_name(), msg));
  }
  NoGradGuard no_grad;
  for (const auto& [key, t] : own)
    if (const Tensor* src = state.find(key)) {
      Tensor dst = t;
      if (!src->is_same(dst)) dst.copy_(*src);
    }
  return result;
}

// ---- hooks ----------------------------------------------------------------------------------------

HookHandle Module::register_forward_pre_hook(ForwardPreHook hook) {
  const int id = ++hooks_->next_id;
  hooks_->pre.emplace_back(id, std::move(hook));
  return HookHandle(hooks_, id);
}

HookHandle Module::register_forward_hook(ForwardHook hook) {
  const int id = ++hooks_->next_id;
  hooks_->forward.emplace_back(id, std::move(hook));
  return HookHandle(hooks_, id);
}

HookHandle Module::register_full_backward_hook(BackwardHook hook) {
  const int id = ++hooks_->next_id;
  hooks_->backward.emplace_back(id, std::move(hook));
  return HookHandle(hooks_, id);
}

// ---- printing -------------------------------------------------------------------------------------

std::string Module::extra_repr() const { return {}; }

std::string Module::name() const { return type_name() + "(" + extra_repr() + ")"; }

namespace {
void print_tree(std::ostream& os, const Module& m, int indent) {
  const auto children = m.named_children();
  if (children.empty()) {
    os << m.name();
    return;
  }
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  os << m.type_name() << "(\n";
  if (const auto extra = m.extra_repr(); !extra.empty()) os << pad << extra << "\n";
  for (const auto& [name, child] : children) {
    os << pad << "(" << name << "): ";
    print_tree(os, *child, indent + 2);
    os << "\n";
  }
  os << std::string(static_cast<std::size_t>(indent), ' ') << ")";
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const Module& module) {
  print_tree(os, module, 0);
  return os;
}

std::string to_string(const Module& module) {
  std::ostringstream os;
  os << module;
  return os.str();
}

std::string Module::summary(const Shape& input_shape, std::optional<Dtype> input_dtype) {
  const auto mods = named_modules(true);
  std::unordered_map<const Module*, Tensor> outputs;  // first output of each module
  struct Restore {
    std::vector<std::pair<Module*, bool>> flags;
    std::vector<HookHandle> handles;
    ~Restore() {
      for (auto& h : handles) h.remove();
      for (auto& [m, on] : flags) m->training_ = on;
    }
  } restore;
  for (const auto& [name, m] : mods) {
    restore.flags.emplace_back(m.get(), m->training_);
    restore.handles.push_back(m->register_forward_hook([&outputs](Module& mod, const Tensor&, const Tensor& y) {
      outputs.try_emplace(&mod, y);
    }));
  }
  const TensorList params = parameters();
  const Dtype dtype = input_dtype ? *input_dtype : params.empty() ? kFloat32 : params.front().dtype();
  {
    NoGradGuard no_grad;
    for (const auto& [name, m] : mods) m->training_ = false;
    (*this)(zeros(input_shape, dtype));
  }

  auto shape_of = [&](const Module* m) -> std::string {
    auto it = outputs.find(m);
    return it == outputs.end() || !it->second.defined() ? "--" : shape_str(it->second.shape());
  };
  struct Row {
    std::string layer, shape, params;
  };
  std::vector<Row> rows;
  for (const auto& [name, m] : mods) {
    if (name.empty()) continue;
    const auto depth = static_cast<std::size_t>(std::count(name.begin(), name.end(), '.'));
    std::int64_t own = 0;
    for (const Tensor& p : m->parameters(false)) own += p.numel();
    const bool container = !m->children_.empty();
    rows.push_back({std::string(2 * depth, ' ') + name + " (" + m->type_name() + ")", shape_of(m.get()),
                    container && own == 0 ? "--" : thousands(own)});
  }
  if (rows.empty()) rows.push_back({"(self) (" + type_name() + ")", shape_of(this), thousands(count_parameters(*this))});

  std::int64_t total = 0, trainable = 0, param_bytes = 0, buffer_elems = 0, buffer_bytes = 0;
  for (const Tensor& p : params) {
    total += p.numel();
    if (p.requires_grad()) trainable += p.numel();
    param_bytes += p.numel() * static_cast<std::int64_t>(dtype_size(p.dtype()));
  }
  for (const Tensor& b : buffers()) {
    buffer_elems += b.numel();
    buffer_bytes += b.numel() * static_cast<std::int64_t>(dtype_size(b.dtype()));
  }

  const std::string h1 = "Layer (type)", h2 = "Output Shape", h3 = "Param #";
  std::size_t w1 = h1.size(), w2 = h2.size(), w3 = h3.size();
  for (const auto& r : rows) {
    w1 = std::max(w1, r.layer.size());
    w2 = std::max(w2, r.shape.size());
    w3 = std::max(w3, r.params.size());
  }
  const std::size_t width = w1 + w2 + w3 + 6;
  const std::string heavy(width, '='), light(width, '-');
  std::string out;
  out += fmt::format("Model: {}\n", type_name());
  out += fmt::format("Input: {} {} -> Output: {}\n", shape_str(input_shape), dtype_name(dtype), shape_of(this));
  out += heavy + "\n";
  out += fmt::format("{:<{}}   {:<{}}   {:>{}}\n", h1, w1, h2, w2, h3, w3);
  out += heavy + "\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i) out += light + "\n";
    out += fmt::format("{:<{}}   {:<{}}   {:>{}}\n", rows[i].layer, w1, rows[i].shape, w2, rows[i].params, w3);
  }
  out += heavy + "\n";
  out += fmt::format("Total params: {}\n", thousands(total));
  out += fmt::format("Trainable params: {}\n", thousands(trainable));
  out += fmt::format("Non-trainable params: {}\n", thousands(total - trainable));
  out += fmt::format("Buffer elements: {}\n", thousands(buffer_elems));
  out += fmt::format("Params size: {} bytes ({:.2f} MB)\n", thousands(param_bytes), static_cast<double>(param_bytes) / (1024.0 * 1024.0));
  out += fmt::format("Buffers size: {} bytes ({:.2f} MB)\n", thousands(buffer_bytes), static_cast<double>(buffer_bytes) / (1024.0 * 1024.0));
  out += heavy + "\n";
  return out;
}

// ---- free functions -------------------------------------------------------------------------------

Tensor functional_call(Module& module, const std::vector<std::pair<std::string, Tensor>>& tensors, const Tensor& input, Where where) {
  struct Swap {
    std::vector<std::pair<Tensor*, Tensor>> saved;
    ~Swap() {
      for (auto it = saved.rbegin(); it != saved.rend(); ++it) *it->first = it->second;
    }
  } swap;
  for (const auto& [name, t] : tensors) {
    Tensor* slot = nullptr;
    try {
      slot = &module.parameter(name);
    } catch (const IndexError&) {
      try {
        slot = &module.buffer(name);
      } catch (const IndexError&) {
        throw IndexError(fmt::format("functional_call: {} has no parameter or buffer named '{}'", module.type_name(), name));
      }
    }
    swap.saved.emplace_back(slot, *slot);
    *slot = t;
  }
  return module(input, where);
}

std::int64_t count_parameters(const Module& module, bool trainable_only) {
  std::int64_t n = 0;
  for (const Tensor& p : module.parameters())
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

}  // namespace xgrad::nn
