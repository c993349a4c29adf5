#include "reduce.hpp"

#include <algorithm>

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

template <class T>
void sum_block(const T* x, T* out, std::int64_t outer, std::int64_t red, std::int64_t inner) {
  if (inner == 1) {
    for (std::int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * red;
      T acc[4] = {0, 0, 0, 0};
      std::int64_t r = 0;
      for (; r + 4 <= red; r += 4) {
        acc[0] += row[r];
        acc[1] += row[r + 1];
        acc[2] += row[r + 2];
        acc[3] += row[r + 3];
      }
      for (; r < red; ++r) acc[0] += row[r];
      out[o] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
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
