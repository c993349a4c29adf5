#pragma once
// Tensor: the user-facing handle of xgrad. A cheap, reference-counted handle (copying a Tensor
// shares its data, like LibTorch); `clone()` copies the data.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "dtype.hpp"
#include "error.hpp"
#include "shape.hpp"

namespace xgrad {

class Node;
struct TensorImpl;
class Tensor;

/// A list of tensors (op inputs, gradients, parameters).
using TensorList = std::vector<Tensor>;
/// A tensor hook: receives the gradient flowing through a tensor; returns a replacement gradient,
/// or an undefined Tensor to keep it unchanged.
using TensorHook = std::function<Tensor(const Tensor&)>;
/// A post-accumulate-grad hook: called with the leaf tensor itself once backward() has accumulated the
/// leaf's gradient into its grad() (see Tensor::register_post_accumulate_grad_hook).
using PostAccumulateGradHook = std::function<void(const Tensor& leaf)>;

/// Options of Tensor::backward and autograd::grad.
struct BackwardOptions {
  /// Keep saved tensors so that the graph can be differentiated again.
  bool retain_graph = false;
  /// Record the backward pass itself (higher-order gradients); implies retain_graph.
  bool create_graph = false;
};

/// An n-dimensional array of float32 or float64 values that can record the operations applied to
/// it and propagate gradients back through them.
///
/// A default-constructed Tensor is *undefined* (`defined() == false`); most functions reject it.
class Tensor {
 public:
  Tensor() noexcept = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) noexcept;

  // ---- identity and metadata -------------------------------------------------------------
  /// False for a default-constructed Tensor.
  bool defined() const noexcept { return impl_ != nullptr; }
  /// Sizes of every dimension.
  const Shape& shape() const;
  /// Size of dimension `d` (negative counts from the end).
  std::int64_t size(std::int64_t d) const;
  /// Element strides of every dimension (views may be non-contiguous).
  const Strides& strides() const;
  /// Number of dimensions (0 for a scalar).
  std::int64_t dim() const;
  /// Number of elements.
  std::int64_t numel() const;
  /// float32 or float64.
  Dtype dtype() const;
  /// True when the elements are laid out row-major without gaps.
  bool is_contiguous() const;
  /// True when both handles refer to the same tensor object.
  bool is_same(const Tensor& other) const noexcept { return impl_ == other.impl_; }
  /// The in-place version counter shared by every view of the same storage.
  std::uint32_t version() const;
  /// A display name for explanations and graph pictures (autograd/explain.hpp): "w7", "z1", "loss".
  /// Stored on this handle's tensor object (copies of the handle share it; views and results of ops
  /// start unnamed). Like retain_grad(), it changes the shared tensor object, so it is const. Returns *this.
  const Tensor& set_name(std::string name) const;
  /// The name given by set_name(), or "".
  const std::string& name() const;

  // ---- element access --------------------------------------------------------------------
  /// The value of a one-element tensor, converted to T (float or double).
  template <class T>
  T item() const;
  /// Pointer to the first element; T must match dtype(). Elements follow strides().
  template <class T>
  const T* data() const;
  /// Writable pointer to the first element (does not bump the version counter; prefer in-place ops).
  template <class T>
  T* mutable_data();
  /// Copies every element (row-major order) into a vector of T, converting the type.
  template <class T>
  std::vector<T> to_vector() const;
  /// The element at a multi-index, as double.
  double at(std::initializer_list<std::int64_t> index) const;

  // ---- autograd --------------------------------------------------------------------------
  /// Whether gradients are recorded for this tensor.
  bool requires_grad() const;
  /// Marks a leaf tensor as needing gradients (error on a non-leaf). Returns *this.
  Tensor& requires_grad_(bool on = true);
  /// The accumulated gradient (leaves, and non-leaves after retain_grad()); undefined before backward.
  Tensor grad() const;
  /// Replaces the stored gradient (undefined Tensor clears it). Shape and dtype must match.
  void set_grad(const Tensor& grad);
  /// Mutable access used by optimizers and zero_grad.
  void zero_grad(bool set_to_none = true);
  /// True for tensors not produced by a recorded op (user-created, or requires_grad false).
  bool is_leaf() const;
  /// The node that produced this tensor, or nullptr for leaves.
  std::shared_ptr<Node> grad_fn() const;
  /// Which output of grad_fn() this tensor is.
  std::uint32_t output_nr() const;
  /// The name of grad_fn() ("MulBackward", ...), or "" for leaves.
  std::string grad_fn_name() const;
  /// Keeps the gradient of a non-leaf tensor in grad() after backward.
  void retain_grad() const;
  bool retains_grad() const;
  /// Registers a hook on the gradient flowing into this tensor; returns a handle for remove_hook.
  int register_hook(TensorHook hook) const;
  /// Registers a hook that backward() calls with this leaf once its gradient has been accumulated into
  /// grad() (after the tensor hooks, which see the incoming gradient before accumulation): grad() then
  /// holds the old value plus this pass's gradient. It fires once per backward pass that reaches the
  /// leaf (all uses of the leaf are summed first), also with create_graph; autograd::grad(), which
  /// never accumulates, does not fire it. The hook may read or modify grad() (e.g. all-reduce it across
  /// processes: DistributedDataParallel is built on it) but must not call backward. Returns a handle for
  /// remove_hook. GraphError on a tensor that is not a leaf requiring grad.
  int register_post_accumulate_grad_hook(PostAccumulateGradHook hook) const;
  /// Unregisters a hook of either kind by its handle (unknown handles are ignored).
  void remove_hook(int handle) const;

  /// Computes the gradient of this tensor with respect to every leaf that requires grad and
  /// accumulates it into their grad(). `gradient` is the upstream gradient (required unless this is a
  /// one-element tensor, when it defaults to 1).
  void backward(const Tensor& gradient = Tensor(), BackwardOptions options = {}) const;

  /// A tensor sharing this one's data but cut from the graph (requires_grad false).
  Tensor detach() const;
  /// Detaches in place: this tensor becomes a leaf that does not require grad.
  Tensor& detach_();

  // ---- conversion ------------------------------------------------------------------------
  /// A copy with its own storage (differentiable).
  Tensor clone(Where where = Where::current()) const;
  /// Converts to `dtype` (differentiable); returns *this when already of that dtype.
  Tensor to(Dtype dtype, Where where = Where::current()) const;
  /// A contiguous tensor with the same values (*this when already contiguous; differentiable).
  Tensor contiguous(Where where = Where::current()) const;

  // ---- in-place updates (not recorded; bump the version counter) --------------------------
  /// Fills with `value`.
  Tensor& fill_(double value);
  /// Sets every element to zero.
  Tensor& zero_();
  /// Copies `src` (broadcast to this shape, converted to this dtype) into this tensor.
  Tensor& copy_(const Tensor& src);
  /// this += alpha * other (other broadcast to this shape).
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  /// this += value.
  Tensor& add_(double value);
  /// this *= other (broadcast).
  Tensor& mul_(const Tensor& other);
  /// this *= value.
  Tensor& mul_(double value);
  /// this -= alpha * other.
  Tensor& sub_(const Tensor& other, double alpha = 1.0) { return add_(other, -alpha); }
  /// this /= value.
  Tensor& div_(double value) { return mul_(1.0 / value); }
  /// this += value * t1 * t2 (element-wise).
  Tensor& addcmul_(const Tensor& t1, const Tensor& t2, double value = 1.0);
  /// this += value * t1 / t2 (element-wise).
  Tensor& addcdiv_(const Tensor& t1, const Tensor& t2, double value = 1.0);
  /// Clamps every element into [lo, hi] in place.
  Tensor& clamp_(double lo, double hi);
  /// The step of SGD with momentum, fused into one pass over the three tensors (in place on this
  /// tensor and on `buffer`, not recorded):
  ///   buffer ← momentum·buffer + alpha·grad;   this ← this − lr·buffer
  /// The values of buffer.mul_(momentum).add_(grad, alpha) followed by add_(buffer, -lr) (up to the
  /// last bit: the compiler may fuse a product and a sum into one FMA), with 5 instead of 8
  /// tensor-sized memory passes; non-contiguous tensors take those three ops. `buffer` and `grad` must have
  /// this tensor's shape and dtype (ShapeError / DtypeError naming the op otherwise).
  Tensor& momentum_step_(const Tensor& buffer, const Tensor& grad, double momentum, double alpha, double lr);

  // ---- method forms of common ops (see ops.hpp for the math) ------------------------------
  Tensor exp(Where where = Where::current()) const;
  Tensor log(Where where = Where::current()) const;
  Tensor sqrt(Where where = Where::current()) const;
  Tensor square(Where where = Where::current()) const;
  Tensor abs(Where where = Where::current()) const;
  Tensor tanh(Where where = Where::current()) const;
  Tensor sigmoid(Where where = Where::current()) const;
  Tensor relu(Where where = Where::current()) const;
  Tensor pow(double exponent, Where where = Where::current()) const;
  Tensor sum(Where where = Where::current()) const;
  Tensor sum(std::vector<std::int64_t> dims, bool keepdim = false, Where where = Where::current()) const;
  Tensor mean(Where where = Where::current()) const;
  Tensor mean(std::vector<std::int64_t> dims, bool keepdim = false, Where where = Where::current()) const;
  Tensor matmul(const Tensor& other, Where where = Where::current()) const;
  Tensor t(Where where = Where::current()) const;
  Tensor transpose(std::int64_t d0, std::int64_t d1, Where where = Where::current()) const;
  Tensor permute(std::vector<std::int64_t> dims, Where where = Where::current()) const;
  Tensor reshape(Shape shape, Where where = Where::current()) const;
  Tensor view(Shape shape, Where where = Where::current()) const;
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1, Where where = Where::current()) const;
  Tensor squeeze(std::int64_t dim, Where where = Where::current()) const;
  Tensor unsqueeze(std::int64_t dim, Where where = Where::current()) const;
  Tensor expand(Shape shape, Where where = Where::current()) const;
  Tensor softmax(std::int64_t dim, Where where = Where::current()) const;
  Tensor log_softmax(std::int64_t dim, Where where = Where::current()) const;
  Tensor argmax(std::int64_t dim, bool keepdim = false, Where where = Where::current()) const;

  /// The implementation object (for library code; not part of the stable API).
  const std::shared_ptr<TensorImpl>& impl() const noexcept { return impl_; }

 private:
  const void* raw_data() const;
  void* raw_mutable_data();
  std::shared_ptr<TensorImpl> impl_;
};

// ---- template definitions -------------------------------------------------------------------

namespace detail {
[[noreturn]] void throw_item_error(const Tensor& t);
[[noreturn]] void throw_data_dtype_error(const Tensor& t, Dtype requested);
}  // namespace detail

template <class T>
const T* Tensor::data() const {
  if (dtype() != dtype_of<T>()) detail::throw_data_dtype_error(*this, dtype_of<T>());
  return static_cast<const T*>(raw_data());
}

template <class T>
T* Tensor::mutable_data() {
  if (dtype() != dtype_of<T>()) detail::throw_data_dtype_error(*this, dtype_of<T>());
  return static_cast<T*>(raw_mutable_data());
}

template <class T>
T Tensor::item() const {
  if (!defined() || numel() != 1) detail::throw_item_error(*this);
  return dispatch_all(dtype(), [&](auto tag) { return static_cast<T>(*static_cast<const decltype(tag)*>(raw_data())); });
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  const Tensor c = contiguous();
  std::vector<T> out(static_cast<std::size_t>(c.numel()));
  dispatch_all(c.dtype(), [&](auto tag) {
    const auto* p = static_cast<const decltype(tag)*>(c.raw_data());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(p[i]);
  });
  return out;
}

/// Prints values, shape, dtype and grad_fn, e.g. `tensor([[1, 2], [3, 4]], shape=(2, 2), dtype=float32)`.
std::ostream& operator<<(std::ostream& os, const Tensor& t);
/// The same text as operator<<.
std::string to_string(const Tensor& t);

}  // namespace xgrad
