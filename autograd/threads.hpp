#pragma once
// Thread count of xgrad's parallel work: the matrix products, the large element-wise ops and softmax
// (Note [parallel regions] in kernels/parallel.cpp). Everything else runs on the calling thread.

namespace xgrad {

/// Sets the number of threads xgrad's parallel work uses, the calling thread included (process-wide,
/// like torch::set_num_threads). ValueError when n < 1. From the first call on, OpenBLAS runs
/// single-threaded and xgrad's own workers split the work: a matrix product with m·n·k > 2^25
/// (float32) / 2^24 (float64) into n blocks of rows or columns of its result; a contiguous add, sub,
/// mul, div, momentum_step_, unary op (exp, sigmoid, relu, ...) or activation backward over at least
/// 2^18 elements into n ranges, softmax / log_softmax and their backward into n ranges of rows;
/// smaller work stays on the caller. Workers start at the first work that needs them (a program whose work is all small never
/// has a second thread), spin briefly between parts and then sleep. Results are reproducible at a
/// fixed n; the last bits of a product may differ between thread counts. Before any call, OpenBLAS
/// keeps its own threads (all cores unless OPENBLAS_NUM_THREADS is set) and nothing else is threaded.
void set_num_threads(int n);
/// The set_num_threads count; before any set_num_threads call, OpenBLAS's own thread count.
int get_num_threads();

}  // namespace xgrad
