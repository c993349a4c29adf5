#pragma once
// A vector that keeps its first N elements inside the object, for element types of any kind (edges
// with shared_ptrs, saved tensors). Graph nodes hold their edges, output metadata and saved tensors
// in these, so recording an op with up to N inputs allocates only the node itself (Note [per-op
// overhead] in docs/design.md). SmallVector (small_vector.hpp) is the variant for trivially copyable
// elements (shapes, strides), which it moves with memcpy.
//
// The interface is the part of std::vector that graph code uses: element access, iteration,
// push_back/emplace_back, reserve, resize, clear. Moving a vector moves its elements one by one when
// they are inline. Not copyable (nodes are not).

#include <cstddef>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace xgrad {

template <class T, std::size_t N>
class InlineVector {
  static_assert(N > 0, "InlineVector needs at least one inline element");
  static_assert(std::is_nothrow_move_constructible_v<T>, "InlineVector elements must be nothrow movable");

 public:
  using value_type = T;
  using size_type = std::size_t;
  using iterator = T*;
  using const_iterator = const T*;

  InlineVector() noexcept = default;
  InlineVector(const InlineVector&) = delete;
  InlineVector& operator=(const InlineVector&) = delete;
  InlineVector(InlineVector&& o) noexcept { steal(o); }
  InlineVector& operator=(InlineVector&& o) noexcept {
    if (this != &o) {
      destroy_all();
      steal(o);
    }
    return *this;
  }
  ~InlineVector() { destroy_all(); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  T& operator[](size_type i) noexcept { return data_[i]; }
  const T& operator[](size_type i) const noexcept { return data_[i]; }
  T& at(size_type i) {
    if (i >= size_) throw std::out_of_range("InlineVector::at: index out of range");
    return data_[i];
  }
  const T& at(size_type i) const {
    if (i >= size_) throw std::out_of_range("InlineVector::at: index out of range");
    return data_[i];
  }
  T& back() noexcept { return data_[size_ - 1]; }
  const T& back() const noexcept { return data_[size_ - 1]; }

  iterator begin() noexcept { return data_; }
  const_iterator begin() const noexcept { return data_; }
  iterator end() noexcept { return data_ + size_; }
  const_iterator end() const noexcept { return data_ + size_; }

  bool empty() const noexcept { return size_ == 0; }
  size_type size() const noexcept { return size_; }
  size_type capacity() const noexcept { return capacity_; }

  void reserve(size_type n) {
    if (n > capacity_) grow_to(n);
  }
  void clear() noexcept {
    std::destroy(data_, data_ + size_);
    size_ = 0;
  }
  void push_back(const T& value) { emplace_back(value); }
  void push_back(T&& value) { emplace_back(std::move(value)); }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (size_ == capacity_) {
      T item(std::forward<Args>(args)...);  // the arguments may refer to elements of this vector
      grow_to(2 * capacity_);
      ::new (static_cast<void*>(data_ + size_)) T(std::move(item));
    } else {
      ::new (static_cast<void*>(data_ + size_)) T(std::forward<Args>(args)...);
    }
    return data_[size_++];
  }
  /// Grows with value-initialized elements or destroys the surplus.
  void resize(size_type n) {
    if (n < size_) {
      std::destroy(data_ + n, data_ + size_);
    } else {
      reserve(n);
      for (size_type i = size_; i < n; ++i) ::new (static_cast<void*>(data_ + i)) T();
    }
    size_ = n;
  }

 private:
  bool is_inline() const noexcept { return data_ == inline_ptr(); }
  T* inline_ptr() noexcept { return std::launder(reinterpret_cast<T*>(storage_)); }
  const T* inline_ptr() const noexcept { return std::launder(reinterpret_cast<const T*>(storage_)); }

  void grow_to(size_type n) {
    T* fresh = static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{alignof(T)}));
    std::uninitialized_move(data_, data_ + size_, fresh);
    std::destroy(data_, data_ + size_);
    if (!is_inline()) ::operator delete(data_, std::align_val_t{alignof(T)});
    data_ = fresh;
    capacity_ = n;
  }
  void destroy_all() noexcept {
    std::destroy(data_, data_ + size_);
    if (!is_inline()) ::operator delete(data_, std::align_val_t{alignof(T)});
    data_ = inline_ptr();
    size_ = 0;
    capacity_ = N;
  }
  void steal(InlineVector& o) noexcept {  // *this is empty and inline
    if (o.is_inline()) {
      std::uninitialized_move(o.data_, o.data_ + o.size_, data_);
      size_ = o.size_;
      o.clear();
    } else {
      data_ = o.data_;
      size_ = o.size_;
      capacity_ = o.capacity_;
      o.data_ = o.inline_ptr();
      o.size_ = 0;
      o.capacity_ = N;
    }
  }

  alignas(T) unsigned char storage_[N * sizeof(T)];
  T* data_ = inline_ptr();
  size_type size_ = 0;
  size_type capacity_ = N;
};

}  // namespace xgrad
