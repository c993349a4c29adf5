#pragma once
// Thread count of the math backend (OpenBLAS, which runs every matrix product). Benchmarks pin it to
// compare runs fairly; the element-wise kernels of xgrad are single-threaded.

namespace xgrad {

/// Sets the number of threads BLAS uses for matrix products (process-wide, like
/// torch::set_num_threads). ValueError when n < 1. A count above the current one takes effect at the
/// first product large enough for BLAS to split (m·n·k > 262144), so a process whose products are all
/// small stays single-threaded (Note [lazy BLAS threads] in kernels/gemm.cpp). OpenBLAS starts its
/// own threads when it loads unless OPENBLAS_NUM_THREADS=1 is set; small graphs run fastest with
/// OPENBLAS_NUM_THREADS=1 in the environment and set_num_threads(n) in the program.
void set_num_threads(int n);
/// The number of threads BLAS uses for large products (including a pending set_num_threads count).
int get_num_threads();

}  // namespace xgrad
