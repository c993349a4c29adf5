// Fused softmax / log-softmax / cross-entropy kernels: raw loops over contiguous rows, with the
// exponentials and horizontal reductions vectorized by xsimd (a plain loop cannot vectorize a sum
// without -ffast-math, which we avoid: it breaks NaN/Inf handling). softmax and its backward split
// large inputs into ranges of rows over xgrad's workers (Note [parallel regions]).
#include "softmax.hpp"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "../detail/tensor_impl.hpp"
#include "elementwise.hpp"
#include "parallel.hpp"

namespace xgrad::kernels {
namespace {

template <class T>
using Batch = xsimd::batch<T>;
template <class T>
constexpr std::int64_t kWidth = static_cast<std::int64_t>(Batch<T>::size);

template <class T>
T lanes_max(const Batch<T>& b) {
  alignas(64) T v[kWidth<T>];
  b.store_aligned(v);
  T m = v[0];
  for (std::int64_t i = 1; i < kWidth<T>; ++i) m = std::max(m, v[i]);
  return m;
}

// max of x[0..n), n >= 1.
template <class T>
T row_max(const T* x, std::int64_t n) {
  constexpr auto W = kWidth<T>;
  T m = x[0];
  std::int64_t i = 0;
  if (n >= W) {
    Batch<T> acc = Batch<T>::load_unaligned(x);
    for (i = W; i + W <= n; i += W) acc = xsimd::max(acc, Batch<T>::load_unaligned(x + i));
    m = lanes_max(acc);
  }
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

// out[i] = e^(x[i] - shift) (out may be null); returns Σ e^(x[i] - shift).
template <class T>
T exp_shift(const T* x, T* out, std::int64_t n, T shift) {
  constexpr auto W = kWidth<T>;
  const Batch<T> s(shift);
  Batch<T> acc(T(0));
  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    const Batch<T> e = xsimd::exp(Batch<T>::load_unaligned(x + i) - s);
    if (out) e.store_unaligned(out + i);
    acc += e;
  }
  T total = xsimd::hadd(acc);
  for (; i < n; ++i) {
    const T e = std::exp(x[i] - shift);
    if (out) out[i] = e;
    total += e;
  }
  return total;
}

// out[i] = e^(x[i] - shift[i]).
template <class T>
void exp_sub(const T* x, const T* shift, T* out, std::int64_t n) {
  constexpr auto W = kWidth<T>;
  std::int64_t i = 0;
  for (; i + W <= n; i += W)
    xsimd::exp(Batch<T>::load_unaligned(x + i) - Batch<T>::load_unaligned(shift + i)).store_unaligned(out + i);
  for (; i < n; ++i) out[i] = std::exp(x[i] - shift[i]);
}

// Σ a[i]·b[i] (b null: Σ a[i]).
template <class T>
T dot(const T* a, const T* b, std::int64_t n) {
  constexpr auto W = kWidth<T>;
  Batch<T> acc(T(0));
  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    const Batch<T> va = Batch<T>::load_unaligned(a + i);
    acc += b ? va * Batch<T>::load_unaligned(b + i) : va;
  }
  T total = xsimd::hadd(acc);
  for (; i < n; ++i) total += b ? a[i] * b[i] : a[i];
  return total;
}

// (outer, n, inner) view of a contiguous shape around `dim` (a 0-d tensor is one row of one).
void split_dims(const Shape& shape, std::int64_t dim, std::int64_t& outer, std::int64_t& n, std::int64_t& inner) {
  outer = n = inner = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const auto d = static_cast<std::int64_t>(i);
    if (d < dim) outer *= shape[i];
    else if (d == dim) n = shape[i];
    else inner *= shape[i];
  }
}

template <class T>
void softmax_impl(const T* x, T* out, std::int64_t outer, std::int64_t n, std::int64_t inner, bool log) {
  if (inner == 1) {
    for (std::int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * n;
      T* orow = out + o * n;
      const T m = row_max(row, n);
      if (log) {
        const T ls = std::log(exp_shift<T>(row, nullptr, n, m));
        for (std::int64_t i = 0; i < n; ++i) orow[i] = (row[i] - m) - ls;  // (x - m) first: exact for huge logits
      } else {
        const T inv = T(1) / exp_shift(row, orow, n, m);
        for (std::int64_t i = 0; i < n; ++i) orow[i] *= inv;
      }
    }
    return;
  }
  // Reducing a middle dim: keep one accumulator per inner position and walk rows of `inner` values.
  std::vector<T> mx(static_cast<std::size_t>(inner)), sum(static_cast<std::size_t>(inner));
  for (std::int64_t o = 0; o < outer; ++o) {
    const T* blk = x + o * n * inner;
    T* oblk = out + o * n * inner;
    std::copy(blk, blk + inner, mx.begin());
    for (std::int64_t r = 1; r < n; ++r)
      for (std::int64_t i = 0; i < inner; ++i) mx[static_cast<std::size_t>(i)] = std::max(mx[static_cast<std::size_t>(i)], blk[r * inner + i]);
    std::fill(sum.begin(), sum.end(), T(0));
    for (std::int64_t r = 0; r < n; ++r) {
      exp_sub(blk + r * inner, mx.data(), oblk + r * inner, inner);
      for (std::int64_t i = 0; i < inner; ++i) sum[static_cast<std::size_t>(i)] += oblk[r * inner + i];
    }
    if (log) {
      for (auto& s : sum) s = std::log(s);
      for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t i = 0; i < inner; ++i)
          oblk[r * inner + i] = (blk[r * inner + i] - mx[static_cast<std::size_t>(i)]) - sum[static_cast<std::size_t>(i)];
    } else {
      for (auto& s : sum) s = T(1) / s;
      for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t i = 0; i < inner; ++i) oblk[r * inner + i] *= sum[static_cast<std::size_t>(i)];
    }
  }
}

template <class T>
void softmax_backward_impl(const T* y, const T* g, T* out, std::int64_t outer, std::int64_t n, std::int64_t inner, bool log) {
  if (inner == 1) {
    for (std::int64_t o = 0; o < outer; ++o) {
      const T* yr = y + o * n;
      const T* gr = g + o * n;
      T* orow = out + o * n;
      if (log) {  // g - e^y Σ g
        const T s = dot<T>(gr, nullptr, n);
        {
          constexpr auto W = kWidth<T>;
          const Batch<T> bs(s);
          std::int64_t i = 0;
          for (; i + W <= n; i += W)
            (Batch<T>::load_unaligned(gr + i) - xsimd::exp(Batch<T>::load_unaligned(yr + i)) * bs).store_unaligned(orow + i);
          for (; i < n; ++i) orow[i] = gr[i] - std::exp(yr[i]) * s;
        }
      } else {  // y (g - Σ g y)
        const T s = dot(gr, yr, n);
        for (std::int64_t i = 0; i < n; ++i) orow[i] = yr[i] * (gr[i] - s);
      }
    }
    return;
  }
  std::vector<T> acc(static_cast<std::size_t>(inner)), ey(static_cast<std::size_t>(inner));
  const std::vector<T> zero(static_cast<std::size_t>(inner), T(0));
  for (std::int64_t o = 0; o < outer; ++o) {
    const std::int64_t base = o * n * inner;
    std::fill(acc.begin(), acc.end(), T(0));
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t i = 0; i < inner; ++i) {
        const auto k = base + r * inner + i;
        acc[static_cast<std::size_t>(i)] += log ? g[k] : g[k] * y[k];
      }
    for (std::int64_t r = 0; r < n; ++r) {
      const std::int64_t row = base + r * inner;
      if (log) {
        exp_sub(y + row, zero.data(), ey.data(), inner);
        for (std::int64_t i = 0; i < inner; ++i) out[row + i] = g[row + i] - ey[static_cast<std::size_t>(i)] * acc[static_cast<std::size_t>(i)];
      } else {
        for (std::int64_t i = 0; i < inner; ++i) out[row + i] = y[row + i] * (g[row + i] - acc[static_cast<std::size_t>(i)]);
      }
    }
  }
}

// Parts for a pass over `numel` elements made of `outer` independent blocks (Note [parallel regions]).
int outer_parts(std::int64_t numel, std::int64_t outer) {
  return static_cast<int>(std::min<std::int64_t>(elementwise_parts(numel), outer));
}

template <class T>
const T* ptr(const Tensor& t) {
  return static_cast<const T*>(t.impl()->data_ptr());
}
template <class T>
T* mptr(const Tensor& t) {
  return static_cast<T*>(t.impl()->data_ptr());
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim, bool log) {
  Tensor out = empty(x.shape(), x.dtype());
  if (out.numel() == 0) return out;
  const Tensor xc = contiguous(x);
  std::int64_t outer, n, inner;
  split_dims(x.shape(), dim, outer, n, inner);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = ptr<T>(xc);
    T* po = mptr<T>(out);
    // rows (outer blocks) are independent: large inputs split them over xgrad's workers, bit-identically
    parallel_ranges(
        outer, outer_parts(out.numel(), outer),
        [&](std::int64_t lo, std::int64_t hi) { softmax_impl(px + lo * n * inner, po + lo * n * inner, hi - lo, n, inner, log); }, 1);
  });
  return out;
}

Tensor softmax_backward(const Tensor& y, const Tensor& g, std::int64_t dim, bool log) {
  Tensor out = empty(y.shape(), y.dtype());
  if (out.numel() == 0) return out;
  const Tensor yc = contiguous(y), gc = contiguous(g);
  std::int64_t outer, n, inner;
  split_dims(y.shape(), dim, outer, n, inner);
  dispatch_dtype(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *py = ptr<T>(yc), *pg = ptr<T>(gc);
    T* po = mptr<T>(out);
    parallel_ranges(
        outer, outer_parts(out.numel(), outer),
        [&](std::int64_t lo, std::int64_t hi) {
          const std::int64_t at = lo * n * inner;
          softmax_backward_impl(py + at, pg + at, po + at, hi - lo, n, inner, log);
        },
        1);
  });
  return out;
}

// ---- cross entropy ------------------------------------------------------------------------------

double ClassTargets::weight_sum() const noexcept {
  if (weight.empty()) return static_cast<double>(classes);
  double s = 0;
  for (double v : weight) s += v;
  return s;
}

double ClassTargets::mass(std::size_t i) const noexcept {
  if (ignored(i)) return 0.0;
  return (1.0 - smoothing) * w(labels[i]) + (smoothing > 0 ? smoothing / static_cast<double>(classes) * weight_sum() : 0.0);
}

double ClassTargets::label_weight_sum() const noexcept {
  double s = 0;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (!ignored(i)) s += w(labels[i]);
  return s;
}

Tensor cross_entropy_rows(const Tensor& x, const ClassTargets& t, Tensor& lse) {
  const std::int64_t rows = x.shape()[0], C = x.shape()[1];
  Tensor loss = empty({rows}, x.dtype());
  lse = empty({rows}, x.dtype());
  if (rows == 0) return loss;
  const Tensor xc = contiguous(x);
  const double eps = t.smoothing, ec = C > 0 ? eps / static_cast<double>(C) : 0.0, wsum = t.weight_sum();
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = ptr<T>(xc);
    T* pl = mptr<T>(loss);
    T* pe = mptr<T>(lse);
    for (std::int64_t i = 0; i < rows; ++i) {
      const auto iu = static_cast<std::size_t>(i);
      if (t.ignored(iu) || C == 0) {
        pl[i] = T(0);
        pe[i] = T(0);
        continue;
      }
      const T* row = px + i * C;
      const T m = row_max(row, C);
      const T ls = std::log(exp_shift<T>(row, nullptr, C, m));
      pe[i] = m + ls;
      // Σ_c t_c (lse - x_c), with lse - x_c = (m - x_c) + ln s (exact for huge logits)
      const std::int64_t y = t.labels[iu];
      double l = (1.0 - eps) * t.w(y) * (static_cast<double>(m - row[y]) + static_cast<double>(ls));
      if (eps > 0) {
        double acc = 0;
        if (t.weight.empty())
          for (std::int64_t c = 0; c < C; ++c) acc += static_cast<double>(m - row[c]);
        else
          for (std::int64_t c = 0; c < C; ++c) acc += t.weight[static_cast<std::size_t>(c)] * static_cast<double>(m - row[c]);
        l += ec * (acc + wsum * static_cast<double>(ls));
      }
      pl[i] = static_cast<T>(l);
    }
  });
  return loss;
}

Tensor cross_entropy_rows_backward(const Tensor& x, const Tensor& lse, const ClassTargets& t, const Tensor& g, double scale) {
  const std::int64_t rows = x.shape()[0], C = x.shape()[1];
  Tensor out = empty({rows, C}, x.dtype());
  if (out.numel() == 0) return out;
  const Tensor xc = contiguous(x), gc = contiguous(g);
  const bool per_row = gc.dim() == 1;  // reduction none: one gradient per row
  const double eps = t.smoothing, ec = eps / static_cast<double>(C);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = ptr<T>(xc);
    const T* pe = ptr<T>(lse);
    const T* pg = ptr<T>(gc);
    T* po = mptr<T>(out);
    std::vector<T> smooth;  // ε/C · w_c
    if (eps > 0) {
      smooth.resize(static_cast<std::size_t>(C));
      for (std::int64_t c = 0; c < C; ++c) smooth[static_cast<std::size_t>(c)] = static_cast<T>(ec * t.w(c));
    }
    for (std::int64_t i = 0; i < rows; ++i) {
      const auto iu = static_cast<std::size_t>(i);
      T* orow = po + i * C;
      if (t.ignored(iu)) {
        std::fill(orow, orow + C, T(0));
        continue;
      }
      const T s = static_cast<T>(static_cast<double>(per_row ? pg[i] : pg[0]) * scale);
      const T sa = static_cast<T>(static_cast<double>(s) * t.mass(iu));
      exp_shift(px + i * C, orow, C, pe[i]);  // softmax row
      if (eps > 0)
        for (std::int64_t c = 0; c < C; ++c) orow[c] = sa * orow[c] - s * smooth[static_cast<std::size_t>(c)];
      else
        for (std::int64_t c = 0; c < C; ++c) orow[c] *= sa;
      const std::int64_t y = t.labels[iu];
      orow[y] -= static_cast<T>(static_cast<double>(s) * (1.0 - eps) * t.w(y));
    }
  });
  return out;
}

Tensor class_target_matrix(const ClassTargets& t, Dtype dtype) {
  const auto rows = static_cast<std::int64_t>(t.labels.size()), C = t.classes;
  Tensor out = empty({rows, C}, dtype);
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = mptr<T>(out);
    const double ec = C > 0 ? t.smoothing / static_cast<double>(C) : 0.0;
    for (std::int64_t i = 0; i < rows; ++i) {
      T* row = p + i * C;
      if (t.ignored(static_cast<std::size_t>(i))) {
        std::fill(row, row + C, T(0));
        continue;
      }
      for (std::int64_t c = 0; c < C; ++c) row[c] = static_cast<T>(ec * t.w(c));
      const auto y = t.labels[static_cast<std::size_t>(i)];
      row[y] = static_cast<T>(static_cast<double>(row[y]) + (1.0 - t.smoothing) * t.w(y));
    }
  });
  return out;
}

Tensor class_target_mass(const ClassTargets& t, Dtype dtype) {
  const auto rows = static_cast<std::int64_t>(t.labels.size());
  Tensor out = empty({rows, 1}, dtype);
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = mptr<T>(out);
    for (std::int64_t i = 0; i < rows; ++i) p[i] = static_cast<T>(t.mass(static_cast<std::size_t>(i)));
  });
  return out;
}

Tensor pick(const Tensor& x, const ClassTargets& t, const std::vector<double>& coef) {
  const auto rows = static_cast<std::int64_t>(t.labels.size());
  Tensor out = empty({rows}, x.dtype());
  const std::int64_t s0 = x.strides()[0], s1 = x.strides()[1];
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = ptr<T>(x);
    T* po = mptr<T>(out);
    for (std::int64_t i = 0; i < rows; ++i) {
      const auto iu = static_cast<std::size_t>(i);
      po[i] = t.ignored(iu) ? T(0) : static_cast<T>(coef[iu] * static_cast<double>(px[i * s0 + t.labels[iu] * s1]));
    }
  });
  return out;
}

Tensor place(const Tensor& g, const ClassTargets& t, const std::vector<double>& coef) {
  const auto rows = static_cast<std::int64_t>(t.labels.size()), C = t.classes;
  Tensor out = empty({rows, C}, g.dtype());
  if (out.numel() == 0) return out;
  const Tensor gc = contiguous(g);
  dispatch_dtype(g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pg = ptr<T>(gc);
    T* po = mptr<T>(out);
    std::fill(po, po + rows * C, T(0));
    for (std::int64_t i = 0; i < rows; ++i) {
      const auto iu = static_cast<std::size_t>(i);
      if (!t.ignored(iu)) po[i * C + t.labels[iu]] = static_cast<T>(coef[iu] * static_cast<double>(pg[i]));
    }
  });
  return out;
}

}  // namespace xgrad::kernels
