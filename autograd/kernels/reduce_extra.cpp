// Reduction kernels as raw loops over a (outer, red, inner) block view of the input (Note [blocks]).
#include "reduce_extra.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "../detail/tensor_impl.hpp"
#include "elementwise.hpp"
#include "reduce.hpp"

namespace xgrad::kernels {
namespace {

// Note [blocks]
// Every reduction sees its input as a contiguous (outer, red, inner) array: output element
// o*inner + i folds x[o, 0..red-1, i]. A contiguous input whose reduced dims are consecutive is used
// as is; otherwise (non-contiguous input, or scattered dims) one copy moves the kept dims first and
// the reduced dims last, so that inner = 1 and each output folds one contiguous row. In both layouts
// the outputs come out in row-major order of the kept dims.
struct Blocks {
  Tensor data;
  std::int64_t outer = 1, red = 1, inner = 1;
};

Blocks make_blocks(const Tensor& x, const std::vector<std::int64_t>& dims) {
  Blocks b;
  const Shape& shape = x.shape();
  if (dims.empty()) {
    b.data = contiguous(x);
    b.outer = x.numel();
    return b;
  }
  bool consecutive = true;
  for (std::size_t i = 1; i < dims.size(); ++i) consecutive = consecutive && dims[i] == dims[i - 1] + 1;
  if (consecutive && x.is_contiguous()) {
    b.data = x;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(shape.size()); ++i) {
      const auto s = shape[static_cast<std::size_t>(i)];
      if (i < dims.front()) b.outer *= s;
      else if (i <= dims.back()) b.red *= s;
      else b.inner *= s;
    }
    return b;
  }
  Shape s;
  Strides st;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (std::binary_search(dims.begin(), dims.end(), static_cast<std::int64_t>(i))) continue;
    s.push_back(shape[i]);
    st.push_back(x.strides()[i]);
    b.outer *= shape[i];
  }
  for (auto d : dims) {
    s.push_back(shape[static_cast<std::size_t>(d)]);
    st.push_back(x.strides()[static_cast<std::size_t>(d)]);
    b.red *= shape[static_cast<std::size_t>(d)];
  }
  b.data = contiguous(make_view(x, std::move(s), std::move(st), x.impl()->offset));
  return b;
}

template <class T>
const T* cptr(const Tensor& t) {
  return static_cast<const T*>(t.impl()->data_ptr());
}
template <class T>
T* mptr(const Tensor& t) {
  return static_cast<T*>(t.impl()->data_ptr());
}

// Σ f(p[r]) with four accumulators (row sums are latency-bound with one).
template <class T, class F>
T row_sum(const T* p, std::int64_t n, F&& f) {
  T a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::int64_t r = 0;
  for (; r + 4 <= n; r += 4) {
    a0 += f(p[r]);
    a1 += f(p[r + 1]);
    a2 += f(p[r + 2]);
    a3 += f(p[r + 3]);
  }
  for (; r < n; ++r) a0 += f(p[r]);
  return (a0 + a1) + (a2 + a3);
}

// out[k] = fin(Σ_r f(x[o, r, i])) for k = o*inner + i.
template <class T, class F, class Fin>
void sum_fold(const Blocks& b, T* out, F&& f, Fin&& fin) {
  const T* x = cptr<T>(b.data);
  if (b.inner == 1) {
    for (std::int64_t o = 0; o < b.outer; ++o) out[o] = fin(row_sum(x + o * b.red, b.red, f));
    return;
  }
  std::vector<T> acc(static_cast<std::size_t>(b.inner));
  for (std::int64_t o = 0; o < b.outer; ++o) {
    std::fill(acc.begin(), acc.end(), T(0));
    for (std::int64_t r = 0; r < b.red; ++r) {
      const T* row = x + (o * b.red + r) * b.inner;
      for (std::int64_t i = 0; i < b.inner; ++i) acc[static_cast<std::size_t>(i)] += f(row[i]);
    }
    for (std::int64_t i = 0; i < b.inner; ++i) out[o * b.inner + i] = fin(acc[static_cast<std::size_t>(i)]);
  }
}

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

// v beats best: larger (max) or smaller (min); a NaN beats any number.
template <bool IsMax, class T>
bool beats(T v, T best) {
  if constexpr (IsMax) return v > best || (is_nan(v) && !is_nan(best));
  else return v < best || (is_nan(v) && !is_nan(best));
}

// out[k] = the extreme of f(x[o, r, i]) over r, idx[k] = its first r (idx may be null). red >= 1.
template <bool IsMax, class T, class F>
void extreme_fold(const Blocks& b, T* out, std::int64_t* idx, F&& f) {
  const T* x = cptr<T>(b.data);
  if (b.inner == 1) {
    for (std::int64_t o = 0; o < b.outer; ++o) {
      const T* row = x + o * b.red;
      T best = f(row[0]);
      std::int64_t at = 0;
      for (std::int64_t r = 1; r < b.red; ++r) {
        const T v = f(row[r]);
        if (beats<IsMax>(v, best)) {
          best = v;
          at = r;
        }
      }
      out[o] = best;
      if (idx != nullptr) idx[o] = at;
    }
    return;
  }
  for (std::int64_t o = 0; o < b.outer; ++o) {
    T* best = out + o * b.inner;
    const T* first = x + o * b.red * b.inner;
    for (std::int64_t i = 0; i < b.inner; ++i) best[i] = f(first[i]);
    std::int64_t* at = idx != nullptr ? idx + o * b.inner : nullptr;
    if (at != nullptr) std::fill(at, at + b.inner, std::int64_t{0});
    for (std::int64_t r = 1; r < b.red; ++r) {
      const T* row = first + r * b.inner;
      for (std::int64_t i = 0; i < b.inner; ++i) {
        const T v = f(row[i]);
        if (beats<IsMax>(v, best[i])) {
          best[i] = v;
          if (at != nullptr) at[i] = r;
        }
      }
    }
  }
}

template <class T>
void var_fold(const Blocks& b, T* out, double correction) {
  const T* x = cptr<T>(b.data);
  const T n = static_cast<T>(b.red);
  const T denom = static_cast<T>(std::max(0.0, static_cast<double>(b.red) - correction));
  // corrected two-pass: (Σd² - (Σd)²/n) / denom with d = x - mean; Σd is the rounding error of the mean
  auto finish = [&](T s1, T s2) { return (s2 - s1 * s1 / n) / denom; };
  if (b.inner == 1) {
    for (std::int64_t o = 0; o < b.outer; ++o) {
      const T* row = x + o * b.red;
      const T m = row_sum(row, b.red, [](T v) { return v; }) / n;
      T s1[4] = {0, 0, 0, 0}, s2[4] = {0, 0, 0, 0};
      std::int64_t r = 0;
      for (; r + 4 <= b.red; r += 4)
        for (int k = 0; k < 4; ++k) {
          const T d = row[r + k] - m;
          s1[k] += d;
          s2[k] += d * d;
        }
      for (; r < b.red; ++r) {
        const T d = row[r] - m;
        s1[0] += d;
        s2[0] += d * d;
      }
      out[o] = finish((s1[0] + s1[1]) + (s1[2] + s1[3]), (s2[0] + s2[1]) + (s2[2] + s2[3]));
    }
    return;
  }
  const auto inner = static_cast<std::size_t>(b.inner);
  std::vector<T> m(inner), s1(inner), s2(inner);
  for (std::int64_t o = 0; o < b.outer; ++o) {
    const T* block = x + o * b.red * b.inner;
    std::fill(m.begin(), m.end(), T(0));
    for (std::int64_t r = 0; r < b.red; ++r)
      for (std::size_t i = 0; i < inner; ++i) m[i] += block[static_cast<std::size_t>(r) * inner + i];
    for (auto& v : m) v /= n;
    std::fill(s1.begin(), s1.end(), T(0));
    std::fill(s2.begin(), s2.end(), T(0));
    for (std::int64_t r = 0; r < b.red; ++r)
      for (std::size_t i = 0; i < inner; ++i) {
        const T d = block[static_cast<std::size_t>(r) * inner + i] - m[i];
        s1[i] += d;
        s2[i] += d * d;
      }
    for (std::size_t i = 0; i < inner; ++i) out[static_cast<std::size_t>(o) * inner + i] = finish(s1[i], s2[i]);
  }
}

template <class T>
void prod_fold(const Blocks& b, T* out) {
  const T* x = cptr<T>(b.data);
  if (b.inner == 1) {
    for (std::int64_t o = 0; o < b.outer; ++o) {
      const T* row = x + o * b.red;
      T a[4] = {1, 1, 1, 1};
      std::int64_t r = 0;
      for (; r + 4 <= b.red; r += 4)
        for (int k = 0; k < 4; ++k) a[k] *= row[r + k];
      for (; r < b.red; ++r) a[0] *= row[r];
      out[o] = (a[0] * a[1]) * (a[2] * a[3]);
    }
    return;
  }
  for (std::int64_t o = 0; o < b.outer; ++o) {
    T* acc = out + o * b.inner;
    std::fill(acc, acc + b.inner, T(1));
    for (std::int64_t r = 0; r < b.red; ++r) {
      const T* row = x + (o * b.red + r) * b.inner;
      for (std::int64_t i = 0; i < b.inner; ++i) acc[i] *= row[i];
    }
  }
}

template <class T>
void logsumexp_fold(const Blocks& b, T* out) {
  const T* x = cptr<T>(b.data);
  const T ninf = -std::numeric_limits<T>::infinity();
  if (b.inner == 1) {
    for (std::int64_t o = 0; o < b.outer; ++o) {
      const T* row = x + o * b.red;
      T m = ninf;
      for (std::int64_t r = 0; r < b.red; ++r) m = row[r] > m ? row[r] : m;
      if (!std::isfinite(m)) {
        out[o] = m;  // -inf (all -inf or empty) or +inf
        continue;
      }
      out[o] = m + std::log(row_sum(row, b.red, [m](T v) { return std::exp(v - m); }));
    }
    return;
  }
  const auto inner = static_cast<std::size_t>(b.inner);
  std::vector<T> m(inner), s(inner);
  for (std::int64_t o = 0; o < b.outer; ++o) {
    const T* block = x + o * b.red * b.inner;
    std::fill(m.begin(), m.end(), ninf);
    std::fill(s.begin(), s.end(), T(0));
    for (std::int64_t r = 0; r < b.red; ++r)
      for (std::size_t i = 0; i < inner; ++i) {
        const T v = block[static_cast<std::size_t>(r) * inner + i];
        m[i] = v > m[i] ? v : m[i];
      }
    for (std::int64_t r = 0; r < b.red; ++r)
      for (std::size_t i = 0; i < inner; ++i) s[i] += std::exp(block[static_cast<std::size_t>(r) * inner + i] - m[i]);
    for (std::size_t i = 0; i < inner; ++i)
      out[static_cast<std::size_t>(o) * inner + i] = std::isfinite(m[i]) ? m[i] + std::log(s[i]) : m[i];
  }
}

}  // namespace

Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims, double correction, bool keepdim) {
  Tensor out = empty(reduced_shape(x.shape(), dims, keepdim), x.dtype());
  if (out.numel() == 0) return out;
  const Blocks b = make_blocks(x, dims);
  dispatch_dtype(x.dtype(), [&](auto tag) { var_fold(b, mptr<decltype(tag)>(out), correction); });
  return out;
}

Tensor prod(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  Tensor out = empty(reduced_shape(x.shape(), dims, keepdim), x.dtype());
  if (out.numel() == 0) return out;
  const Blocks b = make_blocks(x, dims);
  dispatch_all(x.dtype(), [&](auto tag) { prod_fold(b, mptr<decltype(tag)>(out)); });
  return out;
}

Tensor logsumexp(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  Tensor out = empty(reduced_shape(x.shape(), dims, keepdim), x.dtype());
  if (out.numel() == 0) return out;
  const Blocks b = make_blocks(x, dims);
  dispatch_dtype(x.dtype(), [&](auto tag) { logsumexp_fold(b, mptr<decltype(tag)>(out)); });
  return out;
}

Tensor norm(const Tensor& x, double p, const std::vector<std::int64_t>& dims, bool keepdim) {
  Tensor out = empty(reduced_shape(x.shape(), dims, keepdim), x.dtype());
  if (out.numel() == 0) return out;
  const Blocks b = make_blocks(x, dims);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = mptr<T>(out);
    if (p == 1.0) sum_fold(b, po, [](T v) { return std::abs(v); }, [](T s) { return s; });
    else if (p == 2.0) sum_fold(b, po, [](T v) { return v * v; }, [](T s) { return std::sqrt(s); });
    else extreme_fold<true>(b, po, nullptr, [](T v) { return std::abs(v); });
  });
  return out;
}

Tensor extreme(const Tensor& x, const std::vector<std::int64_t>& dims, bool is_max, bool keepdim) {
  Tensor out = empty(reduced_shape(x.shape(), dims, keepdim), x.dtype());
  if (out.numel() == 0) return out;
  const Blocks b = make_blocks(x, dims);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto id = [](T v) { return v; };
    if (is_max) extreme_fold<true>(b, mptr<T>(out), nullptr, id);
    else extreme_fold<false>(b, mptr<T>(out), nullptr, id);
  });
  return out;
}

void extreme_along(const Tensor& x, std::int64_t dim, bool is_max, bool keepdim, Tensor* values, Tensor* indices) {
  const std::vector<std::int64_t> dims{dim};
  const Shape shape = reduced_shape(x.shape(), dims, keepdim);
  Tensor vals = empty(shape, x.dtype());
  Tensor idx = empty(shape, kInt64);
  if (vals.numel() > 0) {
    const Blocks b = make_blocks(x, dims);
    dispatch_all(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto id = [](T v) { return v; };
      if (is_max) extreme_fold<true>(b, mptr<T>(vals), mptr<std::int64_t>(idx), id);
      else extreme_fold<false>(b, mptr<T>(vals), mptr<std::int64_t>(idx), id);
    });
  }
  if (values != nullptr) *values = std::move(vals);
  if (indices != nullptr) *indices = std::move(idx);
}

bool has_zero(const Tensor& x) {
  const Tensor c = contiguous(x);
  return dispatch_all(c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = cptr<T>(c);
    for (std::int64_t i = 0; i < c.numel(); ++i)
      if (p[i] == T(0)) return true;
    return false;
  });
}

}  // namespace xgrad::kernels
