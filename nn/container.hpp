#pragma once
// Sequential: a chain of modules, each one's output the next one's input. ModuleList: a list of
// registered modules that the owner's forward uses as it likes.

#include <cstdint>
#include <memory>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "module.hpp"

namespace xgrad::nn {

class Sequential;

namespace detail {
template <class T>
struct is_module_ptr : std::false_type {};
template <class M>
struct is_module_ptr<std::shared_ptr<M>> : std::is_base_of<Module, M> {};

/// A Sequential entry: a shared_ptr to a module, or a module by value (moved in).
template <class T>
concept SequentialEntry = is_module_ptr<std::decay_t<T>>::value ||
                          (std::is_base_of_v<Module, std::decay_t<T>> && !std::is_lvalue_reference_v<T>);

template <class T>
ModulePtr to_module_ptr(T&& m) {
  if constexpr (is_module_ptr<std::decay_t<T>>::value) return std::static_pointer_cast<Module>(std::forward<T>(m));
  else return std::make_shared<std::decay_t<T>>(std::move(m));
}
}  // namespace detail

/// y = m_{n-1}(...m_1(m_0(x))). The modules are registered as children "0", "1", ..., so their
/// parameters are named "0.weight", "0.bias", "2.weight", ... Each module is called through its
/// operator(), so its hooks run. An empty Sequential returns its input.
///
///   Sequential mlp(Linear(784, 256), ReLU(), Linear(256, 10));
///   auto net = std::make_shared<Sequential>(std::make_shared<Linear>(2, 4), Tanh());
class Sequential : public Module {
 public:
  Sequential();
  /// Modules given by value (moved in) or as shared_ptrs (shared: the same module object). To nest one
  /// Sequential alone inside another, pass it as a shared_ptr (a single Sequential by value is a move).
  template <class... Ms>
    requires(sizeof...(Ms) > 0 && (detail::SequentialEntry<Ms> && ...) &&
             !(sizeof...(Ms) == 1 && (std::is_same_v<std::decay_t<Ms>, Sequential> && ...)))
  explicit Sequential(Ms&&... modules) : Sequential() {
    (push_back_ptr(detail::to_module_ptr(std::forward<Ms>(modules))), ...);
  }
  /// From a list of module pointers (ValueError for a null one).
  explicit Sequential(const std::vector<ModulePtr>& modules);
  Sequential(Sequential&&) = default;

  /// Appends a module (by shared_ptr or by value) as child str(size()); returns it.
  template <class M>
    requires detail::SequentialEntry<M>
  auto push_back(M&& module) {
    auto ptr = [&] {
      if constexpr (detail::is_module_ptr<std::decay_t<M>>::value) return std::forward<M>(module);
      else return std::make_shared<std::decay_t<M>>(std::move(module));
    }();
    push_back_ptr(ptr);
    return ptr;
  }

  /// The i-th module (negative i counts from the end). IndexError names i and the size.
  const ModulePtr& operator[](std::int64_t i) const;
  /// Same as operator[].
  const ModulePtr& at(std::int64_t i) const { return (*this)[i]; }
  /// The i-th module cast to M; ValueError names both types when it is not an M.
  template <class M>
  std::shared_ptr<M> at(std::int64_t i) const {
    auto p = std::dynamic_pointer_cast<M>((*this)[i]);
    if (!p) throw_wrong_type(i, typeid(M).name());
    return p;
  }
  /// Number of modules.
  std::size_t size() const noexcept { return modules_.size(); }
  bool empty() const noexcept { return modules_.empty(); }
  /// Iteration over the modules in order.
  std::vector<ModulePtr>::const_iterator begin() const noexcept { return modules_.begin(); }
  std::vector<ModulePtr>::const_iterator end() const noexcept { return modules_.end(); }

  /// Chains the modules: x -> m_0(x) -> m_1(...) -> ...
  Tensor forward(const Tensor& input) override;

 private:
  void push_back_ptr(ModulePtr module);
  [[noreturn]] void throw_wrong_type(std::int64_t i, const char* requested) const;
  std::vector<ModulePtr> modules_;
};

/// A list of modules registered as children "0", "1", ... (so their parameters are found, saved, converted
/// and switched between train and eval like any child's), without a forward of its own: the owning
/// module's forward decides how to use them (a variable number of layers, skip connections, per-layer
/// outputs). Calling a ModuleList throws ValueError.
///
///   struct Deep : nn::Module {
///     std::shared_ptr<nn::ModuleList> layers = register_module("layers", std::make_shared<nn::ModuleList>());
///     explicit Deep(int depth) { for (int i = 0; i < depth; ++i) layers->push_back(nn::Linear(64, 64)); }
///     Tensor forward(const Tensor& x) override {
///       Tensor h = x;
///       for (const auto& layer : *layers) h = relu((*layer)(h)) + h;  // residual
///       return h;
///     }
///   };
class ModuleList : public Module {
 public:
  ModuleList();
  /// Modules given by value (moved in) or as shared_ptrs.
  template <class... Ms>
    requires(sizeof...(Ms) > 0 && (detail::SequentialEntry<Ms> && ...) &&
             !(sizeof...(Ms) == 1 && (std::is_same_v<std::decay_t<Ms>, ModuleList> && ...)))
  explicit ModuleList(Ms&&... modules) : ModuleList() {
    (push_back_ptr(detail::to_module_ptr(std::forward<Ms>(modules))), ...);
  }
  /// From a list of module pointers (ValueError for a null one).
  explicit ModuleList(const std::vector<ModulePtr>& modules);
  ModuleList(ModuleList&&) = default;

  /// Appends a module (by shared_ptr or by value) as child str(size()); returns it.
  template <class M>
    requires detail::SequentialEntry<M>
  auto push_back(M&& module) {
    auto ptr = [&] {
      if constexpr (detail::is_module_ptr<std::decay_t<M>>::value) return std::forward<M>(module);
      else return std::make_shared<std::decay_t<M>>(std::move(module));
    }();
    push_back_ptr(ptr);
    return ptr;
  }
  /// The i-th module (negative i counts from the end). IndexError names i and the size.
  const ModulePtr& operator[](std::int64_t i) const;
  /// The i-th module cast to M; ValueError names both types when it is not an M.
  template <class M>
  std::shared_ptr<M> at(std::int64_t i) const {
    auto p = std::dynamic_pointer_cast<M>((*this)[i]);
    if (!p) throw_wrong_type(i, typeid(M).name());
    return p;
  }
  /// Number of modules.
  std::size_t size() const noexcept { return modules_.size(); }
  bool empty() const noexcept { return modules_.empty(); }
  /// Iteration over the modules in order.
  std::vector<ModulePtr>::const_iterator begin() const noexcept { return modules_.begin(); }
  std::vector<ModulePtr>::const_iterator end() const noexcept { return modules_.end(); }
  /// Throws ValueError: a ModuleList has no forward (iterate over it in the owner's forward).
  Tensor forward(const Tensor& input) override;

 private:
  void push_back_ptr(ModulePtr module);
  [[noreturn]] void throw_wrong_type(std::int64_t i, const char* requested) const;
  std::vector<ModulePtr> modules_;
};

}  // namespace xgrad::nn
