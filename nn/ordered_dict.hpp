#pragma once
// OrderedDict: a string-keyed map that keeps insertion order, used for the module registries
// (parameters, buffers, children), named_parameters() and state dicts.

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "../autograd/error.hpp"

namespace xgrad::nn {

/// A map from names to values that iterates in insertion order (like Python's dict and LibTorch's
/// OrderedDict). Lookups are hashed. References to values stay valid when entries are inserted and when
/// the dict is moved; only erase() invalidates them (the module registries never erase, so layers can keep
/// a pointer to their parameter's slot).
template <class V>
class OrderedDict {
 public:
  /// One entry: its key and its value.
  struct Item {
    std::string key;
    V value;
  };
  using iterator = typename std::deque<Item>::iterator;
  using const_iterator = typename std::deque<Item>::const_iterator;

  OrderedDict() = default;
  /// Builds from {key, value} pairs in order; a repeated key throws ValueError.
  OrderedDict(std::initializer_list<std::pair<std::string, V>> items) {
    for (const auto& [k, v] : items) insert(k, v);
  }

  /// Appends a new entry and returns a reference to its value. Throws ValueError naming the key when it
  /// already exists.
  V& insert(std::string key, V value) {
    if (index_.count(key) != 0) throw ValueError(fmt::format("OrderedDict::insert: key '{}' already exists", key));
    index_.emplace(key, items_.size());
    items_.push_back(Item{std::move(key), std::move(value)});
    return items_.back().value;
  }
  /// Sets the value of `key`, appending an entry when it does not exist yet. Returns the value.
  V& insert_or_assign(std::string key, V value) {
    if (V* v = find(key)) return *v = std::move(value);
    return insert(std::move(key), std::move(value));
  }
  /// Removes `key` (no-op when absent). Invalidates references to later entries.
  void erase(std::string_view key) {
    auto it = index_.find(std::string(key));
    if (it == index_.end()) return;
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(it->second));
    index_.clear();
    for (std::size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].key, i);
  }

  /// Pointer to the value of `key`, or nullptr.
  V* find(std::string_view key) {
    auto it = index_.find(std::string(key));
    return it == index_.end() ? nullptr : &items_[it->second].value;
  }
  const V* find(std::string_view key) const {
    auto it = index_.find(std::string(key));
    return it == index_.end() ? nullptr : &items_[it->second].value;
  }
  /// True when `key` exists.
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  /// The value of `key`; throws IndexError naming the key when absent.
  V& at(std::string_view key) {
    if (V* v = find(key)) return *v;
    throw IndexError(fmt::format("OrderedDict::at: no key '{}'", key));
  }
  const V& at(std::string_view key) const {
    if (const V* v = find(key)) return *v;
    throw IndexError(fmt::format("OrderedDict::at: no key '{}'", key));
  }
  /// Same as at(key).
  V& operator[](std::string_view key) { return at(key); }
  const V& operator[](std::string_view key) const { return at(key); }

  /// Number of entries.
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  /// The keys in insertion order.
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& it : items_) out.push_back(it.key);
    return out;
  }
  /// The values in insertion order (copies; for tensors and module pointers these are shared handles).
  std::vector<V> values() const {
    std::vector<V> out;
    out.reserve(items_.size());
    for (const auto& it : items_) out.push_back(it.value);
    return out;
  }

  iterator begin() noexcept { return items_.begin(); }
  iterator end() noexcept { return items_.end(); }
  const_iterator begin() const noexcept { return items_.begin(); }
  const_iterator end() const noexcept { return items_.end(); }

 private:
  std::deque<Item> items_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace xgrad::nn
