#pragma once
// Library-internal: the object behind a Tensor handle. Not installed for users; nn/ and optim/ use
// only the public Tensor API.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../dtype.hpp"
#include "../shape.hpp"
#include "../tensor.hpp"

namespace xgrad {

/// A block of memory shared by a tensor and all its views, with the in-place version counter.
/// Small blocks live inline (no second heap allocation for scalars and tiny tensors); larger ones come
/// from the caching allocator (allocator.hpp).
struct Storage {
  static constexpr std::size_t kInlineBytes = 32;

  explicit Storage(std::size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data = nullptr;
  std::size_t nbytes = 0;
  std::size_t capacity = 0;  // bytes of the allocator's size class (0 for inline storage)
  /// Bumped by every in-place modification; saved tensors compare it at backward.
  std::uint32_t version = 0;
  alignas(16) unsigned char inline_bytes[kInlineBytes];
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // in elements
  Shape shape;
  Strides strides;
  std::int64_t numel = 1;
  Dtype dtype = Dtype::float32;
  bool contiguous = true;

  // autograd metadata
  bool requires_grad = false;
  bool retains_grad = false;
  std::uint32_t output_nr = 0;
  std::shared_ptr<Node> grad_fn;          // null for leaves
  std::shared_ptr<Node> grad_accumulator;  // leaves: the AccumulateGrad node, created on first use
  std::shared_ptr<TensorImpl> grad;
  std::vector<std::pair<int, TensorHook>> hooks;  // leaf hooks (non-leaf hooks live on grad_fn)
  std::vector<std::pair<int, PostAccumulateGradHook>> post_accumulate_hooks;  // leaves only
  std::string name;                               // Tensor::set_name (explanations, graph pictures)

  ~TensorImpl();

  void* data_ptr() const {
    return static_cast<unsigned char*>(storage->data) + offset * static_cast<std::int64_t>(dtype_size(dtype));
  }
  void recompute_layout();  // numel and the contiguous flag from shape/strides
};

/// Allocates an uninitialized contiguous tensor.
Tensor empty(const Shape& shape, Dtype dtype);
/// A tensor viewing `base`'s storage with a new shape/strides/offset (no autograd metadata).
Tensor make_view(const Tensor& base, Shape shape, Strides strides, std::int64_t offset);

namespace detail {
/// Releases a node without recursion: nodes freed while another release is running are queued and
/// destroyed by the outermost call (see Note [teardown] in node.cpp).
void release_node(std::shared_ptr<Node>&& node) noexcept;
}  // namespace detail

}  // namespace xgrad
