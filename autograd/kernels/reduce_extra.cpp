// Reduction kernels as raw loops over a (outer, red, inner) block view of the input (Note [blocks]).
#include "reduce_extra.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

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

// (outer, red, inner) for a contiguous tensor of `shape` whose reduced dims are consecutive.
Blocks block_layout(Tensor data, const Shape& shape, const std::vector<std::int64_t>& dims) {
  Blocks b;
  b.data = std::move(data);
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(shape.size()); ++i) {
    const auto s = shape[static_cast<std::size_t>(i)];
    if (i < dims.front()) b.outer *= s;
    else if (i <= dims.back()) b.red *= s;
    else b.inner *= s;
  }
  return b;
}

Blocks make_blocks(const Tensor& x, const std::vector<std::int64_t>& dims) {
  const Shape& shape = x.shape();
  if (dims.empty()) {
    Blocks b;
    b.data = contiguous(x);
    b.outer = x.numel();
    return b;
  }
  bool consecutive = true;
  for (std::size_t i = 1; i < dims.size(); ++i) consecutive = consecutive && dims[i] == dims[i - 1] + 1;
  if (consecutive && x.is_contiguous()) return block_layout(x, shape, dims);
  // the view with kept dims first and reduced dims last: free when it happens to be contiguous
  // (a transposed input reduced over its leading dim), else one copy
  Blocks b;
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
  const Tensor moved = make_view(x, std::move(s), std::move(st), x.impl()->offset);
  if (!moved.is_contiguous() && consecutive) return block_layout(contiguous(x), shape, dims);
  b.data = contiguous(moved);
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

// Row loops use xsimd batches for float and double (GCC does not vectorize floating-point
// reductions without -ffast-math); int64 takes the scalar tails only. The functors passed to them
// are generic lambdas called with a batch or a scalar (`using std::abs;` lets ADL pick xsimd::abs).
template <class T>
constexpr bool kSimd = std::is_floating_point_v<T>;

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  else return false;
}

// Σ f(p[r]) over r < n.
template <class T, class F>
T row_sum(const T* p, std::int64_t n, F&& f) {
  std::int64_t r = 0;
  T s = 0;
  if constexpr (kSimd<T>) {
    using B = xsimd::batch<T>;
    constexpr auto W = static_cast<std::int64_t>(B::size);
    B a0(T(0)), a1(T(0));
    for (; r + 2 * W <= n; r += 2 * W) {
      a0 += f(B::load_unaligned(p + r));
      a1 += f(B::load_unaligned(p + r + W));
    }
    for (; r + W <= n; r += W) a0 += f(B::load_unaligned(p + r));
    s = xsimd::hadd(a0 + a1);
  }
  for (; r < n; ++r) s += f(p[r]);
  return s;
}

// Π p[r] over r < n.
template <class T>
T row_prod(const T* p, std::int64_t n) {
  std::int64_t r = 0;
  T s = 1;
  if constexpr (kSimd<T>) {
    using B = xsimd::batch<T>;
    constexpr auto W = static_cast<std::int64_t>(B::size);
    if (n >= W) {
      B a(T(1));
      for (; r + W <= n; r += W) a *= B::load_unaligned(p + r);
      alignas(64) T lanes[B::size];
      a.store_aligned(lanes);
      for (std::size_t k = 0; k < B::size; ++k) s *= lanes[k];
    }
  }
  for (; r < n; ++r) s *= p[r];
  return s;
}

// The max (IsMax) or min of f(p[r]) over r < n (n >= 1); NaN when some f(p[r]) is NaN.
template <bool IsMax, class T, class F>
T row_extreme(const T* p, std::int64_t n, F&& f) {
  T best = f(p[0]);
  bool nan = is_nan(best);
  std::int64_t r = 1;
  if constexpr (kSimd<T>) {
    using B = xsimd::batch<T>;
    constexpr auto W = static_cast<std::int64_t>(B::size);
    if (n >= 2 * W) {
      B b0 = f(B::load_unaligned(p)), b1 = f(B::load_unaligned(p + W));
      auto bad = xsimd::isnan(b0) || xsimd::isnan(b1);
      for (r = 2 * W; r + 2 * W <= n; r += 2 * W) {
        const B v0 = f(B::load_unaligned(p + r)), v1 = f(B::load_unaligned(p + r + W));
        bad = bad || xsimd::isnan(v0) || xsimd::isnan(v1);
        b0 = IsMax ? xsimd::max(b0, v0) : xsimd::min(b0, v0);
        b1 = IsMax ? xsimd::max(b1, v1) : xsimd::min(b1, v1);
      }
      nan = nan || xsimd::any(bad);
      alignas(64) T lanes[2 * B::size];
      b0.store_aligned(lanes);
      b1.store_aligned(lanes + B::size);
      for (const T v : lanes) best = IsMax ? (v > best ? v : best) : (v < best ? v : best);
    }
  }
  for (; r < n; ++r) {
    const T v = f(p[r]);
    nan = nan || is_nan(v);
    best = IsMax ? (v > best ? v : best) : (v < best ? v : best);
  }
  return nan ? std::numeric_limits<T>::quiet_NaN() : best;
}

// The first r < n with f(p[r]) == target (or NaN when target is NaN); n - 1 if none.
template <class T, class F>
std::int64_t first_position(const T* p, std::int64_t n, T target, F&& f) {
  const bool nan = is_nan(target);
  auto hit = [&](T v) { return nan ? is_nan(v) : v == target; };
  std::int64_t r = 0;
  if constexpr (kSimd<T>) {
    using B = xsimd::batch<T>;
    constexpr auto W = static_cast<std::int64_t>(B::size);
    const B t(target);
    for (; r + W <= n; r += W) {
      const B v = f(B::load_unaligned(p + r));
      if (xsimd::any(nan ? xsimd::isnan(v) : v == t)) break;  // the hit is in this batch
    }
  }
  for (; r < n; ++r)
    if (hit(f(p[r]))) return r;
  return n - 1;
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

// out[k] = the extreme of f(x[o, r, i]) over r, idx[k] = its first r (idx may be null); a NaN
// wins (the first one). red >= 1.
template <bool IsMax, class T, class F>
void extreme_fold(const Blocks& b, T* out, std::int64_t* idx, F&& f) {
  const T* x = cptr<T>(b.data);
  if (b.inner == 1) {
    for (std::int64_t o = 0; o < b.outer; ++o) {
      const T* row = x + o * b.red;
      const T best = row_extreme<IsMax>(row, b.red, f);
      out[o] = best;
      if (idx == nullptr) continue;
      idx[o] = first_position(row, b.red, best, f);
    }
    return;
  }
  // columns: element-wise selects across the inner positions (vectorizable)
  for (std::int64_t o = 0; o < b.outer; ++o) {
    T* best = out + o * b.inner;
    const T* first = x + o * b.red * b.inner;
    for (std::int64_t i = 0; i < b.inner; ++i) best[i] = f(first[i]);
    std::int64_t* at = idx != nullptr ? idx + o * b.inner : nullptr;
    if (at != nullptr) std::fill(at, at + b.inner, std::int64_t{0});
    for (std::int64_t r = 1; r < b.red; ++r) {
      const T* row = first + r * b.inner;
      if (at == nullptr) {
        for (std::int64_t i = 0; i < b.inner; ++i) {
          const T v = f(row[i]), c = best[i];
          best[i] = ((IsMax ? v > c : v < c) || (is_nan(v) && !is_nan(c))) ? v : c;
        }
      } else {
        for (std::int64_t i = 0; i < b.inner; ++i) {
          const T v = f(row[i]), c = best[i];
          const bool take = (IsMax ? v > c : v < c) || (is_nan(v) && !is_nan(c));
          best[i] = take ? v : c;
          at[i] = take ? r : at[i];
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
      const T m = row_sum(row, b.red, [](auto v) { return v; }) / n;
      const T s1 = row_sum(row, b.red, [m](auto v) { return v - m; });
      const T s2 = row_sum(row, b.red, [m](auto v) { return (v - m) * (v - m); });
      out[o] = finish(s1, s2);
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
    for (std::int64_t o = 0; o < b.outer; ++o) out[o] = row_prod(x + o * b.red, b.red);
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

// m + ln Σ e^(x-m) with m the max (NaN if any NaN; ±inf and empty groups give m itself).
template <class T>
void logsumexp_fold(const Blocks& b, T* out) {
  const T* x = cptr<T>(b.data);
  const T ninf = -std::numeric_limits<T>::infinity();
  auto exp_minus = [](T m) {
    return [m](auto v) {
      using std::exp;
      return exp(v - m);
    };
  };
  if (b.inner == 1) {
    for (std::int64_t o = 0; o < b.outer; ++o) {
      const T* row = x + o * b.red;
      const T m = b.red == 0 ? ninf : row_extreme<true>(row, b.red, [](auto v) { return v; });
      out[o] = std::isfinite(m) ? m + std::log(row_sum(row, b.red, exp_minus(m))) : m;
    }
    return;
  }
  using B = xsimd::batch<T>;
  constexpr auto W = static_cast<std::int64_t>(B::size);
  const auto inner = static_cast<std::size_t>(b.inner);
  std::vector<T> m(inner), s(inner);
  for (std::int64_t o = 0; o < b.outer; ++o) {
    const T* block = x + o * b.red * b.inner;
    std::fill(m.begin(), m.end(), ninf);
    std::fill(s.begin(), s.end(), T(0));
    for (std::int64_t r = 0; r < b.red; ++r)
      for (std::size_t i = 0; i < inner; ++i) {
        const T v = block[static_cast<std::size_t>(r) * inner + i], c = m[i];
        m[i] = (v > c || (is_nan(v) && !is_nan(c))) ? v : c;
      }
    // a non-finite max is the result itself; keep exp finite there (exp(v - 0))
    std::vector<T> shift(m);
    for (auto& v : shift) v = std::isfinite(v) ? v : T(0);
    for (std::int64_t r = 0; r < b.red; ++r) {
      const T* row = block + r * b.inner;
      std::int64_t i = 0;
      for (; i + W <= b.inner; i += W) {
        const auto iu = static_cast<std::size_t>(i);
        const B e = xsimd::exp(B::load_unaligned(row + i) - B::load_unaligned(shift.data() + iu));
        (B::load_unaligned(s.data() + iu) + e).store_unaligned(s.data() + iu);
      }
      for (; i < b.inner; ++i) s[static_cast<std::size_t>(i)] += std::exp(row[i] - shift[static_cast<std::size_t>(i)]);
    }
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
    auto abs_of = [](auto v) {
      using std::abs;
      return abs(v);
    };
    if (p == 1.0) sum_fold(b, po, abs_of, [](T s) { return s; });
    else if (p == 2.0) sum_fold(b, po, [](auto v) { return v * v; }, [](T s) { return std::sqrt(s); });
    else extreme_fold<true>(b, po, nullptr, abs_of);
  });
  return out;
}

Tensor extreme(const Tensor& x, const std::vector<std::int64_t>& dims, bool is_max, bool keepdim) {
  Tensor out = empty(reduced_shape(x.shape(), dims, keepdim), x.dtype());
  if (out.numel() == 0) return out;
  const Blocks b = make_blocks(x, dims);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto id = [](auto v) { return v; };
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
      auto id = [](auto v) { return v; };
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
    for (std::int64_t i = 0, n_ = c.numel(); i < n_; ++i)
      if (p[i] == T(0)) return true;
    return false;
  });
}

}  // namespace xgrad::kernels
