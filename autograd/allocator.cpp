#include "allocator.hpp"

#include "detail/object_pool.hpp"

#include <bit>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

namespace xgrad {
namespace {

// Note [size classes]
// Class k < 16 holds buffers of 64·(k+1) bytes (64 B .. 1 KiB). Above 1 KiB, the sizes in
// (2^(p-1), 2^p] fall into four classes of 1.25, 1.5, 1.75 and 2 times 2^(p-1), so a buffer is at
// most 25% larger than asked. 224 classes cover every size up to 2^62 bytes.
constexpr std::size_t kSmallClasses = 16;
constexpr std::size_t kClasses = kSmallClasses + 4 * 52;

struct SizeClass {
  std::size_t index;
  std::size_t bytes;
};

SizeClass size_class(std::size_t n) {
  if (n <= 1024) {
    const std::size_t blocks = (n + 63) / 64;
    return {blocks == 0 ? 0 : blocks - 1, (blocks == 0 ? 1 : blocks) * 64};
  }
  const int p = std::bit_width(n - 1);  // 2^(p-1) < n <= 2^p, p >= 11
  const std::size_t step = std::size_t{1} << (p - 3);
  const std::size_t q = (n + step - 1) / step - 4;  // 1..4
  return {kSmallClasses + static_cast<std::size_t>(p - 11) * 4 + (q - 1), (q + 4) * step};
}

// The buffer size of class k (the inverse of size_class).
std::size_t class_size(std::size_t k) {
  if (k < kSmallClasses) return (k + 1) * 64;
  const std::size_t p = 11 + (k - kSmallClasses) / 4, q = (k - kSmallClasses) % 4 + 1;
  return (q + 4) * (std::size_t{1} << (p - 3));
}

std::size_t default_limit() {
#ifdef XGRAD_NO_ALLOCATOR_CACHE
  return 0;  // sanitizer builds: every free is a real free, so AddressSanitizer sees use after free
#else
  if (const char* env = std::getenv("XGRAD_ALLOCATOR_CACHE_MB")) {
    try {
      return static_cast<std::size_t>(std::stoull(env)) << 20;
    } catch (...) {
      // a malformed value keeps the default
    }
  }
  return std::size_t{256} << 20;
#endif
}

// Trivially destructible, so it can still be read while (and after) thread-local caches are
// destroyed: buffers freed by static destructors then go straight to the C library.
thread_local bool t_cache_destroyed = false;

// Note [cache eviction]
// The cache keeps what was freed most recently. When a freed buffer does not fit under the limit, the
// cached buffers of the classes used least recently are released first (a class's clock is the
// number of cache operations at its last allocation or free). Without this, a cache filled by one
// phase of a program (W6 in float32: 64 MB gradients) refused every buffer of the next phase (W6 in
// float64: 128 MB), which then paid fresh page faults on every step: 2.9x slower, measured.
struct Cache {
  std::vector<void*> lists[kClasses];
  std::uint64_t last_use[kClasses] = {};
  std::uint64_t clock = 0;
  std::size_t bytes = 0, blocks = 0;
  std::size_t limit = default_limit();
  std::uint64_t hits = 0, misses = 0, evictions = 0;

  // Releases whole classes, least recently used first (never `keep`), until `need` more bytes fit.
  void make_room(std::size_t need, std::size_t keep) noexcept {
    while (bytes + need > limit) {
      std::size_t victim = kClasses;
      for (std::size_t k = 0; k < kClasses; ++k)
        if (k != keep && !lists[k].empty() && (victim == kClasses || last_use[k] < last_use[victim])) victim = k;
      if (victim == kClasses) return;
      const std::size_t class_bytes = class_size(victim);
      for (void* p : lists[victim]) std::free(p);
      bytes -= class_bytes * lists[victim].size();
      blocks -= lists[victim].size();
      evictions += lists[victim].size();
      lists[victim].clear();
    }
  }

  void release_all() noexcept {
    for (std::size_t k = 0; k < kClasses; ++k) {
      for (void* p : lists[k]) std::free(p);
      lists[k].clear();
      lists[k].shrink_to_fit();
    }
    bytes = blocks = 0;
  }
  ~Cache() {
    release_all();
    t_cache_destroyed = true;
  }
};

Cache& cache() {
  thread_local Cache c;
  return c;
}

// Note [object pool]
// Small objects (tensor and storage headers, graph nodes) come from per-thread free lists, one per
// 16-byte size class up to 1 KiB (graph nodes with inline edges, saved tensors and the captures of
// their backward lambda are 400-700 bytes). The lists hold at most kPoolBytes in all (a burst beyond that,
// e.g. tearing down a million-node graph, goes back to the C library) and are emptied with the
// buffer cache by empty_allocator_cache() and at thread exit.
constexpr std::size_t kPoolGranule = 16, kPoolMaxBytes = 1024, kPoolClasses = kPoolMaxBytes / kPoolGranule;
constexpr std::size_t kPoolBytes = std::size_t{1} << 20;

thread_local bool t_pool_destroyed = false;

struct Pool {
  std::vector<void*> lists[kPoolClasses];
  std::size_t bytes = 0;
  bool enabled = default_limit() > 0;

  void release_all() noexcept {
    for (auto& list : lists) {
      for (void* p : list) ::operator delete(p);
      list.clear();
      list.shrink_to_fit();
    }
    bytes = 0;
  }
  ~Pool() {
    release_all();
    t_pool_destroyed = true;
  }
};

Pool& pool() {
  thread_local Pool p;
  return p;
}

}  // namespace

namespace detail {

void* pool_allocate(std::size_t bytes) {
  if (bytes > kPoolMaxBytes) return ::operator new(bytes);
  // Always the class size, also with the pool gone: the block may be freed into another thread's pool.
  const std::size_t k = bytes == 0 ? 0 : (bytes - 1) / kPoolGranule, size = (k + 1) * kPoolGranule;
  if (!t_pool_destroyed) {
    Pool& p = pool();
    if (!p.enabled) return ::operator new(bytes);  // exact size: sanitizers see every overflow
    auto& list = p.lists[k];
    if (!list.empty()) {
      void* block = list.back();
      list.pop_back();
      p.bytes -= size;
      return block;
    }
  }
  return ::operator new(size);
}

void pool_deallocate(void* block, std::size_t bytes) noexcept {
  if (block == nullptr) return;
  if (bytes <= kPoolMaxBytes && !t_pool_destroyed) {
    Pool& p = pool();
    const std::size_t k = bytes == 0 ? 0 : (bytes - 1) / kPoolGranule, size = (k + 1) * kPoolGranule;
    if (p.enabled && p.bytes + size <= kPoolBytes) {
      try {
        p.lists[k].push_back(block);
        p.bytes += size;
        return;
      } catch (...) {
        // no room for the list entry: free the block instead
      }
    }
  }
  ::operator delete(block);
}

void* allocate(std::size_t nbytes, std::size_t& capacity) {
  const SizeClass sc = size_class(nbytes);
  capacity = sc.bytes;
  if (!t_cache_destroyed) {
    Cache& c = cache();
    auto& list = c.lists[sc.index];
    c.last_use[sc.index] = ++c.clock;
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      c.bytes -= sc.bytes;
      --c.blocks;
      ++c.hits;
      return p;
    }
    ++c.misses;
  }
  void* p = std::aligned_alloc(64, sc.bytes);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void deallocate(void* p, std::size_t capacity) noexcept {
  if (p == nullptr) return;
  if (!t_cache_destroyed) {
    Cache& c = cache();
    const SizeClass sc = size_class(capacity);
    if (capacity <= c.limit) {
      c.last_use[sc.index] = ++c.clock;
      c.make_room(capacity, sc.index);
    }
    if (c.bytes + capacity <= c.limit) {
      try {
        c.lists[sc.index].push_back(p);
        c.bytes += capacity;
        ++c.blocks;
        return;
      } catch (...) {
        // no room for the list entry: free the buffer instead
      }
    }
  }
  std::free(p);
}

}  // namespace detail

AllocatorStats allocator_stats() {
  if (t_cache_destroyed) return {};
  const Cache& c = cache();
  return {c.bytes, c.blocks, c.hits, c.misses, c.limit};
}

void empty_allocator_cache() {
  if (!t_cache_destroyed) cache().release_all();
  if (!t_pool_destroyed) pool().release_all();
}

void set_allocator_cache_limit(std::size_t bytes) {
#ifdef XGRAD_NO_ALLOCATOR_CACHE
  bytes = 0;
#endif
  if (t_cache_destroyed) return;
  Cache& c = cache();
  c.limit = bytes;
  if (c.bytes > bytes) c.release_all();
}

}  // namespace xgrad
