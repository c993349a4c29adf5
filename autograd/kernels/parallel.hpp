#pragma once
// Library-internal: xgrad's own worker threads (Note [parallel regions] in parallel.cpp). The matrix
// products split their output into blocks over them, the large element-wise ops (binary arithmetic,
// unary maps, activation backward, the momentum update) their range and softmax its rows; everything
// else runs on the calling thread.

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace xgrad::kernels {

/// The threads a parallel region may use, the caller included: the set_num_threads count (at most
/// kMaxParallelParts: a region's part count must fit the 16 bits of its claim word, and more threads
/// than that would only wait on each other), or 1 before any set_num_threads call (OpenBLAS then keeps
/// its own threads, see Note [lazy BLAS threads]).
inline constexpr int kMaxParallelParts = 1024;
int parallel_threads();

/// Runs task(i, parts) for every i in [0, parts) and returns when all have finished; the caller and
/// the workers that are awake claim the tasks one by one (which thread runs which i varies, the
/// partition does not). parts <= parallel_threads(). Runs every task on the calling thread when
/// parts <= 1, when called from inside a task, or while another thread's region holds the workers.
/// The first exception a task throws is rethrown here after all tasks have finished.
void run_parallel(int parts, void (*task)(void* context, int i, int parts), void* context);

/// run_parallel with any callable f(i, parts); one part is a plain call f(0, 1) on this thread.
template <class F>
void parallel_parts(int parts, F&& f) {
  if (parts <= 1) return static_cast<void>(f(0, 1));
  run_parallel(
      parts, [](void* c, int i, int n) { (*static_cast<std::remove_reference_t<F>*>(c))(i, n); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

/// How many parts an element-wise pass over n elements is worth: parallel_threads() when n is at least
/// kParallelGrain elements (a pass that streams ~1 MiB; below it waking a worker costs more than it
/// saves), else 1.
inline constexpr std::int64_t kParallelGrain = 1 << 18;
int elementwise_parts(std::int64_t n);

/// [begin, end) of part i of `parts` over n items, the boundaries on multiples of `align` items (64 by
/// default: whole cache lines for any dtype, aligned SIMD loops); the last parts may be empty.
inline std::pair<std::int64_t, std::int64_t> part_range(std::int64_t n, int i, int parts, std::int64_t align = 64) {
  const std::int64_t chunk = ((n + parts - 1) / parts + align - 1) / align * align;
  const std::int64_t b = std::min<std::int64_t>(n, chunk * i), e = std::min<std::int64_t>(n, b + chunk);
  return {b, e};
}

/// Splits [0, n) into `parts` ranges (part_range with `align`) and runs f(lo, hi) for each non-empty
/// one through parallel_parts: the shape of every split element-wise pass and row loop.
template <class F>
void parallel_ranges(std::int64_t n, int parts, F&& f, std::int64_t align = 64) {
  parallel_parts(parts, [&](int i, int np) {
    const auto [lo, hi] = part_range(n, i, np, align);
    if (lo < hi) f(lo, hi);
  });
}

}  // namespace xgrad::kernels
