// Matrix products on OpenBLAS. Only this file includes <cblas.h> (see pitfalls: xtensor-blas's own
// CBLAS declarations conflict with it).
#include "gemm.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <mutex>

#include "../detail/tensor_impl.hpp"
#include "../threads.hpp"
#include "elementwise.hpp"

namespace xgrad {

// Note [lazy BLAS threads]
// Two facts measured on these machines decide how many threads a product gets:
// - A process becomes multi-threaded for good the moment it starts a second thread, and from then on
//   glibc's malloc takes locks and libstdc++'s shared_ptr counts with atomic instructions, which makes
//   the small graphs of W1/W2 10-15% slower. OpenBLAS starts its threads when it is loaded unless
//   OPENBLAS_NUM_THREADS=1, and otherwise only when its thread count is raised.
// - Once an OpenBLAS worker has run a job it spins in sched_yield for a long while, and the two vCPUs
//   contend like SMT siblings, so everything the main thread does between products gets slower. A
//   product therefore has to be large for two threads to pay: with OpenBLAS's own rule (threads for
//   m·n·k > 262144) the float32 steps of the W3 network at batch 32-128 (largest product m·n·k <=
//   25.7M) were 10-64% slower at two threads than at one, while batch >= 256 (51M and more) gained
//   1.08-1.4x and W6 (4.3G) 1.65x (docs/performance.md, "Why the misses").
// So set_num_threads(n) only records n, and each product runs with n threads when its m·n·k is above
// kThreadedGemmMnk (2^25 in float32; 2^24 in float64, whose products take twice as long), else with
// one. OpenBLAS is built without CPU affinity (NO_AFFINITY), so changing its count is a store; its
// threads are only started by the first product large enough, and a program whose products are all
// small never has a second thread. OpenBLAS's threaded products block their sums differently from its
// single-threaded ones, so the last bits depend on the thread count (as in LibTorch, which calls the
// same OpenBLAS); at a fixed count a run is reproducible (tested).
namespace {
std::mutex g_threads_mutex;
std::atomic<int> g_threads{0};  // the set_num_threads count; 0: never set (OpenBLAS keeps its own)
}  // namespace

void set_num_threads(int n) {
  if (n < 1) throw ValueError(fmt::format("set_num_threads: the number of threads must be at least 1, got {}", n));
  const std::lock_guard<std::mutex> lock(g_threads_mutex);
  g_threads.store(n);
  if (n < openblas_get_num_threads()) openblas_set_num_threads(n);
}

int get_num_threads() {
  const int n = g_threads.load();
  return n != 0 ? n : openblas_get_num_threads();
}

}  // namespace xgrad

namespace xgrad::kernels {
namespace {
template <class T>
constexpr double kThreadedGemmMnk = sizeof(T) == 4 ? 33554432.0 : 16777216.0;

// Gives OpenBLAS the thread count this product runs with (Note [lazy BLAS threads]).
template <class T>
void select_blas_threads(std::int64_t m, std::int64_t n, std::int64_t k) {
  const int most = g_threads.load(std::memory_order_relaxed);
  if (most == 0) return;
  const double mnk = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int want = mnk > kThreadedGemmMnk<T> ? most : 1;
  if (openblas_get_num_threads() != want) {
    const std::lock_guard<std::mutex> lock(g_threads_mutex);
    openblas_set_num_threads(want);
  }
}
}  // namespace
}  // namespace xgrad::kernels

namespace xgrad::kernels {
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

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, double beta, float* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) return scale_only(m, n, beta, c, ldc);
  select_blas_threads<float>(m, n, k);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, to_blas(m), to_blas(n),
              to_blas(k), static_cast<float>(alpha), a, to_blas(lda), b, to_blas(ldb), static_cast<float>(beta), c, to_blas(ldc));
}

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) return scale_only(m, n, beta, c, ldc);
  select_blas_threads<double>(m, n, k);
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, to_blas(m), to_blas(n),
              to_blas(k), alpha, a, to_blas(lda), b, to_blas(ldb), beta, c, to_blas(ldc));
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
