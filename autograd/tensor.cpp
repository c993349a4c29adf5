#include "tensor.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <ostream>
#include <sstream>

#include "allocator.hpp"
#include "detail/backward_one.hpp"
#include "detail/object_pool.hpp"
#include "detail/record.hpp"
#include "detail/tensor_impl.hpp"
#include "engine.hpp"
#include "grad_mode.hpp"
#include "kernels/elementwise.hpp"
#include "node.hpp"
#include "ops.hpp"

namespace xgrad {

// ---- Storage and TensorImpl -----------------------------------------------------------------

Storage::Storage(std::size_t n) : nbytes(n) {
  if (n <= kInlineBytes) {
    data = inline_bytes;
  } else {
    data = detail::allocate(n, capacity);
  }
}

Storage::~Storage() {
  if (data != inline_bytes) detail::deallocate(data, capacity);
}

TensorImpl::~TensorImpl() {
  if (grad_fn) detail::release_node(std::move(grad_fn));
  if (grad_accumulator) detail::release_node(std::move(grad_accumulator));
}

void TensorImpl::recompute_layout() {
  numel = shape_numel(shape);
  contiguous = true;
  std::int64_t expected = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expected) {
      contiguous = false;
      break;
    }
    if (__builtin_mul_overflow(expected, shape[i], &expected)) expected = INT64_MAX;  // empty tensors only
  }
}

Tensor empty(const Shape& shape, Dtype dtype) {
  auto impl = detail::make_pooled<TensorImpl>();
  for (auto s : shape)
    if (s < 0) detail::raise<ShapeError>("empty", fmt::format("negative dimension in shape {}", shape_str(shape)));
  impl->numel = shape_numel(shape);
  // Refuse sizes whose byte count does not fit (a wrapped size would allocate a tiny buffer).
  if (impl->numel == INT64_MAX)
    detail::raise<ShapeError>("empty", fmt::format("shape {} has more than 2^63 - 1 elements", shape_str(shape)));
  if (static_cast<std::uint64_t>(impl->numel) > (std::uint64_t{1} << 62) / dtype_size(dtype))
    detail::raise<ShapeError>("empty", fmt::format("shape {} of {} needs {} elements of {} bytes: more than 2^62 bytes", shape_str(shape),
                                                   dtype_name(dtype), impl->numel, dtype_size(dtype)));
  impl->storage = detail::make_pooled<Storage>(static_cast<std::size_t>(impl->numel) * dtype_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  impl->contiguous = true;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, Shape shape, Strides strides, std::int64_t offset) {
  auto impl = detail::make_pooled<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = base.impl()->dtype;
  impl->recompute_layout();
  if (impl->numel == INT64_MAX)  // e.g. expand((1, 1) -> (2^32, 2^32)): element loops would never end
    detail::raise<ShapeError>("view", fmt::format("a view of shape {} would have more than 2^63 - 1 elements", shape_str(impl->shape)));
  return Tensor(std::move(impl));
}

// ---- Tensor ---------------------------------------------------------------------------------

namespace {
const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl, const char* what) {
  if (!impl) throw ValueError(fmt::format("Tensor::{}: the tensor is undefined (default-constructed)", what));
  return *impl;
}
TensorImpl& checked_mut(const std::shared_ptr<TensorImpl>& impl, const char* what) {
  if (!impl) throw ValueError(fmt::format("Tensor::{}: the tensor is undefined (default-constructed)", what));
  return *impl;
}

// In-place ops are not recorded: refuse them where they would corrupt a gradient silently.
void check_inplace(const Tensor& t, const char* op) {
  const TensorImpl& impl = checked(t.impl(), op);
  if (GradMode::is_enabled() && impl.requires_grad)
    throw GraphError(fmt::format("{}: in-place operation on a tensor that requires grad (shape {}){}; in-place ops are "
                                 "not recorded: use the out-of-place op, or wrap updates in NoGradGuard",
                                 op, shape_str(impl.shape), impl.grad_fn ? "" : " (a leaf)"));
}

void bump(const Tensor& t) { ++t.impl()->storage->version; }

// Converting a floating value that int64 cannot hold (NaN, an infinity, |v| >= 2^63) is undefined
// behaviour in C++: refuse it, naming the first such value (e.g. a checkpoint with a NaN counter).
void check_int64_convertible(const Tensor& src, Dtype to, const char* op) {
  if (to != Dtype::int64 || !is_floating(src.dtype())) return;
  const std::vector<double> v = src.to_vector<double>();
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!(v[i] >= -0x1p63 && v[i] < 0x1p63))
      detail::raise<ValueError>(op, fmt::format("value {} (element {} of a {} tensor of shape {}) cannot be converted to int64: NaN, "
                                                "infinite or outside [-2^63, 2^63)",
                                                v[i], i, dtype_name(src.dtype()), shape_str(src.shape())));
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dtype() != b.dtype())
    throw DtypeError(fmt::format("{}: dtype mismatch: {} and {} (convert one with .to(dtype))", op, dtype_name(a.dtype()),
                                 dtype_name(b.dtype())));
}

void check_broadcasts_to(const Tensor& dst, const Tensor& src, const char* op) {
  const Shape b = broadcast_shapes(dst.shape(), src.shape(), op);
  if (b != dst.shape())
    throw ShapeError(fmt::format("{}: cannot broadcast a tensor of shape {} into the shape {} of the tensor updated in place",
                                 op, shape_str(src.shape()), shape_str(dst.shape())));
}
}  // namespace

void detail::throw_item_error(const Tensor& t) {
  if (!t.defined()) throw ValueError("Tensor::item: the tensor is undefined (default-constructed)");
  throw ShapeError(fmt::format("Tensor::item: only one-element tensors can be converted to a scalar, got shape {} ({} elements)",
                               shape_str(t.shape()), t.numel()));
}

void detail::throw_data_dtype_error(const Tensor& t, Dtype requested) {
  throw DtypeError(fmt::format("Tensor::data: the tensor has dtype {}, but {} was requested",
                               t.defined() ? dtype_name(t.dtype()) : "undefined", dtype_name(requested)));
}

Tensor::Tensor(std::shared_ptr<TensorImpl> impl) noexcept : impl_(std::move(impl)) {}

const Shape& Tensor::shape() const { return checked(impl_, "shape").shape; }
const Strides& Tensor::strides() const { return checked(impl_, "strides").strides; }
std::int64_t Tensor::dim() const { return static_cast<std::int64_t>(checked(impl_, "dim").shape.size()); }
std::int64_t Tensor::numel() const { return checked(impl_, "numel").numel; }
Dtype Tensor::dtype() const { return checked(impl_, "dtype").dtype; }
bool Tensor::is_contiguous() const { return checked(impl_, "is_contiguous").contiguous; }
std::uint32_t Tensor::version() const { return checked(impl_, "version").storage->version; }
std::int64_t Tensor::size(std::int64_t d) const {
  const auto& s = checked(impl_, "size").shape;
  return s[static_cast<std::size_t>(wrap_dim(d, static_cast<std::int64_t>(s.size()), "Tensor::size"))];
}
const void* Tensor::raw_data() const { return checked(impl_, "data").data_ptr(); }
void* Tensor::raw_mutable_data() { return checked(impl_, "mutable_data").data_ptr(); }

double Tensor::at(std::initializer_list<std::int64_t> index) const {
  const TensorImpl& impl = checked(impl_, "at");
  if (index.size() != impl.shape.size())
    throw IndexError(fmt::format("Tensor::at: got {} indices for a tensor of rank {}", index.size(), impl.shape.size()));
  std::int64_t off = 0, d = 0;
  for (std::int64_t i : index) {
    const auto n = impl.shape[static_cast<std::size_t>(d)];
    if (i < -n || i >= n)
      throw IndexError(fmt::format("Tensor::at: index {} is out of range for dimension {} of size {}", i, d, n));
    off += (i < 0 ? i + n : i) * impl.strides[static_cast<std::size_t>(d)];
    ++d;
  }
  return dispatch_all(impl.dtype, [&](auto tag) {
    return static_cast<double>(static_cast<const decltype(tag)*>(impl.data_ptr())[off]);
  });
}

bool Tensor::requires_grad() const { return checked(impl_, "requires_grad").requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  TensorImpl& impl = checked_mut(impl_, "requires_grad_");
  if (impl.grad_fn && !on)
    throw GraphError("Tensor::requires_grad_: cannot turn off requires_grad on a non-leaf tensor; use detach()");
  if (on && !is_floating(impl.dtype))
    throw DtypeError("Tensor::requires_grad_: only float32 and float64 tensors can require gradients, this one is int64");
  impl.requires_grad = on || impl.grad_fn != nullptr;
  return *this;
}

Tensor Tensor::grad() const {
  const TensorImpl& impl = checked(impl_, "grad");
  return Tensor(impl.grad);
}

void Tensor::set_grad(const Tensor& g) {
  TensorImpl& impl = checked_mut(impl_, "set_grad");
  if (g.defined() && (g.shape() != impl.shape || g.dtype() != impl.dtype))
    throw ShapeError(fmt::format("Tensor::set_grad: gradient of shape {} and dtype {} does not match the tensor's shape {} and dtype {}",
                                 shape_str(g.shape()), dtype_name(g.dtype()), shape_str(impl.shape), dtype_name(impl.dtype)));
  impl.grad = g.impl();
}

void Tensor::zero_grad(bool set_to_none) {
  TensorImpl& impl = checked_mut(impl_, "zero_grad");
  if (!impl.grad) return;
  if (set_to_none || impl.grad->grad_fn) {
    impl.grad.reset();
  } else {
    Tensor(impl.grad).zero_();
  }
}

bool Tensor::is_leaf() const { return checked(impl_, "is_leaf").grad_fn == nullptr; }
std::shared_ptr<Node> Tensor::grad_fn() const { return checked(impl_, "grad_fn").grad_fn; }
std::uint32_t Tensor::output_nr() const { return checked(impl_, "output_nr").output_nr; }
const Tensor& Tensor::set_name(std::string name) const {
  checked_mut(impl_, "set_name").name = std::move(name);
  return *this;
}
const std::string& Tensor::name() const { return checked(impl_, "name").name; }

std::string Tensor::grad_fn_name() const {
  const auto& fn = checked(impl_, "grad_fn_name").grad_fn;
  return fn ? fn->name() : "";
}

void Tensor::retain_grad() const {
  TensorImpl& impl = checked_mut(impl_, "retain_grad");
  if (!impl.requires_grad)
    throw GraphError("Tensor::retain_grad: cannot retain the gradient of a tensor that does not require grad");
  if (!impl.grad_fn || impl.retains_grad) return;  // leaves keep their gradient anyway
  impl.retains_grad = true;
  impl.grad_fn->retained_.emplace_back(impl.output_nr, impl_);
}

bool Tensor::retains_grad() const { return checked(impl_, "retains_grad").retains_grad; }

namespace {
int next_hook_handle() {
  static std::atomic<int> counter{0};
  return ++counter;
}
}  // namespace

int Tensor::register_hook(TensorHook hook) const {
  TensorImpl& impl = checked_mut(impl_, "register_hook");
  if (!impl.requires_grad)
    throw GraphError("Tensor::register_hook: cannot register a hook on a tensor that does not require grad");
  const int handle = next_hook_handle();
  if (impl.grad_fn) impl.grad_fn->pre_hooks_.push_back({impl.output_nr, {handle, std::move(hook)}});
  else impl.hooks.emplace_back(handle, std::move(hook));
  return handle;
}

int Tensor::register_post_accumulate_grad_hook(PostAccumulateGradHook hook) const {
  TensorImpl& impl = checked_mut(impl_, "register_post_accumulate_grad_hook");
  if (!impl.requires_grad || impl.grad_fn)
    throw GraphError(fmt::format("Tensor::register_post_accumulate_grad_hook: the tensor (shape {}) must be a leaf that requires "
                                 "grad, but it {}",
                                 shape_str(impl.shape), impl.grad_fn ? "was produced by " + std::string(impl.grad_fn->name()) : std::string("does not require grad")));
  if (!hook) throw ValueError("Tensor::register_post_accumulate_grad_hook: the hook is empty");
  const int handle = next_hook_handle();
  impl.post_accumulate_hooks.emplace_back(handle, std::move(hook));
  return handle;
}

void Tensor::remove_hook(int handle) const {
  TensorImpl& impl = checked_mut(impl_, "remove_hook");
  std::erase_if(impl.hooks, [&](const auto& h) { return h.first == handle; });
  std::erase_if(impl.post_accumulate_hooks, [&](const auto& h) { return h.first == handle; });
  if (impl.grad_fn) std::erase_if(impl.grad_fn->pre_hooks_, [&](const auto& h) { return h.second.first == handle; });
}

void Tensor::backward(const Tensor& gradient, BackwardOptions options) const {
  detail::backward_one(*this, gradient, options);
}

Tensor Tensor::detach() const {
  checked(impl_, "detach");
  return make_view(*this, impl_->shape, impl_->strides, impl_->offset);
}

Tensor& Tensor::detach_() {
  TensorImpl& impl = checked_mut(impl_, "detach_");
  if (impl.grad_fn) detail::release_node(std::move(impl.grad_fn));
  impl.grad_fn.reset();
  impl.requires_grad = false;
  impl.retains_grad = false;
  impl.output_nr = 0;
  return *this;
}

// ---- in-place updates ---------------------------------------------------------------------

Tensor& Tensor::fill_(double value) {
  check_inplace(*this, "fill_");
  kernels::fill(*this, value);
  bump(*this);
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  checked(src.impl(), "copy_");
  check_broadcasts_to(*this, src, "copy_");
  check_int64_convertible(src, dtype(), "copy_");
  kernels::copy_into(*this, src);
  bump(*this);
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace(*this, "add_");
  checked(other.impl(), "add_");
  check_same_dtype(*this, other, "add_");
  check_broadcasts_to(*this, other, "add_");
  kernels::axpy_inplace(*this, other, alpha);
  bump(*this);
  return *this;
}

Tensor& Tensor::add_(double value) {
  check_inplace(*this, "add_");
  kernels::binary_scalar_inplace(kernels::BinaryOp::add, *this, value);
  bump(*this);
  return *this;
}

Tensor& Tensor::mul_(const Tensor& other) {
  check_inplace(*this, "mul_");
  checked(other.impl(), "mul_");
  check_same_dtype(*this, other, "mul_");
  check_broadcasts_to(*this, other, "mul_");
  kernels::binary_inplace(kernels::BinaryOp::mul, *this, other);
  bump(*this);
  return *this;
}

Tensor& Tensor::mul_(double value) {
  check_inplace(*this, "mul_");
  kernels::binary_scalar_inplace(kernels::BinaryOp::mul, *this, value);
  bump(*this);
  return *this;
}

Tensor& Tensor::addcmul_(const Tensor& t1, const Tensor& t2, double value) {
  check_inplace(*this, "addcmul_");
  check_same_dtype(*this, t1, "addcmul_");
  check_same_dtype(*this, t2, "addcmul_");
  check_broadcasts_to(*this, t1, "addcmul_");
  check_broadcasts_to(*this, t2, "addcmul_");
  kernels::addc_inplace(*this, t1, t2, value, false);
  bump(*this);
  return *this;
}

Tensor& Tensor::momentum_step_(const Tensor& buffer, const Tensor& grad, double momentum, double alpha, double lr) {
  check_inplace(*this, "momentum_step_");
  check_inplace(buffer, "momentum_step_");
  checked(grad.impl(), "momentum_step_");
  check_same_dtype(*this, buffer, "momentum_step_");
  check_same_dtype(*this, grad, "momentum_step_");
  if (buffer.shape() != shape() || grad.shape() != shape())
    throw ShapeError(fmt::format("momentum_step_: the buffer (shape {}) and the gradient (shape {}) must have the parameter's shape {}",
                                 shape_str(buffer.shape()), shape_str(grad.shape()), shape_str(shape())));
  if (!kernels::momentum_step(*this, buffer, grad, momentum, alpha, lr)) {  // a layout the fused loop does not take
    Tensor b = buffer;
    b.mul_(momentum).add_(grad, alpha);
    return add_(buffer, -lr);
  }
  bump(*this);
  bump(buffer);
  return *this;
}

Tensor& Tensor::addcdiv_(const Tensor& t1, const Tensor& t2, double value) {
  check_inplace(*this, "addcdiv_");
  check_same_dtype(*this, t1, "addcdiv_");
  check_same_dtype(*this, t2, "addcdiv_");
  check_broadcasts_to(*this, t1, "addcdiv_");
  check_broadcasts_to(*this, t2, "addcdiv_");
  kernels::addc_inplace(*this, t1, t2, value, true);
  bump(*this);
  return *this;
}

Tensor& Tensor::clamp_(double lo, double hi) {
  check_inplace(*this, "clamp_");
  kernels::clamp_inplace(*this, lo, hi);
  bump(*this);
  return *this;
}

// ---- conversions (differentiable) -----------------------------------------------------------

Tensor Tensor::clone(Where where) const {
  OpScope scope("clone", where);
  checked(impl_, "clone");
  Tensor out = kernels::contiguous(*this, /*force=*/true);
  return detail::record(out, "CloneBackward", where, {this}, {}, [](Node&, TensorList& g) -> TensorList { return {g[0]}; });
}

Tensor Tensor::to(Dtype dtype, Where where) const {
  OpScope scope("to", where);
  checked(impl_, "to");
  if (dtype == impl_->dtype) return *this;
  check_int64_convertible(*this, dtype, "to");
  Tensor out = kernels::cast(*this, dtype);
  if (!is_floating(dtype) || !is_floating(impl_->dtype)) return out;
  const Dtype from = impl_->dtype;
  return detail::record(out, "ToBackward", where, {this}, {},
                        [from](Node&, TensorList& g) -> TensorList { return {g[0].to(from)}; });
}

Tensor Tensor::contiguous(Where where) const {
  checked(impl_, "contiguous");
  if (impl_->contiguous) return *this;
  OpScope scope("contiguous", where);
  Tensor out = kernels::contiguous(*this);
  return detail::record(out, "ContiguousBackward", where, {this}, {}, [](Node&, TensorList& g) -> TensorList { return {g[0]}; });
}

// ---- method forms ---------------------------------------------------------------------------

Tensor Tensor::exp(Where w) const { return xgrad::exp(*this, w); }
Tensor Tensor::log(Where w) const { return xgrad::log(*this, w); }
Tensor Tensor::sqrt(Where w) const { return xgrad::sqrt(*this, w); }
Tensor Tensor::square(Where w) const { return xgrad::square(*this, w); }
Tensor Tensor::abs(Where w) const { return xgrad::abs(*this, w); }
Tensor Tensor::tanh(Where w) const { return xgrad::tanh(*this, w); }
Tensor Tensor::sigmoid(Where w) const { return xgrad::sigmoid(*this, w); }
Tensor Tensor::relu(Where w) const { return xgrad::relu(*this, w); }
Tensor Tensor::pow(double e, Where w) const { return xgrad::pow(*this, e, w); }
Tensor Tensor::sum(Where w) const { return xgrad::sum(*this, {}, false, w); }
Tensor Tensor::sum(std::vector<std::int64_t> dims, bool keepdim, Where w) const { return xgrad::sum(*this, dims, keepdim, w); }
Tensor Tensor::mean(Where w) const { return xgrad::mean(*this, {}, false, w); }
Tensor Tensor::mean(std::vector<std::int64_t> dims, bool keepdim, Where w) const { return xgrad::mean(*this, dims, keepdim, w); }
Tensor Tensor::matmul(const Tensor& other, Where w) const { return xgrad::matmul(*this, other, w); }
Tensor Tensor::t(Where w) const { return xgrad::t(*this, w); }
Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1, Where w) const { return xgrad::transpose(*this, d0, d1, w); }
Tensor Tensor::permute(std::vector<std::int64_t> dims, Where w) const { return xgrad::permute(*this, std::move(dims), w); }
Tensor Tensor::reshape(Shape shape, Where w) const { return xgrad::reshape(*this, std::move(shape), w); }
Tensor Tensor::view(Shape shape, Where w) const { return xgrad::view(*this, std::move(shape), w); }
Tensor Tensor::flatten(std::int64_t s, std::int64_t e, Where w) const { return xgrad::flatten(*this, s, e, w); }
Tensor Tensor::squeeze(std::int64_t d, Where w) const { return xgrad::squeeze(*this, d, w); }
Tensor Tensor::unsqueeze(std::int64_t d, Where w) const { return xgrad::unsqueeze(*this, d, w); }
Tensor Tensor::expand(Shape shape, Where w) const { return xgrad::expand(*this, std::move(shape), w); }
Tensor Tensor::softmax(std::int64_t d, Where w) const { return xgrad::softmax(*this, d, w); }
Tensor Tensor::log_softmax(std::int64_t d, Where w) const { return xgrad::log_softmax(*this, d, w); }
Tensor Tensor::argmax(std::int64_t d, bool k, Where w) const { return xgrad::argmax(*this, d, k, w); }

}  // namespace xgrad
