#pragma once
// Thread count of the math backend (OpenBLAS, which runs every matrix product). Benchmarks pin it to
// compare runs fairly; the element-wise kernels of xgrad are single-threaded.

namespace xgrad {

/// Sets the number of threads BLAS uses for matrix products (process-wide, like
/// torch::set_num_threads). ValueError when n < 1.
void set_num_threads(int n);
/// The number of threads BLAS currently uses.
int get_num_threads();

}  // namespace xgrad
