#include "dataloader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "../autograd/random.hpp"

namespace xgrad::data {

namespace {
// SplitMix64 finalizer: a bijective 64-bit hash (Steele, Lea & Flood 2014).
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  if (!dataset_) throw ValueError("DataLoader: the dataset is null");
  if (options_.batch_size < 1)
    throw ValueError(fmt::format("DataLoader: batch_size must be at least 1, got {}", options_.batch_size));
  seed_ = options_.seed ? *options_.seed : generator()();
}

std::int64_t DataLoader::size() const {
  const std::int64_t n = dataset_->size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<std::int64_t> DataLoader::order(std::int64_t epoch) const {
  const std::int64_t n = dataset_->size();
  if (options_.shuffle) return seeded_permutation(n, splitmix64(seed_ ^ splitmix64(static_cast<std::uint64_t>(epoch))));
  std::vector<std::int64_t> o(static_cast<std::size_t>(n));
  std::iota(o.begin(), o.end(), std::int64_t{0});
  return o;
}

DataLoader::Iterator DataLoader::begin() {
  auto o = std::make_shared<const std::vector<std::int64_t>>(order(epoch_));
  ++epoch_;
  return Iterator(this, std::move(o), 0);
}

DataLoader::Iterator DataLoader::end() const { return Iterator(this, nullptr, size()); }

DataLoader::Iterator::Iterator(const DataLoader* loader, std::shared_ptr<const std::vector<std::int64_t>> order,
                               std::int64_t batch)
    : loader_(loader), order_(std::move(order)), batch_(batch) {}

const Batch& DataLoader::Iterator::operator*() const {
  if (!current_) {
    if (loader_ == nullptr || !order_ || batch_ >= loader_->size())
      throw IndexError("DataLoader::Iterator: dereferencing an iterator that is not at a batch (past the end?)");
    const std::int64_t b = loader_->options_.batch_size;
    const std::int64_t start = batch_ * b;
    const std::int64_t stop = std::min<std::int64_t>(start + b, static_cast<std::int64_t>(order_->size()));
    current_ = loader_->dataset_->get_batch(
        std::span<const std::int64_t>(order_->data() + start, static_cast<std::size_t>(stop - start)));
  }
  return *current_;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  ++batch_;
  current_.reset();
  return *this;
}

DataLoader::Iterator DataLoader::Iterator::operator++(int) {
  Iterator old = *this;
  ++*this;
  return old;
}

}  // namespace xgrad::data
