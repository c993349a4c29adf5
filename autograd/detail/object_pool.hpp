#pragma once
// Library-internal: a per-thread pool for the small objects every op creates (tensor and storage
// headers, graph nodes with their shared_ptr control blocks). A training step of a small model
// creates and destroys dozens of them; the C library's allocator serves bursts of same-sized
// objects from slower bins once its small per-thread cache is full, the pool never does.
//
// Free lists per 16-byte size class up to 1 KiB, bounded (Note [object pool] in allocator.cpp);
// larger requests go to operator new. Blocks freed on another thread join that thread's pool.
// Sanitizer builds (XGRAD_NO_ALLOCATOR_CACHE) pass every request through to operator new/delete.

#include <cstddef>
#include <memory>

namespace xgrad::detail {

void* pool_allocate(std::size_t bytes);
void pool_deallocate(void* p, std::size_t bytes) noexcept;

/// A standard allocator over the pool, for std::allocate_shared.
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() noexcept = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  T* allocate(std::size_t n) { return static_cast<T*>(pool_allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { pool_deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

/// std::make_shared with the object and its control block in one pooled block.
template <class T, class... Args>
std::shared_ptr<T> make_pooled(Args&&... args) {
  return std::allocate_shared<T>(PoolAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace xgrad::detail
