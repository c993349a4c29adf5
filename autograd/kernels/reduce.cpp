#include "reduce.hpp"

#include <algorithm>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "../detail/tensor_impl.hpp"
#include "elementwise.hpp"

namespace xgrad::kernels {

Shape reduced_shape(const Shape& shape, const std::vector<std::int64_t>& dims, bool keepdim) {
  Shape out;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool reduced = std::find(dims.begin(), dims.end(), static_cast<std::int64_t>(i)) != dims.end();
    if (!reduced) out.push_back(shape[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

namespace {

// Splits a contiguous shape into (outer, reduced, inner) when the reduced dims form one consecutive
// block; returns false otherwise.
bool as_block(const Shape& shape, const std::vector<std::int64_t>& dims, std::int64_t& outer, std::int64_t& red, std::int64_t& inner) {
  if (dims.empty()) return false;
  for (std::size_t i = 1; i < dims.size(); ++i)
    if (dims[i] != dims[i - 1] + 1) return false;
  outer = red = inner = 1;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(shape.size()); ++i) {
    const auto s = shape[static_cast<std::size_t>(i)];
    if (i < dims.front()) outer *= s;
    else if (i <= dims.back()) red *= s;
    else inner *= s;
  }
  return true;
}

// Σ row[0..n): four SIMD accumulators hide the add latency (GCC does not vectorize floating-point
// reductions without -ffast-math); int64 takes the scalar loop.
template <class T>
T row_sum(const T* row, std::int64_t n) {
  std::int64_t r = 0;
  T s = 0;
  if constexpr (std::is_floating_point_v<T>) {
    using B = xsimd::batch<T>;
    constexpr auto W = static_cast<std::int64_t>(B::size);
    if (n >= W) {
      B a0(T(0)), a1(T(0)), a2(T(0)), a3(T(0));
      for (; r + 4 * W <= n; r += 4 * W) {
        a0 += B::load_unaligned(row + r);
        a1 += B::load_unaligned(row + r + W);
        a2 += B::load_unaligned(row + r + 2 * W);
        a3 += B::load_unaligned(row + r + 3 * W);
      }
      for (; r + W <= n; r += W) a0 += B::load_unaligned(row + r);
      s = xsimd::hadd((a0 + a1) + (a2 + a3));
    }
  }
  for (; r < n; ++r) s += row[r];
  return s;
}

template <class T>
void sum_block(const T* x, T* out, std::int64_t outer, std::int64_t red, std::int64_t inner) {
  if (inner == 1) {
    for (std::int64_t o = 0; o < outer; ++o) out[o] = row_sum(x + o * red, red);
    return;
  }
  for (std::int64_t o = 0; o < outer; ++o) {
    T* dst = out + o * inner;
    std::fill(dst, dst + inner, T(0));
    for (std::int64_t r = 0; r < red; ++r) {
      const T* src = x + (o * red + r) * inner;
      for (std::int64_t i = 0; i < inner; ++i) dst[i] += src[i];
    }
  }
}

// Any set of dims: walk the input in order with an odometer; the output offset uses stride 0 for
// reduced dims.
template <class T>
void sum_general(const T* x, T* out, const Shape& shape, const std::vector<std::int64_t>& dims, std::int64_t numel, std::int64_t out_numel) {
  const std::size_t rank = shape.size();
  std::vector<std::int64_t> ostride(rank, 0);
  std::int64_t s = 1;
  for (std::size_t i = rank; i-- > 0;) {
    if (std::find(dims.begin(), dims.end(), static_cast<std::int64_t>(i)) != dims.end()) continue;
    ostride[i] = s;
    s *= shape[i];
  }
  std::fill(out, out + out_numel, T(0));
  std::vector<std::int64_t> idx(rank, 0);
  std::int64_t off = 0;
  for (std::int64_t k = 0; k < numel; ++k) {
    out[off] += x[k];
    for (std::size_t d = rank; d-- > 0;) {
      if (++idx[d] < shape[d]) {
        off += ostride[d];
        break;
      }
      off -= ostride[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  Tensor out = empty(reduced_shape(x.shape(), dims, keepdim), x.dtype());
  if (out.numel() == 0) return out;
  const Tensor xc = contiguous(x);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(xc.impl()->data_ptr());
    T* po = static_cast<T*>(out.impl()->data_ptr());
    std::int64_t outer = 1, red = 1, inner = 1;
    if (dims.empty()) {
      std::copy(px, px + xc.numel(), po);
    } else if (as_block(xc.shape(), dims, outer, red, inner)) {
      sum_block(px, po, outer, red, inner);
    } else {
      sum_general(px, po, xc.shape(), dims, xc.numel(), out.numel());
    }
  });
  return out;
}

}  // namespace xgrad::kernels
