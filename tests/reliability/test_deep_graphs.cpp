// Deep and large graphs: a 1,000,000-op chain and a 1,000,000-node wide graph are built,
// differentiated and destroyed without recursion (no stack overflow, also at -O0 in the sanitizer
// build, where frames are largest), and a graph dropped without backward gives all its memory back.
//
// Memory is measured two ways: the resident set size (/proc/self/statm, after malloc_trim so that
// glibc returns freed pages), and the allocator's count of bytes in use (mallinfo2, or the sanitizer
// allocator's statistics in ASan builds, where freed memory sits in a quarantine and RSS stays up).
#include <malloc.h>

#include <xgrad/xgrad.hpp>

#include <cstddef>

#include "reliability/reliability_util.hpp"
#include "support/test_util.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define XGRAD_TEST_ASAN_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XGRAD_TEST_ASAN_ALLOCATOR 1
#endif
#endif
#if defined(XGRAD_TEST_ASAN_ALLOCATOR)
// From <sanitizer/allocator_interface.h>, which GCC does not install (the runtime is the same).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

using namespace xgrad;

namespace {

constexpr std::int64_t kMillion = 1'000'000;

// Bytes currently allocated through malloc/new.
// Heap bytes in use by live objects. Buffers idle in xgrad's caching allocator are reusable, not
// leaked: the cache (bounded by its limit) is emptied first, so that only live memory counts.
std::int64_t heap_in_use() {
  CHECK(allocator_stats().cached_bytes <= allocator_stats().limit_bytes);
  empty_allocator_cache();
#if defined(XGRAD_TEST_ASAN_ALLOCATOR)
  return static_cast<std::int64_t>(__sanitizer_get_current_allocated_bytes());
#else
  return static_cast<std::int64_t>(mallinfo2().uordblks + mallinfo2().hblkhd);
#endif
}

// RSS after giving freed pages back to the OS.
std::int64_t trimmed_rss() {
  empty_allocator_cache();
  malloc_trim(0);
  return testing::rss_bytes();
}

// CPU seconds of this thread since `t0` (a thread_cpu_seconds() value): the bounds hold on a busy
// machine too.
double seconds_since(double t0) { return testing::thread_cpu_seconds() - t0; }

constexpr std::int64_t kMB = std::int64_t{1} << 20;

// CPU-time bound of the 10^6-node tests in builds without optimization (-O0 ASan+UBSan measured 24 s for
// the chain and 66 s for the wide graph); quadratic behaviour at 10^6 nodes would take hours.
constexpr double kUnoptimizedBound = 300.0;

}  // namespace

TEST_CASE("deep graphs: a 1,000,000-op chain builds, backpropagates and is destroyed") {
  const std::int64_t heap0 = heap_in_use();
  const double t0 = testing::thread_cpu_seconds();
  {
    const Tensor x = scalar_tensor(0.5, kFloat64).requires_grad_();
    Tensor y = x;
    // y = x * 1 + 1 repeated: alternating ops, so both kinds of node are in the chain; dy/dx = 1.
    for (std::int64_t i = 0; i < kMillion / 2; ++i) y = y * 1.0 + 1.0;
    CHECK(y.item<double>() == doctest::Approx(0.5 + static_cast<double>(kMillion / 2)));
    const double build = seconds_since(t0);
    y.backward();
    CHECK(x.grad().item<double>() == 1.0);
    MESSAGE("1,000,000-op chain (CPU seconds): built in " << build << " s, backward done at " << seconds_since(t0) << " s");
  }  // y (the whole chain) is destroyed here
  const double total = seconds_since(t0);
  MESSAGE("chain destroyed at CPU " << total << " s");
  CHECK(total < (testing::kOptimized ? 10.0 : kUnoptimizedBound));  // against quadratic behaviour, not a benchmark
  CHECK(heap_in_use() - heap0 < kMB);
}

TEST_CASE("deep graphs: a 1,000,000-node wide graph (fan-out and one 1,000,000-input node)") {
  const std::int64_t heap0 = heap_in_use();
  const double t0 = testing::thread_cpu_seconds();
  {
    const Tensor x = scalar_tensor(2.0, kFloat64).requires_grad_();
    TensorList terms;
    terms.reserve(kMillion);
    // x fans out into 1,000,000 nodes; stack joins them in one node with 1,000,000 input edges.
    for (std::int64_t i = 0; i < kMillion; ++i) terms.push_back(x * static_cast<double>(i % 3));
    const double fan_out = seconds_since(t0);
    const Tensor s = stack(terms).sum();
    terms.clear();
    const double built = seconds_since(t0);
    // d/dx sum_i (i mod 3) x = sum_i (i mod 3) = 333,333 * (0 + 1 + 2) + (999,999 mod 3 = 0) = 999,999.
    CHECK(s.item<double>() == doctest::Approx(2.0 * 999999.0));
    s.backward();
    CHECK(x.grad().item<double>() == 999999.0);
    MESSAGE("wide graph (CPU seconds): fan-out built at " << fan_out << " s, stacked at " << built << " s, backward done at " << seconds_since(t0)
                                            << " s");
  }
  const double total = seconds_since(t0);
  MESSAGE("1,000,000-node wide graph: built, differentiated and destroyed in CPU " << total << " s");
  CHECK(total < (testing::kOptimized ? 10.0 : kUnoptimizedBound));  // against quadratic behaviour, not a benchmark
  CHECK(heap_in_use() - heap0 < kMB);
}

TEST_CASE("deep graphs: a graph dropped without backward frees all its memory") {
  // Warm up (first-use allocations of the library and the allocator), then measure.
  {
    const Tensor w = randn({64}, kFloat64).requires_grad_();
    Tensor y = w;
    for (int i = 0; i < 1000; ++i) y = (y * 1.0001).tanh();
  }
  const std::int64_t rss0 = trimmed_rss();
  const std::int64_t heap0 = heap_in_use();
  std::int64_t rss_peak = 0, heap_peak = 0;
  {
    const Tensor w = randn({64}, kFloat64).requires_grad_();
    Tensor y = w;
    // 200,000 ops on 64-element tensors, each saving its input or output for backward.
    for (int i = 0; i < 100'000; ++i) y = (y * 1.0001).tanh();
    rss_peak = testing::rss_bytes();
    heap_peak = heap_in_use();
    // no backward: the graph and its saved tensors are only dropped
  }
  const std::int64_t rss1 = trimmed_rss();
  const std::int64_t heap1 = heap_in_use();
  MESSAGE("graph of 200,000 ops: heap " << heap0 / kMB << " -> " << heap_peak / kMB << " -> " << heap1 / kMB
                                        << " MB; RSS " << rss0 / kMB << " -> " << rss_peak / kMB << " -> " << rss1 / kMB << " MB");
  CHECK(heap_peak - heap0 > 50 * kMB);  // the graph really was large
  CHECK(heap1 - heap0 < kMB);           // and every byte of it came back
  if (!testing::kAsan) {
    CHECK(rss_peak - rss0 > 50 * kMB);
    CHECK(rss1 - rss0 < 8 * kMB);  // RSS is back within a small slack
  }
}
