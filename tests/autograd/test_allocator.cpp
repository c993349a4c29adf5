// The caching allocator behind tensor buffers (autograd/allocator.hpp).
#include <doctest/doctest.h>

#include <xgrad/xgrad.hpp>

#include <cstdint>
#include <thread>


using namespace xgrad;

namespace {

// Runs `f` with caching on (1 GiB) for this thread, and restores the previous limit after. Sanitizer
// builds never cache (every free must be a real free): there the limit stays 0 and `f` does not run.
template <class F>
void with_cache(F&& f) {
  const std::size_t previous = allocator_stats().limit_bytes;
  empty_allocator_cache();
  set_allocator_cache_limit(std::size_t{1} << 30);
  if (allocator_stats().limit_bytes == 0) {
    MESSAGE("this build does not cache tensor buffers (XGRAD_SANITIZE): skipped");
    return;
  }
  f();
  empty_allocator_cache();
  set_allocator_cache_limit(previous);
}

}  // namespace

TEST_CASE("allocator: a freed buffer is reused for the next tensor of the same size class") {
  with_cache([] {
    const void* first = nullptr;
    {
      Tensor a = zeros({1000}, kFloat32);  // 4000 bytes: class of 4096
      first = a.data<float>();
      CHECK(reinterpret_cast<std::uintptr_t>(first) % 64 == 0);
    }
    const AllocatorStats after_free = allocator_stats();
    CHECK(after_free.cached_blocks == 1);
    CHECK(after_free.cached_bytes == 4096);
    Tensor b = zeros({1020}, kFloat32);  // 4080 bytes: same class, same buffer
    CHECK(b.data<float>() == first);
    const AllocatorStats s = allocator_stats();
    CHECK(s.hits == after_free.hits + 1);
    CHECK(s.cached_blocks == 0);
    Tensor c = zeros({2000}, kFloat32);  // another class: a new buffer
    CHECK(c.data<float>() != first);
    CHECK(allocator_stats().misses == s.misses + 1);
  });
}

TEST_CASE("allocator: size classes waste at most 25% above 1 KiB and 63 bytes below") {
  with_cache([] {
    // Each size is freed into the cache; cached_bytes then tells the class size.
    const std::pair<std::int64_t, std::size_t> cases[] = {
        {40, 64}, {64, 64}, {68, 128}, {1024, 1024}, {1028, 1280}, {1280, 1280}, {1284, 1536},
        {2048, 2048}, {2052, 2560}, {3 << 20, 3 << 20}, {(3 << 20) + 4, 7 << 19}, {1 << 26, 1 << 26}};
    for (const auto& [bytes, expected] : cases) {
      empty_allocator_cache();
      { Tensor t = zeros({bytes / 4}, kFloat32); }
      CAPTURE(bytes);
      CHECK(allocator_stats().cached_bytes == expected);
      CHECK(expected >= static_cast<std::size_t>(bytes));
      CHECK(static_cast<double>(expected) <= std::max(1.25 * static_cast<double>(bytes), static_cast<double>(bytes) + 63));
    }
  });
}

TEST_CASE("allocator: limit 0 turns caching off, and a lower limit frees the cache") {
  with_cache([] {
    { Tensor a = zeros({4096}, kFloat64); }
    CHECK(allocator_stats().cached_blocks == 1);
    set_allocator_cache_limit(0);
    CHECK(allocator_stats().cached_bytes == 0);
    { Tensor b = zeros({4096}, kFloat64); }
    CHECK(allocator_stats().cached_blocks == 0);
    set_allocator_cache_limit(std::size_t{1} << 30);
    // A buffer larger than the limit is never cached.
    set_allocator_cache_limit(1 << 20);
    { Tensor big = zeros({1 << 20}, kFloat32); }  // 4 MiB > 1 MiB
    CHECK(allocator_stats().cached_blocks == 0);
  });
}

TEST_CASE("allocator: a full cache makes room for a new size by releasing the least recently used sizes") {
  with_cache([] {
    set_allocator_cache_limit(1 << 20);  // 1 MiB
    { Tensor a = zeros({65536}, kFloat32), b = zeros({65536}, kFloat32); }  // 2 x 256 KiB
    { Tensor c = zeros({32768}, kFloat32); }                                // 128 KiB, used last
    CHECK(allocator_stats().cached_bytes == (640u << 10));
    { Tensor big = zeros({131072}, kFloat32); }  // 512 KiB: does not fit next to the 640 KiB cached
    // the two 256 KiB buffers (least recently used) were released, the 128 KiB one kept
    CHECK(allocator_stats().cached_bytes == (640u << 10));
    CHECK(allocator_stats().cached_blocks == 2);
    const std::uint64_t misses = allocator_stats().misses;
    { Tensor again = zeros({131072}, kFloat32); }  // served by the cache now
    CHECK(allocator_stats().misses == misses);
  });
}

TEST_CASE("allocator: a buffer freed on another thread goes to that thread's cache, and values are intact") {
  with_cache([] {
    Tensor t = arange(0, 5000, 1, kFloat64);
    double sum_seen = 0;
    std::thread worker([&] {
      Tensor mine = std::move(t);
      sum_seen = mine.sum().item<double>();
      mine = Tensor();  // freed here: cached by the worker, released when it ends
      CHECK(allocator_stats().cached_blocks == 1);
    });
    worker.join();
    CHECK(sum_seen == doctest::Approx(5000.0 * 4999.0 / 2.0));
    CHECK(allocator_stats().cached_blocks == 0);
  });
}

TEST_CASE("allocator: training steps after the first allocate nothing new") {
  with_cache([] {
    manual_seed(3);
    Tensor w = randn({64, 32}, kFloat32).requires_grad_();
    Tensor x = randn({16, 32}, kFloat32);
    auto step = [&] {
      w.zero_grad();
      Tensor loss = (relu(matmul(x, w.t())) * 0.5).sum();
      loss.backward();
    };
    step();
    step();
    const std::uint64_t misses = allocator_stats().misses;
    for (int i = 0; i < 10; ++i) step();
    CHECK(allocator_stats().misses == misses);
  });
}
