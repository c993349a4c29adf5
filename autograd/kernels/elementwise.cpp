// Element-wise kernels on xtensor adaptors. Contiguous operands of equal shape take the flat path,
// which xtensor assigns linearly with xsimd; other layouts are made contiguous first and broadcast by
// xtensor.
#include "elementwise.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../detail/xt.hpp"
#include "parallel.hpp"

namespace xgrad::kernels {
namespace {

// Note [dangling expressions]: xtensor expressions keep references to lvalue operands. Operator
// lambdas forward their arguments so that temporaries (xscalar) are moved into the expression
// instead of referenced after they die.
#define FWD(x) std::forward<decltype(x)>(x)

bool same_dense(const Tensor& a, const Tensor& b) { return a.is_contiguous() && b.is_contiguous() && a.shape() == b.shape(); }

// out = f(A, B) where out is a fresh contiguous tensor of the broadcast shape.
template <class T, class F>
void assign2(const Tensor& out, const Tensor& a, const Tensor& b, F&& f) {
  if (same_dense(a, out) && same_dense(b, out)) {
    auto o = xtd::flat<T>(out);
    xt::noalias(o) = f(xtd::flat<T>(a), xtd::flat<T>(b));
    return;
  }
  const Tensor ac = contiguous(a), bc = contiguous(b);
  auto o = xtd::dense<T>(out);
  xt::noalias(o) = f(xtd::dense<T>(ac), xtd::dense<T>(bc));
}

// out = f(a) element by element, out fresh and contiguous. Large passes are split into ranges over
// xgrad's workers (Note [parallel regions]); the range boundaries are multiples of 64 elements, so
// every element takes the same SIMD or scalar path as in one pass and the result is bit-identical
// for any thread count.
template <class T, class F>
void assign1(const Tensor& out, const Tensor& a, F&& f) {
  const Tensor ac = contiguous(a);
  const std::int64_t n = out.numel();
  parallel_ranges(n, elementwise_parts(n), [&](std::int64_t lo, std::int64_t hi) {
    auto o = xtd::flat_range<T>(out, lo, hi);
    xt::noalias(o) = f(xtd::flat_range<T>(ac, lo, hi));
  });
}

template <class T, class F>
void inplace2(const Tensor& a, const Tensor& b, F&& f) {
  if (same_dense(a, b)) {
    auto o = xtd::flat<T>(a);
    xt::noalias(o) = f(o, xtd::flat<T>(b));
    return;
  }
  const Tensor bc = contiguous(b);
  if (a.is_contiguous()) {
    auto o = xtd::dense<T>(a);
    xt::noalias(o) = f(o, xtd::dense<T>(bc));
  } else {
    auto o = xtd::nd<T>(a);
    xt::noalias(o) = f(o, xtd::dense<T>(bc));
  }
}

template <class T, class F>
void inplace1(const Tensor& a, F&& f) {
  if (a.is_contiguous()) {
    auto o = xtd::flat<T>(a);
    xt::noalias(o) = f(o);
  } else {
    auto o = xtd::nd<T>(a);
    xt::noalias(o) = f(o);
  }
}

// Note [raw arithmetic loops]: add, sub, mul and div of contiguous operands (same shape, or one side a
// single element) run as plain pointer loops, which GCC vectorizes at -O3. Each element is one IEEE
// operation, so the result is bit-identical to the xtensor path, whatever the vector width; what the
// loops save is xtensor's per-call set-up (adaptors, shape checks), which dominates small tensors
// (Note [per-op overhead] in docs/design.md). `SA`/`SB` = 0 reads one broadcast element.
// The loops take restrict pointers: GCC's run-time overlap test otherwise sent float32 to its scalar
// fallback loop (2.6x slower at 1e6 elements, measured). In-place calls pass the destination once
// (`inplace_loop`); an operand that partially overlaps the destination is not supported (as in
// PyTorch's in-place ops).
template <class T, int SA, int SB, class F>
void raw_loop(T* __restrict o, const T* __restrict a, const T* __restrict b, std::int64_t n, F f) {
  if constexpr (SA == 0) {
    const T x = *a;
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(x, b[i * SB]);
  } else if constexpr (SB == 0) {
    const T y = *b;
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(a[i], y);
  } else {
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  }
}

// o = f(o, b) (SB = 1) or f(o, *b) (SB = 0); `b == o` is x op= x.
template <class T, int SB, class F>
void inplace_loop(T* __restrict o, const T* __restrict b, std::int64_t n, F f) {
  if constexpr (SB == 0) {
    const T y = *b;
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(o[i], y);
  } else {
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(o[i], b[i]);
  }
}

template <class T, int SA, int SB, class F>
void raw_dispatch(T* o, const T* a, const T* b, std::int64_t n, F f) {
  if (o == a && SA == 1) {
    if (b == o) {
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(o[i], o[i]);
    } else {
      inplace_loop<T, SB>(o, b, n, f);
    }
  } else {
    raw_loop<T, SA, SB>(o, a, b, n, f);
  }
}

// noinline: inlined into the large try_raw_binary, GCC 12 left the two-operand loops scalar.
template <class T, int SA, int SB>
[[gnu::noinline]] void raw_arith(BinaryOp op, T* o, const T* a, const T* b, std::int64_t n) {
  switch (op) {
    case BinaryOp::add: raw_dispatch<T, SA, SB>(o, a, b, n, [](T x, T y) { return x + y; }); return;
    case BinaryOp::sub: raw_dispatch<T, SA, SB>(o, a, b, n, [](T x, T y) { return x - y; }); return;
    case BinaryOp::mul: raw_dispatch<T, SA, SB>(o, a, b, n, [](T x, T y) { return x * y; }); return;
    default: raw_dispatch<T, SA, SB>(o, a, b, n, [](T x, T y) { return x / y; }); return;
  }
}

// raw_arith over n elements, split over the workers above kParallelGrain (Note [parallel regions]);
// an operand with stride 0 is one value and is not advanced.
template <class T, int SA, int SB>
void parallel_arith(BinaryOp op, T* o, const T* a, const T* b, std::int64_t n) {
  parallel_ranges(n, elementwise_parts(n), [&](std::int64_t lo, std::int64_t hi) {
    raw_arith<T, SA, SB>(op, o + lo, a + SA * lo, b + SB * lo, hi - lo);
  });
}

// Copies the elements of a strided view (any strides, 0 for broadcast dimensions) into a dense
// row-major buffer: an odometer over the outer dimensions, and a memcpy, a fill or a strided loop for
// the innermost one. xtensor's generic strided assignment took 2 ms for a 1000 x 1000 expand
// (the gradient of sum over the last dim), this 0.1 ms.
template <class T>
void strided_copy(T* dst, const T* src, const Shape& shape, const Strides& strides) {
  const std::size_t r = shape.size();
  if (r == 0) {
    *dst = *src;
    return;
  }
  const std::int64_t inner = shape[r - 1], is = strides[r - 1];
  if (inner == 0) return;
  const std::int64_t outer = shape_numel(shape) / inner;
  SmallVector<std::int64_t, 6> idx(r - 1, 0);
  const T* p = src;
  for (std::int64_t o = 0; o < outer; ++o, dst += inner) {
    if (is == 1) std::memcpy(dst, p, static_cast<std::size_t>(inner) * sizeof(T));
    else if (is == 0) std::fill(dst, dst + inner, *p);
    else
      for (std::int64_t j = 0; j < inner; ++j) dst[j] = p[j * is];
    for (std::size_t d = r - 1; d-- > 0;) {  // next outer index
      if (++idx[d] < shape[d]) {
        p += strides[d];
        break;
      }
      p -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

bool is_raw_arith(BinaryOp op, Dtype dtype) {
  return is_floating(dtype) && (op == BinaryOp::add || op == BinaryOp::sub || op == BinaryOp::mul || op == BinaryOp::div);
}

/// out = a op b through raw_arith when the layouts allow it; false when they do not. `out` may be `a`
/// (in place): the loops read element i before writing it.
bool try_raw_binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  if (!is_raw_arith(op, out.dtype()) || !a.is_contiguous() || !b.is_contiguous() || !out.is_contiguous()) return false;
  const std::int64_t n = out.numel(), na = a.numel(), nb = b.numel();
  // An operand that broadcasts to out's shape with as many elements has out's layout (its dims equal
  // out's trailing dims, and out's extra leading dims are 1).
  if (!((na == n || na == 1) && (nb == n || nb == 1))) return false;
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = static_cast<T*>(out.impl()->data_ptr());
    const T* pa = static_cast<const T*>(a.impl()->data_ptr());
    const T* pb = static_cast<const T*>(b.impl()->data_ptr());
    if (na == n && nb == n) parallel_arith<T, 1, 1>(op, po, pa, pb, n);
    else if (na == n) parallel_arith<T, 1, 0>(op, po, pa, pb, n);
    else if (nb == n) parallel_arith<T, 0, 1>(op, po, pa, pb, n);
    else parallel_arith<T, 0, 0>(op, po, pa, pb, n);
  });
  return true;
}

/// out = a op s (or s op a) through raw_arith for a contiguous `a`; false otherwise.
bool try_raw_scalar(BinaryOp op, const Tensor& out, const Tensor& a, double s, bool scalar_first) {
  if (!is_raw_arith(op, out.dtype()) || !a.is_contiguous() || !out.is_contiguous()) return false;
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(s);
    T* po = static_cast<T*>(out.impl()->data_ptr());
    const T* pa = static_cast<const T*>(a.impl()->data_ptr());
    if (scalar_first) parallel_arith<T, 0, 1>(op, po, &v, pa, out.numel());
    else parallel_arith<T, 1, 0>(op, po, pa, &v, out.numel());
  });
  return true;
}

[[noreturn]] void int_unsupported(const char* what) {
  throw DtypeError(std::string("kernel ") + what + ": not defined for int64 tensors");
}

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

template <class T, class F>
decltype(auto) with_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::add: return f([](auto&& x, auto&& y) { return FWD(x) + FWD(y); });
    case BinaryOp::sub: return f([](auto&& x, auto&& y) { return FWD(x) - FWD(y); });
    case BinaryOp::mul: return f([](auto&& x, auto&& y) { return FWD(x) * FWD(y); });
    // Note [NaN propagation]: xt::maximum is `x > y ? x : y` in scalar code and the vmaxp* instruction
    // in SIMD lanes, which drop a NaN in one operand or the other, so the result depended on the
    // position of an element. A NaN in either operand gives NaN here, as in PyTorch.
    case BinaryOp::maximum:
      return f([](auto&& x, auto&& y) {
        return xt::make_lambda_xfunction([](T a, T b) { return (a < b || is_nan(b)) ? b : a; }, FWD(x), FWD(y));
      });
    case BinaryOp::minimum:
      return f([](auto&& x, auto&& y) {
        return xt::make_lambda_xfunction([](T a, T b) { return (a > b || is_nan(b)) ? b : a; }, FWD(x), FWD(y));
      });
    case BinaryOp::eq: return f([](auto&& x, auto&& y) { return xt::cast<T>(xt::equal(FWD(x), FWD(y))); });
    case BinaryOp::ne: return f([](auto&& x, auto&& y) { return xt::cast<T>(xt::not_equal(FWD(x), FWD(y))); });
    case BinaryOp::lt: return f([](auto&& x, auto&& y) { return xt::cast<T>(xt::less(FWD(x), FWD(y))); });
    case BinaryOp::le: return f([](auto&& x, auto&& y) { return xt::cast<T>(xt::less_equal(FWD(x), FWD(y))); });
    case BinaryOp::gt: return f([](auto&& x, auto&& y) { return xt::cast<T>(xt::greater(FWD(x), FWD(y))); });
    case BinaryOp::ge: return f([](auto&& x, auto&& y) { return xt::cast<T>(xt::greater_equal(FWD(x), FWD(y))); });
    case BinaryOp::div:
      if constexpr (std::is_floating_point_v<T>) return f([](auto&& x, auto&& y) { return FWD(x) / FWD(y); });
      int_unsupported("div");
    case BinaryOp::pow:
      // Element-wise std::pow, not xt::pow: xsimd 8's SIMD pow returns 0 for 0^y with y <= 0 (0^0 = 0,
      // 0^-0.5 = 0 instead of 1 and inf), so results depended on which elements fell in SIMD lanes and
      // which in the scalar tail (and d/dx sqrt-like powers at 0 came out 0 instead of inf).
      if constexpr (std::is_floating_point_v<T>)
        return f([](auto&& x, auto&& y) { return xt::make_lambda_xfunction([](T a, T b) { return std::pow(a, b); }, FWD(x), FWD(y)); });
      int_unsupported("pow");
  }
  int_unsupported("binary");
}

}  // namespace

Tensor contiguous(const Tensor& x, bool force) {
  if (x.is_contiguous() && !force) return x;
  Tensor out = empty(x.shape(), x.dtype());
  if (x.numel() == 0) return out;
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (x.is_contiguous()) {
      std::memcpy(out.impl()->data_ptr(), x.impl()->data_ptr(), static_cast<std::size_t>(x.numel()) * sizeof(T));
      return;
    }
    strided_copy(static_cast<T*>(out.impl()->data_ptr()), static_cast<const T*>(x.impl()->data_ptr()), x.shape(), x.strides());
  });
  return out;
}

Tensor cast(const Tensor& x, Dtype dtype) {
  Tensor out = empty(x.shape(), dtype);
  copy_into(out, x);
  return out;
}

void fill(const Tensor& x, double v) {
  if (x.dtype() == Dtype::int64 && !(v >= -0x1p63 && v < 0x1p63))  // the cast below would be undefined
    throw ValueError(fmt::format("fill: {} cannot be stored in an int64 tensor (NaN, infinite or outside [-2^63, 2^63))", v));
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T value = static_cast<T>(v);
    if (x.is_contiguous()) {
      T* p = static_cast<T*>(x.impl()->data_ptr());
      std::fill(p, p + x.numel(), value);
    } else {
      auto o = xtd::nd<T>(x);
      std::fill(o.begin(), o.end(), value);
    }
  });
}

void copy_into(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  // a source of another shape is broadcast explicitly (xtensor would try to resize the destination)
  const Tensor s = src.shape() == dst.shape() ? src : make_view(src, dst.shape(), [&] {
    Strides st(dst.shape().size(), 0);
    const std::size_t lead = dst.shape().size() - src.shape().size();
    for (std::size_t i = 0; i < src.shape().size(); ++i)
      st[lead + i] = src.shape()[i] == 1 ? 0 : src.strides()[i];
    return st;
  }(), src.impl()->offset);
  dispatch_all(dst.dtype(), [&](auto dtag) {
    using D = decltype(dtag);
    dispatch_all(s.dtype(), [&](auto stag) {
      using S = decltype(stag);
      if (dst.is_contiguous() && s.is_contiguous()) {
        D* pd = static_cast<D*>(dst.impl()->data_ptr());
        const S* ps = static_cast<const S*>(s.impl()->data_ptr());
        if constexpr (std::is_same_v<D, S>) std::memcpy(pd, ps, static_cast<std::size_t>(dst.numel()) * sizeof(D));
        else std::transform(ps, ps + dst.numel(), pd, [](S v) { return static_cast<D>(v); });
        return;
      }
      if constexpr (std::is_same_v<D, S>) {
        if (dst.is_contiguous()) {
          strided_copy(static_cast<D*>(dst.impl()->data_ptr()), static_cast<const S*>(s.impl()->data_ptr()), s.shape(), s.strides());
          return;
        }
      }
      auto put = [&](auto&& o) {
        if constexpr (std::is_same_v<D, S>) xt::noalias(o) = xtd::nd<S>(s);
        else xt::noalias(o) = xt::cast<D>(xtd::nd<S>(s));
      };
      if (dst.is_contiguous()) put(xtd::dense<D>(dst));
      else put(xtd::nd<D>(dst));
    });
  });
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = empty(a.shape() == b.shape() ? a.shape() : broadcast_shapes(a.shape(), b.shape(), "binary kernel"), a.dtype());
  if (out.numel() == 0 || try_raw_binary(op, out, a, b)) return out;
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    with_binary<T>(op, [&](auto f) { assign2<T>(out, a, b, f); });
  });
  return out;
}

Tensor binary_scalar(BinaryOp op, const Tensor& a, double s, bool scalar_first) {
  Tensor out = empty(a.shape(), a.dtype());
  if (out.numel() == 0 || try_raw_scalar(op, out, a, s, scalar_first)) return out;
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(s);
    with_binary<T>(op, [&](auto f) {
      if (scalar_first) assign1<T>(out, a, [&](auto&& x) { return f(xt::xscalar<T>(v), x); });
      else assign1<T>(out, a, [&](auto&& x) { return f(x, xt::xscalar<T>(v)); });
    });
  });
  return out;
}

void binary_inplace(BinaryOp op, const Tensor& a, const Tensor& b) {
  if (a.numel() == 0 || try_raw_binary(op, a, a, b)) return;
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    with_binary<T>(op, [&](auto f) { inplace2<T>(a, b, f); });
  });
}

void binary_scalar_inplace(BinaryOp op, const Tensor& a, double s) {
  if (a.numel() == 0 || try_raw_scalar(op, a, a, s, false)) return;
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(s);
    with_binary<T>(op, [&](auto f) { inplace1<T>(a, [&](auto&& x) { return f(x, xt::xscalar<T>(v)); }); });
  });
}

void axpy_inplace(const Tensor& a, const Tensor& b, double alpha) {
  if (a.numel() == 0 || (alpha == 1.0 && try_raw_binary(BinaryOp::add, a, a, b))) return;
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T al = static_cast<T>(alpha);
    if (alpha == 1.0) inplace2<T>(a, b, [](auto&& x, auto&& y) { return x + y; });
    else inplace2<T>(a, b, [al](auto&& x, auto&& y) { return x + al * y; });
  });
}

void addc_inplace(const Tensor& a, const Tensor& t1, const Tensor& t2, double value, bool divide) {
  if (a.numel() == 0) return;
  dispatch_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    const Tensor c1 = contiguous(t1), c2 = contiguous(t2);
    auto go = [&](auto&& o) {
      if (divide) xt::noalias(o) = o + v * xtd::dense<T>(c1) / xtd::dense<T>(c2);
      else xt::noalias(o) = o + v * xtd::dense<T>(c1) * xtd::dense<T>(c2);
    };
    if (a.is_contiguous()) go(xtd::dense<T>(a));
    else go(xtd::nd<T>(a));
  });
}

void clamp_inplace(const Tensor& a, double lo, double hi) {
  if (a.numel() == 0) return;
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    // Note [NaN propagation]: comparisons with NaN are false, so a NaN stays NaN (xt::clip drops it)
    inplace1<T>(a, [&](auto&& x) { return xt::where(x < l, l, xt::where(x > h, h, x)); });
  });
}

bool momentum_step(const Tensor& p, const Tensor& b, const Tensor& g, double mu, double alpha, double lr) {
  if (!is_floating(p.dtype()) || !p.is_contiguous() || !b.is_contiguous() || !g.is_contiguous()) return false;
  if (p.numel() == 0) return true;
  dispatch_dtype(p.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* pp = static_cast<T*>(p.impl()->data_ptr());
    T* pb = static_cast<T*>(b.impl()->data_ptr());
    const T* pg = static_cast<const T*>(g.impl()->data_ptr());
    const T m = static_cast<T>(mu), a = static_cast<T>(alpha), s = static_cast<T>(-lr);
    // the operations of mul_, add_(g, alpha) and add_(b, -lr), in their order; GCC may contract a
    // product and a sum into an FMA (it does so in C++ at -O3), so the last bit can differ from the
    // three separate ops
    const std::int64_t n = p.numel();
    parallel_ranges(n, elementwise_parts(n), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) {
        const T bi = pb[i] * m + a * pg[i];
        pb[i] = bi;
        pp[i] = pp[i] + s * bi;
      }
    });
  });
  return true;
}

Tensor unary(UnaryOp op, const Tensor& x, double p0, double p1) {
  Tensor out = empty(x.shape(), x.dtype());
  if (out.numel() == 0) return out;
  if (!is_floating(x.dtype())) {
    if (op == UnaryOp::neg) {
      assign1<std::int64_t>(out, x, [](auto&& v) { return -v; });
      return out;
    }
    if (op == UnaryOp::abs) {
      assign1<std::int64_t>(out, x, [](auto&& v) { return xt::abs(v); });
      return out;
    }
    int_unsupported("unary");
  }
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T a = static_cast<T>(p0), b = static_cast<T>(p1);
    const T one = 1, zero = 0;
    auto run = [&](auto f) { assign1<T>(out, x, f); };
    switch (op) {
      case UnaryOp::neg: run([](auto&& v) { return -v; }); break;
      case UnaryOp::reciprocal: run([one](auto&& v) { return one / v; }); break;
      case UnaryOp::exp: run([](auto&& v) { return xt::exp(v); }); break;
      case UnaryOp::log: run([](auto&& v) { return xt::log(v); }); break;
      case UnaryOp::log1p: run([](auto&& v) { return xt::log1p(v); }); break;
      case UnaryOp::expm1: run([](auto&& v) { return xt::expm1(v); }); break;
      case UnaryOp::sqrt: run([](auto&& v) { return xt::sqrt(v); }); break;
      case UnaryOp::rsqrt: run([one](auto&& v) { return one / xt::sqrt(v); }); break;
      case UnaryOp::square: run([](auto&& v) { return v * v; }); break;
      case UnaryOp::abs: run([](auto&& v) { return xt::abs(v); }); break;
      case UnaryOp::sign: run([](auto&& v) { return xt::sign(v); }); break;
      case UnaryOp::sin: run([](auto&& v) { return xt::sin(v); }); break;
      case UnaryOp::cos: run([](auto&& v) { return xt::cos(v); }); break;
      case UnaryOp::tanh: run([](auto&& v) { return xt::tanh(v); }); break;
      case UnaryOp::atan: run([](auto&& v) { return xt::atan(v); }); break;
      case UnaryOp::sigmoid: run([one](auto&& v) { return one / (one + xt::exp(-v)); }); break;
      case UnaryOp::relu: run([zero](auto&& v) { return xt::where(v < zero, zero, v); }); break;  // Note [NaN propagation]
      case UnaryOp::leaky_relu: run([a, zero](auto&& v) { return xt::where(v > zero, v, a * v); }); break;
      case UnaryOp::elu: run([a, zero, one](auto&& v) { return xt::where(v > zero, v, a * (xt::exp(v) - one)); }); break;
      case UnaryOp::selu: {
        const T alpha = static_cast<T>(1.6732632423543772848170429916717);
        const T scale = static_cast<T>(1.0507009873554804934193349852946);
        run([=](auto&& v) { return scale * xt::where(v > zero, v, alpha * (xt::exp(v) - one)); });
        break;
      }
      case UnaryOp::softplus:  // p0 = beta, p1 = threshold
        run([a, b](auto&& v) { return xt::where(a * v > b, v, xt::log1p(xt::exp(a * v)) / a); });
        break;
      case UnaryOp::gelu: {
        const T inv_sqrt2 = static_cast<T>(0.70710678118654752440);
        const T half = static_cast<T>(0.5);
        // Φ(x) = ½erfc(-x/√2): accurate in the negative tail, where 1 + erf(x/√2) cancels (at x = -4 the
        // erf form loses 4 digits)
        run([=](auto&& v) { return half * v * xt::erfc(-v * inv_sqrt2); });
        break;
      }
      case UnaryOp::gelu_tanh: {
        const T k = static_cast<T>(0.79788456080286535588);  // √(2/π)
        const T c = static_cast<T>(0.044715);
        const T half = static_cast<T>(0.5);
        run([=](auto&& v) { return half * v * (one + xt::tanh(k * (v + c * v * v * v))); });
        break;
      }
      case UnaryOp::silu: run([one](auto&& v) { return v / (one + xt::exp(-v)); }); break;
      case UnaryOp::heaviside:
        run([a, zero, one](auto&& v) { return xt::where(v > zero, one, xt::where(xt::equal(v, zero), a, zero)); });
        break;
      case UnaryOp::clamp: run([a, b](auto&& v) { return xt::where(v < a, a, xt::where(v > b, b, v)); }); break;
      case UnaryOp::gelu_grad: {
        const T inv_sqrt2 = static_cast<T>(0.70710678118654752440);
        const T inv_sqrt_2pi = static_cast<T>(0.39894228040143267794);
        const T half = static_cast<T>(0.5);
        run([=](auto&& v) { return half * xt::erfc(-v * inv_sqrt2) + v * inv_sqrt_2pi * xt::exp(-half * v * v); });
        break;
      }
      case UnaryOp::gelu_tanh_grad: {
        const T k = static_cast<T>(0.79788456080286535588);
        const T c = static_cast<T>(0.044715);
        const T c3 = static_cast<T>(3 * 0.044715);
        const T half = static_cast<T>(0.5);
        // a scalar lambda: tanh is used twice, and a local lazy expression would dangle
        run([=](auto&& v) {
          return xt::make_lambda_xfunction(
              [=](T a) {
                const T t = std::tanh(k * (a + c * a * a * a));
                return half * (one + t) + half * a * (one - t * t) * k * (one + c3 * a * a);
              },
              FWD(v));
        });
        break;
      }
      case UnaryOp::elu_grad: run([a, zero, one](auto&& v) { return xt::where(v > zero, one, a * xt::exp(v)); }); break;
      case UnaryOp::selu_grad: {
        const T alpha = static_cast<T>(1.6732632423543772848170429916717);
        const T scale = static_cast<T>(1.0507009873554804934193349852946);
        run([=](auto&& v) { return scale * xt::where(v > zero, one, alpha * xt::exp(v)); });
        break;
      }
      case UnaryOp::leaky_relu_grad: run([a, zero, one](auto&& v) { return xt::where(v > zero, one, a + zero * v); }); break;
      case UnaryOp::relu_mask: run([zero](auto&& v) { return xt::cast<T>(v > zero); }); break;
      case UnaryOp::clamp_mask: run([a, b](auto&& v) { return xt::cast<T>(v >= a && v <= b); }); break;
      case UnaryOp::isfinite_mask: run([](auto&& v) { return xt::cast<T>(xt::isfinite(v)); }); break;
    }
  });
  return out;
}

namespace {

// Plain loops over n elements, which GCC vectorizes at -O3 (noinline: see Note [raw arithmetic loops]).
template <class T>
[[gnu::noinline]] void activation_grad_loop(ActivationGrad op, const T* __restrict pg, const T* __restrict py,
                                            T* __restrict po, std::int64_t n) {
  switch (op) {
    case ActivationGrad::tanh:
      for (std::int64_t i = 0; i < n; ++i) po[i] = pg[i] * (T(1) - py[i] * py[i]);
      break;
    case ActivationGrad::sigmoid:
      for (std::int64_t i = 0; i < n; ++i) po[i] = pg[i] * py[i] * (T(1) - py[i]);
      break;
    case ActivationGrad::relu:
      // NaN passes g, like PyTorch. Both loads are unconditional: with `pg[i]` read in one branch
      // only, GCC 12 emitted a masked load through a stack slot (3x slower, measured).
      for (std::int64_t i = 0; i < n; ++i) {
        const T gi = pg[i], yi = py[i];
        po[i] = yi <= T(0) ? T(0) : gi;
      }
      break;
  }
}

}  // namespace

Tensor activation_backward(ActivationGrad op, const Tensor& g, const Tensor& y) {
  if (g.shape() != y.shape())
    throw ShapeError(fmt::format("activation_backward: gradient of shape {} does not match the saved output of shape {}",
                                 shape_str(g.shape()), shape_str(y.shape())));
  Tensor out = empty(g.shape(), g.dtype());
  const std::int64_t n = out.numel();
  if (n == 0) return out;
  const Tensor gc = contiguous(g), yc = contiguous(y);
  dispatch_dtype(g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* __restrict pg = static_cast<const T*>(gc.impl()->data_ptr());
    const T* __restrict py = static_cast<const T*>(yc.impl()->data_ptr());
    T* __restrict po = static_cast<T*>(out.impl()->data_ptr());
    // one pass over g and y; large passes split into ranges (Note [parallel regions])
    parallel_ranges(n, elementwise_parts(n), [&](std::int64_t lo, std::int64_t hi) {
      activation_grad_loop<T>(op, pg + lo, py + lo, po + lo, hi - lo);
    });
  });
  return out;
}

Tensor select(const Tensor& mask, const Tensor& a, const Tensor& b) {
  const Shape shape = broadcast_shapes(broadcast_shapes(mask.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(shape, a.dtype());
  if (out.numel() == 0) return out;
  dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Tensor mc = contiguous(mask), ac = contiguous(a), bc = contiguous(b);
    auto o = xtd::dense<T>(out);
    xt::noalias(o) = xt::where(xt::not_equal(xtd::dense<T>(mc), T(0)), xtd::dense<T>(ac), xtd::dense<T>(bc));
  });
  return out;
}

bool all_finite(const Tensor& x) {
  if (!is_floating(x.dtype())) return true;
  return dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Tensor c = contiguous(x);
    const T* p = static_cast<const T*>(c.impl()->data_ptr());
    for (std::int64_t i = 0, n_ = c.numel(); i < n_; ++i)
      if (!std::isfinite(p[i])) return false;
    return true;
  });
}

}  // namespace xgrad::kernels
