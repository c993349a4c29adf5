#pragma once
// Library-internal: matrix products through OpenBLAS (cblas_sgemm / cblas_dgemm). This is the only
// place that includes <cblas.h> (never together with xtensor-blas: their CBLAS declarations conflict).
//
// Note [gemm layouts]: a 2-D operand is handed to BLAS without a copy when its strides are those of a
// row-major matrix (row stride >= columns, column stride 1: no transpose flag) or of a transposed one
// (row stride 1, column stride >= rows: transpose flag, so `x.t()` costs nothing). Any other layout
// (expanded matrices, slices with steps, ...) is copied to a contiguous buffer first.

#include <cstdint>

#include "../tensor.hpp"

namespace xgrad::kernels {

/// C = alpha·op(A)·op(B) + beta·C on row-major buffers; op(X) = Xᵀ when trans_x. op(A) is (m, k),
/// op(B) is (k, n), C is (m, n). Handles empty sizes (m, n or k = 0) without calling BLAS. After
/// set_num_threads(n > 1) a product with m·n·k above 2^25 (float32) / 2^24 (float64) is split into n
/// blocks of C over xgrad's workers (Note [lazy BLAS threads] in gemm.cpp).
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, double beta, float* c, std::int64_t ldc);
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc);

/// OpenBLAS single-threaded from now on (set_num_threads: xgrad's workers split the products).
void blas_single_threaded();
/// OpenBLAS's own thread count.
int blas_threads();

/// Batched matrix product with broadcast batch dimensions: a (..., m, k) · b (..., k, n) ->
/// a new contiguous (..., m, n). Both ranks >= 2, equal floating dtypes, shapes already checked.
/// One gemm per batch entry (one in all when the batch folds into the rows of a).
Tensor matmul(const Tensor& a, const Tensor& b);

/// x (rows, in) · wᵀ (w: (out, in)) + bias (out, or undefined) -> a new contiguous (rows, out): the
/// bias is copied into every row of the output and one gemm accumulates into it (beta = 1).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias);

}  // namespace xgrad::kernels
