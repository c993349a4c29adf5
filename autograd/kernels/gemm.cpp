// Matrix products on OpenBLAS. Only this file includes <cblas.h> (see pitfalls: xtensor-blas's own
// CBLAS declarations conflict with it).
#include "gemm.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "../detail/tensor_impl.hpp"
#include "elementwise.hpp"
#include "parallel.hpp"

// Note [lazy BLAS threads]
// Until set_num_threads is called, OpenBLAS keeps its own threads and its own rule for when a product
// uses them (all cores for m·n·k > 262144); xgrad does not touch them. set_num_threads(n) makes OpenBLAS
// single-threaded for good, and from then on xgrad's own workers split the large products (Note
// [parallel regions] in parallel.cpp): a product with m·n·k above parallel_gemm_mnk (2^25 in float32,
// 2^24 in float64, whose products take twice as long) is cut into n blocks of rows or columns of C,
// each computed by single-threaded OpenBLAS on its own thread; smaller products run on the caller.
// The block of C a thread computes sums over the whole k, in the same blocking as a single-threaded
// product of that block, so the split changes at most the last bits and is reproducible at a fixed n
// (tested). Why 2^25 (docs/performance.md, "Why the misses"): on a fixed batch the W3 network's step
// (largest products 25.7M) is 0.7-0.9x as long at two threads with a 2^22 threshold, but a real
// Fashion-MNIST epoch, whose batch is gathered anew before every step, was 1.01-1.12x as long as with
// no split at all; products of 2^25 and more (batch >= 256 or width >= 512 in that network, W6) gain
// 1.2-1.5x in both. History: with OpenBLAS's own threads the float32 steps of the W3 network at batch
// 32-128 were 10-64% slower at two threads than at one, because its workers spin in sched_yield
// between products.
namespace xgrad::kernels {

void blas_single_threaded() { openblas_set_num_threads(1); }
int blas_threads() { return openblas_get_num_threads(); }

namespace {

blasint to_blas(std::int64_t v) {
  if (v > static_cast<std::int64_t>(INT_MAX))
    throw ShapeError(fmt::format("gemm: dimension {} exceeds the BLAS integer range", v));
  return static_cast<blasint>(v);
}

// C = beta*C when the product is empty (k == 0); BLAS is not called with zero sizes.
template <class T>
void scale_only(std::int64_t m, std::int64_t n, double beta, T* c, std::int64_t ldc) {
  for (std::int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == 0.0) std::fill(row, row + n, T(0));
    else if (beta != 1.0)
      for (std::int64_t j = 0; j < n; ++j) row[j] = static_cast<T>(row[j] * beta);
  }
}

// A BLAS view of a matrix: base pointer, transpose flag and leading dimension (Note [gemm layouts]).
struct MatrixLayout {
  bool trans = false;
  std::int64_t ld = 1;
};

// Whether a (rows, cols) matrix with element strides (rs, cs) can be read by BLAS directly.
bool blas_layout(std::int64_t rows, std::int64_t cols, std::int64_t rs, std::int64_t cs, MatrixLayout& out) {
  if (cols <= 1 || cs == 1) {  // row-major, leading dimension = row stride
    const std::int64_t need = std::max<std::int64_t>(1, cols);
    const std::int64_t ld = rows <= 1 ? need : rs;
    if (ld >= need) {
      out = {false, ld};
      return true;
    }
  }
  if (rows <= 1 || rs == 1) {  // column-major = the transpose of a row-major (cols, rows) matrix
    const std::int64_t need = std::max<std::int64_t>(1, rows);
    const std::int64_t ld = cols <= 1 ? need : cs;
    if (ld >= need) {
      out = {true, ld};
      return true;
    }
  }
  return false;
}

// The layout of the last two dims of t, copying t to contiguous memory when BLAS cannot read it.
MatrixLayout operand_layout(Tensor& t) {
  const auto r = t.dim();
  const auto rows = t.shape()[static_cast<std::size_t>(r - 2)], cols = t.shape()[static_cast<std::size_t>(r - 1)];
  MatrixLayout l;
  if (blas_layout(rows, cols, t.strides()[static_cast<std::size_t>(r - 2)], t.strides()[static_cast<std::size_t>(r - 1)], l))
    return l;
  t = contiguous(t, /*force=*/true);
  return {false, std::max<std::int64_t>(1, cols)};
}

template <class T>
void batched(const Tensor& a0, const Tensor& b0, const Tensor& out) {
  Tensor a = a0, b = b0;
  const std::size_t ra = a.shape().size(), rb = b.shape().size(), ro = out.shape().size();
  const std::int64_t m = a.shape()[ra - 2], k = a.shape()[ra - 1], n = b.shape()[rb - 1];
  T* po = static_cast<T*>(out.impl()->data_ptr());
  if (out.numel() == 0) return;

  // Fold the batch into the rows of a when b has no batch dims and a's rows merge into one stride.
  if (rb == 2 && ra > 2) {
    const std::int64_t rows = out.numel() / std::max<std::int64_t>(1, n);
    std::int64_t rs = -1;
    {
      // dims 0..ra-2 of a must form one arithmetic progression of row starts
      std::int64_t expect = -1;
      bool ok = true;
      for (std::size_t i = ra - 1; i-- > 0;) {
        if (a.shape()[i] == 1) continue;
        if (expect == -1) {
          rs = a.strides()[i];
          expect = rs * a.shape()[i];
        } else if (a.strides()[i] == expect) {
          expect *= a.shape()[i];
        } else {
          ok = false;
          break;
        }
      }
      if (!ok) rs = -2;
      if (rs == -1) rs = std::max<std::int64_t>(1, k);  // a single row
    }
    MatrixLayout la;
    if (rs >= 0 && blas_layout(rows, k, rs, a.strides()[ra - 1], la)) {
      MatrixLayout lb = operand_layout(b);
      gemm(la.trans, lb.trans, rows, n, k, 1.0, static_cast<const T*>(a.impl()->data_ptr()), la.ld,
           static_cast<const T*>(b.impl()->data_ptr()), lb.ld, 0.0, po, n);
      return;
    }
  }

  const MatrixLayout la = operand_layout(a), lb = operand_layout(b);
  // Batch strides of a and b aligned to the output's batch dims (0 where broadcast).
  const std::size_t nb = ro - 2;
  std::vector<std::int64_t> bshape(out.shape().begin(), out.shape().begin() + static_cast<std::ptrdiff_t>(nb));
  std::vector<std::int64_t> sa(nb, 0), sb(nb, 0);
  for (std::size_t i = 0; i < nb; ++i) {
    const std::size_t lead_a = nb - (ra - 2), lead_b = nb - (rb - 2);
    if (i >= lead_a && a.shape()[i - lead_a] != 1) sa[i] = a.strides()[i - lead_a];
    if (i >= lead_b && b.shape()[i - lead_b] != 1) sb[i] = b.strides()[i - lead_b];
  }
  const T* pa = static_cast<const T*>(a.impl()->data_ptr());
  const T* pb = static_cast<const T*>(b.impl()->data_ptr());
  std::int64_t batches = 1;
  for (auto s : bshape) batches *= s;
  std::vector<std::int64_t> idx(nb, 0);
  std::int64_t oa = 0, ob = 0;
  for (std::int64_t bi = 0; bi < batches; ++bi) {
    gemm(la.trans, lb.trans, m, n, k, 1.0, pa + oa, la.ld, pb + ob, lb.ld, 0.0, po + bi * m * n, n);
    for (std::size_t d = nb; d-- > 0;) {
      if (++idx[d] < bshape[d]) {
        oa += sa[d];
        ob += sb[d];
        break;
      }
      oa -= sa[d] * (bshape[d] - 1);
      ob -= sb[d] * (bshape[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace

namespace {

void blas_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const float* a, std::int64_t lda,
               const float* b, std::int64_t ldb, double beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, to_blas(m), to_blas(n), to_blas(k),
              static_cast<float>(alpha), a, to_blas(lda), b, to_blas(ldb), static_cast<float>(beta), c, to_blas(ldc));
}

void blas_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
               std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, to_blas(m), to_blas(n), to_blas(k),
              alpha, a, to_blas(lda), b, to_blas(ldb), beta, c, to_blas(ldc));
}

// The m·n·k above which a product is split (Note [lazy BLAS threads]); XGRAD_GEMM_SPLIT_MNK overrides
// the float32 figure (float64 uses half of it), to measure the threshold on another machine.
template <class T>
double parallel_gemm_mnk() {
  static const double f32 = [] {
    const char* env = std::getenv("XGRAD_GEMM_SPLIT_MNK");
    return env != nullptr ? std::max(0.0, std::atof(env)) : 33554432.0;
  }();
  return sizeof(T) == 4 ? f32 : f32 / 2;
}
constexpr std::int64_t kGemmBlockAlign = 16;  // block edges on whole micro-kernel tiles

// Note [lazy BLAS threads]: C = alpha·op(A)·op(B) + beta·C, split into blocks of rows of C when C is
// taller than wide (each block then reads all of B, the smaller operand) and into blocks of columns
// otherwise (each reads all of A).
template <class T>
void split_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const T* a, std::int64_t lda,
                const T* b, std::int64_t ldb, double beta, T* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) return scale_only(m, n, beta, c, ldc);
  (void)to_blas(m), (void)to_blas(n), (void)to_blas(k);  // range errors on the caller's thread
  const bool by_rows = m > n;
  const std::int64_t side = by_rows ? m : n;
  int parts = 1;
  if (static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) > parallel_gemm_mnk<T>())
    parts = static_cast<int>(std::min<std::int64_t>(parallel_threads(), (side + kGemmBlockAlign - 1) / kGemmBlockAlign));
  if (parts <= 1) return blas_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  parallel_parts(parts, [&](int i, int np) {
    const auto [lo, hi] = part_range(side, i, np, kGemmBlockAlign);
    if (lo >= hi) return;
    if (by_rows)  // rows lo..hi of op(A) and of C
      blas_gemm(ta, tb, hi - lo, n, k, alpha, a + (ta ? lo : lo * lda), lda, b, ldb, beta, c + lo * ldc, ldc);
    else  // columns lo..hi of op(B) and of C
      blas_gemm(ta, tb, m, hi - lo, k, alpha, a, lda, b + (tb ? lo * ldb : lo), ldb, beta, c + lo, ldc);
  });
}

}  // namespace

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, double beta, float* c, std::int64_t ldc) {
  split_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  split_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  const std::size_t ra = a.shape().size(), rb = b.shape().size();
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape shape = broadcast_shapes(batch_a, batch_b, "matmul");
  shape.push_back(a.shape()[ra - 2]);
  shape.push_back(b.shape()[rb - 1]);
  Tensor out = empty(shape, a.dtype());
  dispatch_dtype(a.dtype(), [&](auto tag) { batched<decltype(tag)>(a, b, out); });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  const std::int64_t rows = x.shape()[0], in = x.shape()[1], outf = w.shape()[0];
  Tensor out = empty({rows, outf}, x.dtype());
  if (out.numel() == 0) return out;
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = static_cast<T*>(out.impl()->data_ptr());
    double beta = 0.0;
    if (bias.defined()) {  // preload the bias into every row, then accumulate the product (beta = 1)
      const Tensor bc = contiguous(bias);
      const T* pb = static_cast<const T*>(bc.impl()->data_ptr());
      for (std::int64_t i = 0; i < rows; ++i) std::memcpy(po + i * outf, pb, static_cast<std::size_t>(outf) * sizeof(T));
      beta = 1.0;
    }
    Tensor xa = x, wa = w;
    const MatrixLayout lx = operand_layout(xa), lw = operand_layout(wa);
    // x·wᵀ: w's own transpose flag flips
    gemm(lx.trans, !lw.trans, rows, outf, in, 1.0, static_cast<const T*>(xa.impl()->data_ptr()), lx.ld,
         static_cast<const T*>(wa.impl()->data_ptr()), lw.ld, beta, po, outf);
  });
  return out;
}

}  // namespace xgrad::kernels
