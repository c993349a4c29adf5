#pragma once
// Custom differentiable functions: a user-written forward and backward that take part in the graph
// like any built-in op (the C++ counterpart of torch::autograd::Function).
//
//   struct MyExp : xgrad::autograd::Function<MyExp> {
//     // y = e^x
//     static xgrad::Tensor forward(xgrad::autograd::FunctionContext& ctx, const xgrad::TensorList& in) {
//       xgrad::Tensor y = xgrad::exp(in[0]);
//       ctx.save_for_backward({y});
//       return y;
//     }
//     // dx = g * y
//     static xgrad::TensorList backward(xgrad::autograd::FunctionContext& ctx, const xgrad::TensorList& g) {
//       return {g[0] * ctx.saved()[0]};
//     }
//   };
//   xgrad::Tensor y = MyExp::apply({x});
//
// forward runs with gradient recording off and returns a Tensor or a TensorList; it may take extra
// non-tensor arguments after the inputs (`MyScale::apply({x}, 2.5)` calls forward(ctx, {x}, 2.5)).
// backward receives one gradient per output (zeros for outputs that got none) and returns one
// gradient per input, each of the input's shape and dtype (an undefined Tensor means "no gradient").
// backward is run with recording on when the user asks for create_graph: written with xgrad ops, it
// is itself differentiable and the function takes part in double backward.

#include <any>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "error.hpp"
#include "grad_mode.hpp"
#include "node.hpp"
#include "tensor.hpp"

namespace xgrad::autograd {

class FunctionContext;
namespace detail {
class FunctionNode;
TensorList finish_forward(const std::shared_ptr<FunctionNode>& node, const TensorList& inputs, TensorList outputs,
                          const Where& where);
void begin_forward(FunctionContext& ctx, const TensorList& inputs);
}  // namespace detail

/// The object shared by one call's forward and backward: tensors saved for backward, which inputs
/// need a gradient, which outputs are not differentiable, and arbitrary non-tensor state.
class FunctionContext {
 public:
  FunctionContext() = default;
  FunctionContext(const FunctionContext&) = delete;
  FunctionContext& operator=(const FunctionContext&) = delete;

  /// (forward) Saves tensors for backward: inputs, outputs or intermediates. They get the in-place
  /// version check (modifying one before backward makes backward throw GraphError), and saved
  /// outputs do not create a reference cycle. Replaces an earlier call's list.
  void save_for_backward(TensorList tensors);
  /// (backward) The tensors given to save_for_backward, in order. Throws GraphError when they were
  /// freed by an earlier backward without retain_graph, or modified in place since forward.
  TensorList saved() const;
  /// Whether input `i` of forward needs a gradient (false when recording is off, when the input does
  /// not require grad, or is undefined). Valid in forward and backward; backward may skip work.
  bool needs_input_grad(std::size_t i) const noexcept { return i < needs_input_grad_.size() && needs_input_grad_[i]; }
  /// (forward) Declares outputs that have no gradient (indices, masks): they do not require grad and
  /// backward receives zeros for them. int64 outputs are always non-differentiable.
  void mark_non_differentiable(const TensorList& outputs);

  /// Non-tensor state for backward (sizes, flags, scalars): any copyable value under a name. Tensors
  /// belong in save_for_backward (a Tensor stored here escapes the version check and may form a
  /// reference cycle with the function's outputs).
  std::map<std::string, std::any> saved_data;
  /// Stores `value` under `key` in saved_data.
  template <class T>
  void set(const std::string& key, T value) {
    saved_data[key] = std::move(value);
  }
  /// The value stored under `key`; ValueError when it is missing or of another type than T.
  template <class T>
  const T& get(const std::string& key) const {
    const std::any& a = lookup(key);
    const T* p = std::any_cast<T>(&a);
    if (p == nullptr) throw_bad_type(key, a.type(), typeid(T));
    return *p;
  }

  /// The function's name, e.g. "MyExp".
  const std::string& name() const noexcept { return *name_; }

 private:
  friend class detail::FunctionNode;
  friend TensorList detail::finish_forward(const std::shared_ptr<detail::FunctionNode>&, const TensorList&, TensorList,
                                           const Where&);
  friend void detail::begin_forward(FunctionContext&, const TensorList&);
  const std::any& lookup(const std::string& key) const;
  [[noreturn]] void throw_bad_type(const std::string& key, const std::type_info& stored, const std::type_info& wanted) const;

  const std::string* name_ = nullptr;     // static storage of Function<Derived>::apply
  detail::FunctionNode* node_ = nullptr;  // the node owning this context
  TensorList to_save_;                    // save_for_backward() list until forward returns
  std::vector<const void*> non_differentiable_;
  std::vector<bool> needs_input_grad_;
  bool in_forward_ = false;
};

/// The inputs of Function::apply, with the caller's source location (for error messages and anomaly
/// mode). Built implicitly from `{x, y}`, a TensorList or a single Tensor.
struct FunctionInputs {
  FunctionInputs(std::initializer_list<Tensor> t, Where w = Where::current()) : tensors(t), where(w) {}
  FunctionInputs(TensorList t, Where w = Where::current()) : tensors(std::move(t)), where(w) {}
  FunctionInputs(const Tensor& t, Where w = Where::current()) : tensors{t}, where(w) {}
  TensorList tensors;
  Where where;
};

namespace detail {
using BackwardFn = TensorList (*)(FunctionContext&, const TensorList&);

/// The graph node of one Function call: owns the context and calls the user's backward.
class FunctionNode final : public Node {
 public:
  /// `name` and `node_name` ("<name>Backward") must outlive the node (static storage).
  FunctionNode(const std::string& name, const std::string& node_name, BackwardFn backward, const TensorList& inputs);
  TensorList apply(TensorList&& grads) override;
  FunctionContext& context() noexcept { return ctx_; }

  // library-internal bookkeeping (filled by finish_forward)
  std::vector<std::ptrdiff_t> saved_slots_;  // save_for_backward index -> saved_ index (-1: undefined)

 private:
  FunctionContext ctx_;
  BackwardFn backward_;
  std::vector<Shape> input_shapes_;
  std::vector<Dtype> input_dtypes_;
};

/// "MyExp" from the type (demangled, namespaces dropped).
std::string function_name(const std::type_info& type);
/// Connects a finished forward call to the graph (or not, when nothing requires grad) and returns
/// its outputs: sets their grad_fn, saves the context's tensors, checks the outputs.
TensorList finish_forward(const std::shared_ptr<FunctionNode>& node, const TensorList& inputs, TensorList outputs,
                          const Where& where);
/// Opens the forward call: marks the context as in forward.
void begin_forward(FunctionContext& ctx, const TensorList& inputs);

template <class D>
concept HasFunctionName = requires {
  { D::name } -> std::convertible_to<const char*>;
};
}  // namespace detail

/// Base of a user-defined differentiable function (CRTP). `Derived` provides
///   static Tensor or TensorList forward(FunctionContext& ctx, const TensorList& inputs, extra args...);
///   static TensorList backward(FunctionContext& ctx, const TensorList& grad_outputs);
/// and optionally `static constexpr const char* name = "..."` (the type's name otherwise). The graph
/// node is called "<name>Backward".
template <class Derived>
struct Function {
  /// Runs Derived::forward on `inputs` (and `args`) without recording, then records one node whose
  /// backward is Derived::backward. Returns what forward returns (Tensor or TensorList).
  template <class... Args>
  static auto apply(FunctionInputs inputs, Args&&... args) {
    static const std::string name = function_display_name();
    static const std::string node_name = name + "Backward";
    OpScope scope(name.c_str(), inputs.where);
    auto node = std::make_shared<detail::FunctionNode>(name, node_name, &Derived::backward, inputs.tensors);
    FunctionContext& ctx = node->context();
    detail::begin_forward(ctx, inputs.tensors);
    using Result = decltype(Derived::forward(ctx, inputs.tensors, std::forward<Args>(args)...));
    static_assert(std::is_same_v<Result, Tensor> || std::is_same_v<Result, TensorList>,
                  "Function::forward must return Tensor or TensorList");
    TensorList outputs;
    {
      NoGradGuard no_grad;
      if constexpr (std::is_same_v<Result, Tensor>) {
        outputs.push_back(Derived::forward(ctx, inputs.tensors, std::forward<Args>(args)...));
      } else {
        outputs = Derived::forward(ctx, inputs.tensors, std::forward<Args>(args)...);
      }
    }
    outputs = detail::finish_forward(node, inputs.tensors, std::move(outputs), inputs.where);
    if constexpr (std::is_same_v<Result, Tensor>) {
      return outputs[0];
    } else {
      return outputs;
    }
  }

 private:
  static std::string function_display_name() {
    if constexpr (detail::HasFunctionName<Derived>) {
      return std::string(Derived::name);
    } else {
      return detail::function_name(typeid(Derived));
    }
  }
};

}  // namespace xgrad::autograd
