#pragma once
// Matrix products through BLAS gemm (transposed operands are passed as transpose flags, never
// copied).

#include "../tensor.hpp"

namespace xgrad {

/// Matrix product with NumPy semantics:
/// - (n)·(n) -> scalar;  (m,n)·(n) -> (m);  (n)·(n,p) -> (p);  (m,n)·(n,p) -> (m,p);
/// - batched: (..., m, n)·(..., n, p) -> (..., m, p) with broadcast batch dims (a 1-D operand is
///   promoted to a matrix and the added dimension removed afterwards).
/// Operands may be any views: transposed matrices (x.t(), transpose(x, -1, -2)) go to BLAS as transpose
/// flags without a copy; other layouts (expanded, strided) are copied once. Equal float dtypes
/// (DtypeError); misaligned inner dims or batch dims that do not broadcast -> ShapeError naming both
/// shapes.
/// Gradients: dA = g·Bᵀ, dB = Aᵀ·g (summed over broadcast batch dims), written with matmul on
/// transpose views, so they are differentiable again.
Tensor matmul(const Tensor& a, const Tensor& b, Where where = Where::current());
/// x·Wᵀ + b for x (..., in), W (out, in), optional b (out) -> (..., out): the fully connected layer,
/// one gemm with the bias preloaded (beta = 1). x may also be 1-D (in) -> (out). Gradients: dx = g·W
/// (not computed when x does not require grad), dW = gᵀ·x over all rows, db = Σ g over rows; all
/// differentiable.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Where where = Where::current());

}  // namespace xgrad
