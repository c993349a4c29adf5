#pragma once
// Conversions between xgrad tensors and xtensor containers (header-only; the one public header that
// includes xtensor, for users who work with both libraries).
//
//   xt::xarray<double> a = {{1, 2}, {3, 4}};
//   xgrad::Tensor t = xgrad::from_xarray(a);          // copies: float64 tensor of shape (2, 2)
//   auto v = xgrad::to_xarray<double>(t);             // zero-copy, read-only view of t's data
//   double s = xt::sum(v)();
//
// Neither conversion records a graph: from_xarray gives a leaf (call requires_grad_() to train it),
// and to_xarray reads values only.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>

#include "ops/factories.hpp"
#include "tensor.hpp"

namespace xgrad {

namespace detail {
template <class T>
constexpr bool is_interop_value = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int64_t>;
}  // namespace detail

/// A new tensor holding a copy of the values of `e` (an xt::xarray, xt::xtensor, adaptor or any
/// evaluable xtensor expression), in row-major order with the same shape. The dtype follows the
/// value type: float -> float32, double -> float64, std::int64_t -> int64. The result is a leaf
/// with requires_grad false and shares nothing with `e`.
template <class E>
Tensor from_xarray(const xt::xexpression<E>& e) {
  using T = typename E::value_type;
  static_assert(detail::is_interop_value<T>, "from_xarray: the value type must be float, double or std::int64_t");
  const E& expr = e.derived_cast();
  Shape shape;
  for (auto s : expr.shape()) shape.push_back(static_cast<std::int64_t>(s));
  Tensor out = zeros(shape, dtype_of<T>());
  T* dst = out.mutable_data<T>();
  // Row-major traversal whatever the source layout.
  std::size_t i = 0;
  for (auto it = expr.template cbegin<xt::layout_type::row_major>(); it != expr.template cend<xt::layout_type::row_major>(); ++it)
    dst[i++] = *it;
  return out;
}

/// The type returned by to_xarray<T>: a read-only xt::xarray_adaptor over a tensor's memory that
/// shares ownership of the tensor (so the memory stays alive as long as the view, or any copy of it,
/// exists).
template <class T>
using XarrayView = xt::xarray_adaptor<xt::xbuffer_adaptor<const T*, xt::smart_ownership, std::shared_ptr<TensorImpl>>,
                                      xt::layout_type::row_major, std::vector<std::size_t>>;

/// A zero-copy, read-only xtensor view of `t` (T must match t.dtype(), DtypeError otherwise; float,
/// double or std::int64_t). The view keeps t's memory alive (it shares ownership of the tensor), and it
/// ALIASES the tensor: in-place changes to t (add_, optimizer steps, ...) are visible through it.
/// A non-contiguous tensor (transposed, expanded, strided view) is first copied into a contiguous
/// tensor, and the view then refers to that private copy: it no longer reflects later changes to t.
/// Use t.is_contiguous() to tell the two cases apart; xt::xarray<T> a = to_xarray<T>(t) makes an
/// independent copy in either case.
template <class T>
XarrayView<T> to_xarray(const Tensor& t) {
  static_assert(detail::is_interop_value<T>, "to_xarray: T must be float, double or std::int64_t");
  if (!t.defined()) throw ValueError("to_xarray: the tensor is undefined (default-constructed)");
  if (t.dtype() != dtype_of<T>())
    throw DtypeError("to_xarray: the tensor has dtype " + std::string(dtype_name(t.dtype())) + ", but a view of " +
                     std::string(dtype_name(dtype_of<T>())) + " values was requested");
  Tensor c = t;
  if (!t.is_contiguous()) c = t.detach().contiguous();
  const T* data = c.data<T>();
  std::vector<std::size_t> shape(c.shape().begin(), c.shape().end());
  const auto n = static_cast<std::size_t>(c.numel());
  using Buffer = xt::xbuffer_adaptor<const T*, xt::smart_ownership, std::shared_ptr<TensorImpl>>;
  return XarrayView<T>(Buffer(data, n, c.impl()), std::move(shape), xt::layout_type::row_major);
}

}  // namespace xgrad
