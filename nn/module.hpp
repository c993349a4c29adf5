#pragma once
// Module: the base class of every layer and model (LibTorch style, without macros).
//
// A module owns named parameters (trainable tensors), named buffers (state that is saved but not
// trained, such as BatchNorm's running statistics) and named child modules. Names nest with dots:
// a Sequential's first Linear's weight is "0.weight"; a model with an `encoder` child holding `fc1`
// has "encoder.fc1.bias". Everything that walks the tree (parameters(), train(), to(), state_dict(),
// ...) follows the registration order: own parameters, own buffers, then each child in turn.
//
//   struct Net : xgrad::nn::Module {
//     std::shared_ptr<Linear> fc1, fc2;
//     Net() : fc1(register_module("fc1", std::make_shared<Linear>(784, 256))),
//             fc2(register_module("fc2", std::make_shared<Linear>(256, 10))) {}
//     Tensor forward(const Tensor& x) override { return (*fc2)(relu((*fc1)(x))); }
//   };

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../autograd/tensor.hpp"
#include "ordered_dict.hpp"

namespace xgrad::nn {

class Module;
/// Shared ownership of a module (children, Sequential entries, modules()).
using ModulePtr = std::shared_ptr<Module>;
/// Name -> tensor in registration order: what state_dict() returns and load_state_dict() takes.
using StateDict = OrderedDict<Tensor>;

/// A forward pre-hook: called as hook(module, input) before forward; a defined return value replaces the
/// input, an undefined Tensor keeps it.
using ForwardPreHook = std::function<Tensor(Module&, const Tensor& input)>;
/// A forward hook: called as hook(module, input, output) after forward; a defined return value replaces the
/// output, an undefined Tensor keeps it.
using ForwardHook = std::function<Tensor(Module&, const Tensor& input, const Tensor& output)>;
/// A backward hook: called as hook(module, grad_input, grad_output) once the gradient with respect to the
/// module's input is known. grad_output = ∂L/∂output, grad_input = ∂L/∂input (undefined when the input
/// does not require grad). A defined return value replaces grad_input for the rest of the backward pass.
using BackwardHook = std::function<Tensor(Module&, const Tensor& grad_input, const Tensor& grad_output)>;

struct HookTable;

/// Handle returned by the register_*_hook functions. remove() unregisters the hook (idempotent); the
/// handle may outlive its module (remove() then does nothing).
class HookHandle {
 public:
  HookHandle() = default;
  /// Unregisters the hook.
  void remove();
  /// True while the hook is registered.
  bool active() const;

 private:
  friend class Module;
  HookHandle(std::weak_ptr<HookTable> table, int id) : table_(std::move(table)), id_(id) {}
  std::weak_ptr<HookTable> table_;
  int id_ = 0;
};

/// Outcome of a non-strict load_state_dict: the keys that were not found on either side.
struct LoadStateDictResult {
  /// Keys of the module that the state dict does not have (left unchanged).
  std::vector<std::string> missing_keys;
  /// Keys of the state dict that the module does not have (ignored).
  std::vector<std::string> unexpected_keys;
};

/// Base class of layers and models. Not copyable (parameters are shared handles; copying would alias
/// them silently); movable, so layers can be passed by value into Sequential.
class Module : public std::enable_shared_from_this<Module> {
 public:
  /// `type_name` is the class name shown by name(), operator<< and summary(); when empty, the
  /// demangled C++ class name (without namespaces) is used.
  explicit Module(std::string type_name = {});
  virtual ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&);
  Module& operator=(Module&&) = delete;

  // ---- forward ------------------------------------------------------------------------------
  /// The computation of the module. The base class throws ValueError ("not implemented").
  virtual Tensor forward(const Tensor& input);
  /// Runs the forward pre-hooks, forward(), then the forward hooks, and wires the backward hooks (see
  /// register_full_backward_hook). Errors raised inside name this call site.
  Tensor operator()(const Tensor& input, Where where = Where::current());

  // ---- registration -------------------------------------------------------------------------
  /// Registers a parameter and returns a reference to its slot (valid for the module's lifetime; to()
  /// replaces the tensor in the slot). A defined tensor must be float32/float64; a non-leaf is
  /// detached; requires_grad is set to `requires_grad`. An undefined tensor registers an absent
  /// parameter (like Linear's bias=false): it is skipped by parameters() and state_dict().
  /// ValueError when the name is empty, contains '.', or is already used by a parameter, buffer or child.
  Tensor& register_parameter(std::string name, Tensor tensor, bool requires_grad = true);
  /// Registers a buffer (state saved in state_dict() and converted by to(), but not returned by
  /// parameters(): running statistics, counters). Returns a reference to its slot. Name rules as above.
  Tensor& register_buffer(std::string name, Tensor tensor);
  /// Registers a child module and returns it (so `fc = register_module("fc", make_shared<Linear>(2, 3))`).
  /// ValueError for a null pointer or a bad/duplicate name.
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "register_module: M must derive from xgrad::nn::Module");
    register_module_impl(std::move(name), module);
    return module;
  }
  /// Registers a child module given by value (moved into a new shared_ptr) and returns it.
  template <class M>
    requires std::is_base_of_v<Module, std::decay_t<M>> && (!std::is_lvalue_reference_v<M>)
  std::shared_ptr<std::decay_t<M>> register_module(std::string name, M&& module) {
    return register_module(std::move(name), std::make_shared<std::decay_t<M>>(std::move(module)));
  }

  // ---- access ---------------------------------------------------------------------------------
  /// Parameters (defined ones; the same tensor registered twice is listed once), own first, then the
  /// children's when `recurse`. Handles share data: optimizers update them in place.
  TensorList parameters(bool recurse = true) const;
  /// Parameters with dotted names ("0.weight", "encoder.fc1.bias"); duplicates listed once.
  OrderedDict<Tensor> named_parameters(bool recurse = true) const;
  /// Buffers (defined ones), own first, then the children's when `recurse`.
  TensorList buffers(bool recurse = true) const;
  /// Buffers with dotted names ("bn.running_mean").
  OrderedDict<Tensor> named_buffers(bool recurse = true) const;
  /// Direct children in registration order.
  std::vector<ModulePtr> children() const;
  /// Direct children with their names.
  OrderedDict<ModulePtr> named_children() const;
  /// This module (when include_self) and every descendant, depth first (pre-order). When this module is
  /// not owned by a shared_ptr, its entry is a non-owning pointer.
  std::vector<ModulePtr> modules(bool include_self = true);
  /// Like modules() with dotted names; this module is named "".
  OrderedDict<ModulePtr> named_modules(bool include_self = true);
  /// The slot of a parameter by dotted name ("fc1.weight"); assigning to it replaces the parameter
  /// (see functional_call). IndexError names an unknown key.
  Tensor& parameter(std::string_view dotted_name);
  /// The slot of a buffer by dotted name. IndexError names an unknown key.
  Tensor& buffer(std::string_view dotted_name);
  /// The direct child called `name`. IndexError names an unknown child.
  ModulePtr child(std::string_view name) const;
  /// Calls fn on every module of the tree (children first, then this one, like PyTorch's apply):
  /// custom initialization, counting, ...
  void apply(const std::function<void(Module&)>& fn);

  // ---- modes and housekeeping -------------------------------------------------------------------
  /// Sets training mode (on = true) or evaluation mode on this module and every descendant. Dropout
  /// and BatchNorm behave differently in the two modes.
  virtual void train(bool on = true);
  /// Same as train(false).
  void eval() { train(false); }
  /// True in training mode (the default).
  bool is_training() const noexcept { return training_; }
  /// Clears (set_to_none, the default) or zeroes the accumulated grad() of every parameter.
  void zero_grad(bool set_to_none = true);
  /// Sets requires_grad on every parameter of the tree (PyTorch's Module.requires_grad_): false freezes
  /// the module (backward then computes no gradient for its parameters and optimizers skip them), true
  /// unfreezes it. Returns *this, so `model.child("body")->requires_grad_(false)` freezes a sub-network
  /// for transfer learning. Buffers are not touched.
  Module& requires_grad_(bool requires_grad = true);
  /// Converts every floating parameter and buffer of the tree to `dtype`, replacing the tensor in its
  /// slot (requires_grad and an existing grad() are kept, converted). int64 buffers stay. Tensors held
  /// elsewhere (e.g. by an optimizer created earlier) are not updated: create optimizers after to().
  void to(Dtype dtype);

  // ---- serialization ----------------------------------------------------------------------------
  /// Every parameter and buffer of the tree by dotted name (registration order), detached: the tensors
  /// share data with the module (clone() them for a snapshot).
  StateDict state_dict() const;
  /// Copies the values of `state` into the module's existing tensors (under NoGradGuard, converting the
  /// dtype), so optimizers that hold the parameters keep working. All problems are reported together in
  /// one ValueError before anything is copied: entries whose shape differs (always an error; both shapes
  /// printed) and, when `strict`, missing keys and unexpected keys. Non-strict loading returns the
  /// missing and unexpected keys instead.
  LoadStateDictResult load_state_dict(const StateDict& state, bool strict = true);

  // ---- hooks ------------------------------------------------------------------------------------
  /// Registers hook(module, input) to run before forward; it may return a replacement input.
  HookHandle register_forward_pre_hook(ForwardPreHook hook);
  /// Same for a hook returning void (observes only).
  template <class F>
    requires std::is_void_v<std::invoke_result_t<F&, Module&, const Tensor&>>
  HookHandle register_forward_pre_hook(F hook) {
    return register_forward_pre_hook(ForwardPreHook([h = std::move(hook)](Module& m, const Tensor& x) mutable {
      h(m, x);
      return Tensor();
    }));
  }
  /// Registers hook(module, input, output) to run after forward; it may return a replacement output.
  HookHandle register_forward_hook(ForwardHook hook);
  /// Same for a hook returning void (observes only).
  template <class F>
    requires std::is_void_v<std::invoke_result_t<F&, Module&, const Tensor&, const Tensor&>>
  HookHandle register_forward_hook(F hook) {
    return register_forward_hook(ForwardHook([h = std::move(hook)](Module& m, const Tensor& x, const Tensor& y) mutable {
      h(m, x, y);
      return Tensor();
    }));
  }
  /// Registers hook(module, grad_input, grad_output), called during backward once ∂L/∂input is known
  /// (or, when the input needs no gradient, once ∂L/∂output is known, with grad_input undefined). It is
  /// implemented with tensor hooks on identity views of the input and output made by operator() while
  /// grad mode is on, so it only fires for calls made after registration. It may return a replacement
  /// grad_input. The module must outlive the backward pass.
  HookHandle register_full_backward_hook(BackwardHook hook);
  /// Same for a hook returning void (observes only).
  template <class F>
    requires std::is_void_v<std::invoke_result_t<F&, Module&, const Tensor&, const Tensor&>>
  HookHandle register_full_backward_hook(F hook) {
    return register_full_backward_hook(
        BackwardHook([h = std::move(hook)](Module& m, const Tensor& gi, const Tensor& go) mutable {
          h(m, gi, go);
          return Tensor();
        }));
  }

  // ---- printing ---------------------------------------------------------------------------------
  /// The class name ("Linear", or the demangled name of a user class).
  const std::string& type_name() const;
  /// The settings shown between the parentheses of name(), e.g. "in_features=784, out_features=256,
  /// bias=true". Empty by default; layers override it.
  virtual std::string extra_repr() const;
  /// type_name() + "(" + extra_repr() + ")", e.g. "Linear(in_features=784, out_features=256, bias=true)".
  virtual std::string name() const;
  /// A Keras-like table of the model for an input of `input_shape` (batch dimension included): one row
  /// per descendant module (dotted name and type, indented by depth), its output shape, and its parameter
  /// count ("--" for a container whose parameters all belong to its children); then the total,
  /// trainable (requires_grad) and non-trainable parameter counts, the buffer element count and the
  /// memory of parameters and buffers in bytes (per their dtypes). Shapes come from one forward pass on
  /// zeros of `input_dtype` (default: the dtype of the first parameter, else float32) run under
  /// NoGradGuard in eval mode, with forward hooks recording each module's output; the training flags are
  /// restored afterwards and no random numbers are drawn. A module that the forward pass does not reach
  /// shows "--".
  std::string summary(const Shape& input_shape, std::optional<Dtype> input_dtype = std::nullopt);

 private:
  void register_module_impl(std::string name, ModulePtr module);
  void check_new_name(const std::string& name, const char* what) const;
  void collect_named(OrderedDict<Tensor>& out, const std::string& prefix, bool params, bool recurse, bool dedupe) const;
  void collect_modules(OrderedDict<ModulePtr>& out, const std::string& prefix, const ModulePtr& self);
  void collect_state(StateDict& out, const std::string& prefix) const;
  Tensor* find_slot(std::string_view dotted, bool params);

  mutable std::string type_name_;
  bool training_ = true;
  OrderedDict<Tensor> parameters_;
  OrderedDict<Tensor> buffers_;
  OrderedDict<ModulePtr> children_;
  std::shared_ptr<HookTable> hooks_;
};

/// Prints the module tree like PyTorch:
///   Sequential(
///     (0): Linear(in_features=784, out_features=256, bias=true)
///     (1): ReLU()
///   )
std::ostream& operator<<(std::ostream& os, const Module& module);
/// The text of operator<<.
std::string to_string(const Module& module);

/// Runs module(input) with some parameters or buffers temporarily replaced by the given tensors (dotted
/// names), then restores the originals, even when forward throws (like torch.func.functional_call).
/// Gradients then flow to the given tensors instead of the module's parameters: this is how the tests
/// gradcheck a module with respect to its parameters. IndexError names an unknown key.
Tensor functional_call(Module& module, const std::vector<std::pair<std::string, Tensor>>& tensors, const Tensor& input,
                       Where where = Where::current());

/// Number of elements of the module tree's parameters (duplicates counted once); only those with
/// requires_grad when `trainable_only`.
std::int64_t count_parameters(const Module& module, bool trainable_only = false);

}  // namespace xgrad::nn
