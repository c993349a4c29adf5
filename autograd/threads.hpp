#pragma once
// Thread count of the math backend (OpenBLAS, which runs every matrix product). Benchmarks pin it to
// compare runs fairly; the element-wise kernels of xgrad are single-threaded.

namespace xgrad {

/// Sets the number of threads BLAS uses for matrix products (process-wide, like
/// torch::set_num_threads). ValueError when n < 1. Each product then runs with n threads when it is
/// large enough to gain from them (m·n·k > 2^25 in float32, 2^24 in float64, measured on 2-vCPU
/// machines) and with one otherwise, so a process whose products are all small never starts a second
/// thread (Note [lazy BLAS threads] in kernels/gemm.cpp). Results are reproducible at a fixed n; their
/// last bits may differ between thread counts. OpenBLAS starts its own threads when it loads unless
/// OPENBLAS_NUM_THREADS=1 is set; small graphs run fastest with OPENBLAS_NUM_THREADS=1 in the
/// environment and set_num_threads(n) in the program.
void set_num_threads(int n);
/// The set_num_threads count (the threads a large product gets); before any set_num_threads call,
/// OpenBLAS's own count.
int get_num_threads();

}  // namespace xgrad
