#pragma once
// Matrix products through BLAS gemm (transposed operands are passed as transpose flags, never
// copied).

#include "../tensor.hpp"

namespace xgrad {

/// Matrix product with NumPy semantics:
/// - (n)·(n) -> scalar;  (m,n)·(n) -> (m);  (n)·(n,p) -> (p);  (m,n)·(n,p) -> (m,p);
/// - batched: (..., m, n)·(..., n, p) -> (..., m, p) with broadcast batch dims (a 1-D operand is
///   promoted to a matrix and the added dimension removed afterwards).
/// Gradients: dA = g·Bᵀ, dB = Aᵀ·g (summed over broadcast batch dims).
Tensor matmul(const Tensor& a, const Tensor& b, Where where = Where::current());
/// x·Wᵀ + b for x (..., in), W (out, in), optional b (out) -> (..., out): the fully connected layer,
/// one gemm with the bias preloaded (beta = 1). Gradients: dx = g·W, dW = gᵀ·x, db = Σ g over rows.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Where where = Where::current());

}  // namespace xgrad
