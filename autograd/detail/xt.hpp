#pragma once
// Library-internal: the one header that includes xtensor (Note [xtensor upgrade]: xtensor 0.26
// moved its headers into sub-folders; only this file needs to change). Kernel .cpp files include it;
// public headers never do.

#include <array>
#include <cstddef>
#include <cstdint>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xview.hpp>

#include "tensor_impl.hpp"

namespace xgrad::xtd {

/// A 1-D adaptor over the elements of a contiguous tensor (the fast, SIMD-friendly case).
template <class T>
auto flat(const Tensor& t) {
  auto* p = static_cast<T*>(t.impl()->data_ptr());
  const auto n = static_cast<std::size_t>(t.numel());
  return xt::adapt(p, n, xt::no_ownership(), std::array<std::size_t, 1>{n});
}

/// A 1-D adaptor over elements [lo, hi) of a contiguous tensor (one part of a split element-wise pass).
template <class T>
auto flat_range(const Tensor& t, std::int64_t lo, std::int64_t hi) {
  auto* p = static_cast<T*>(t.impl()->data_ptr()) + lo;
  const auto n = static_cast<std::size_t>(hi - lo);
  return xt::adapt(p, n, xt::no_ownership(), std::array<std::size_t, 1>{n});
}

/// An n-D adaptor following the tensor's shape and strides (any layout, including broadcast views).
template <class T>
auto nd(const Tensor& t) {
  auto* p = static_cast<T*>(t.impl()->data_ptr());
  const auto& impl = *t.impl();
  xt::svector<std::size_t> shape(impl.shape.begin(), impl.shape.end());
  xt::svector<std::ptrdiff_t> strides(impl.strides.begin(), impl.strides.end());
  // xtensor wants the buffer size to equal the element count (it never checks the strides against
  // it); the view's true memory span may be larger (transposes) or smaller (broadcast strides).
  const auto span = static_cast<std::size_t>(impl.numel);
  return xt::adapt(p, span, xt::no_ownership(), shape, strides);
}

/// An n-D row-major adaptor of a contiguous tensor.
template <class T>
auto dense(const Tensor& t) {
  auto* p = static_cast<T*>(t.impl()->data_ptr());
  const auto& impl = *t.impl();
  xt::svector<std::size_t> shape(impl.shape.begin(), impl.shape.end());
  return xt::adapt(p, static_cast<std::size_t>(impl.numel), xt::no_ownership(), shape);
}

}  // namespace xgrad::xtd
