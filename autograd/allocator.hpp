#pragma once
// The caching allocator behind every tensor buffer.
//
// Training allocates the same buffer sizes step after step (activations, gradients, temporaries).
// Returning them to the C library and asking again costs page faults for large buffers (the kernel
// hands out fresh zeroed pages; on these VMs a 64 MB gradient costs ~10 ms of faults per step) and
// allocator work for small ones. xgrad keeps freed buffers in per-thread free lists, one per size
// class, and hands them out again (like PyTorch's CUDA caching allocator; PyTorch's CPU allocator
// does not cache).
//
// - Size classes: 64-byte multiples up to 1 KiB, then four classes per power of two (at most 25%
//   slack). Every buffer is 64-byte aligned.
// - Each thread caches what it frees, without locks, up to a limit (default 256 MiB per thread;
//   set_allocator_cache_limit or the environment variable XGRAD_ALLOCATOR_CACHE_MB). A buffer freed
//   on another thread than the one that allocated it goes to the freeing thread's cache.
// - A thread's cache is released when the thread ends; empty_allocator_cache() releases the calling
//   thread's cache at once.
// - XGRAD_ALLOCATOR_CACHE_MB=0 turns caching off (every buffer goes straight back to the C
//   library). Sanitizer builds (XGRAD_SANITIZE) never cache, so that AddressSanitizer sees every
//   use after free.

#include <cstddef>
#include <cstdint>

namespace xgrad {

/// What the calling thread's cache holds and has done (for tests, benchmarks and memory reports).
struct AllocatorStats {
  std::size_t cached_bytes = 0;     ///< bytes held in the free lists now
  std::size_t cached_blocks = 0;    ///< buffers held in the free lists now
  std::uint64_t hits = 0;           ///< allocations served from the cache
  std::uint64_t misses = 0;         ///< allocations that went to the C library
  std::size_t limit_bytes = 0;      ///< the cache limit of this thread
};

/// The calling thread's allocator statistics.
AllocatorStats allocator_stats();
/// Frees every buffer cached by the calling thread, and its pool of small objects (tensor headers,
/// graph nodes; at most 1 MiB). Memory in use by tensors is not affected.
void empty_allocator_cache();
/// Sets the calling thread's cache limit in bytes (0 disables caching for this thread; when the
/// cache holds more than the new limit, it is emptied). No effect in sanitizer builds (always 0).
void set_allocator_cache_limit(std::size_t bytes);

namespace detail {
/// A 64-byte aligned buffer of at least `nbytes` bytes; `capacity` receives its size class (the
/// value to pass back to deallocate). Throws std::bad_alloc when memory is exhausted.
void* allocate(std::size_t nbytes, std::size_t& capacity);
/// Returns a buffer obtained from allocate() with the capacity it reported.
void deallocate(void* p, std::size_t capacity) noexcept;
}  // namespace detail

}  // namespace xgrad
