#pragma once
// DataLoader: iterates over a dataset in (optionally shuffled) batches, one epoch per range-for.
//
//   data::DataLoader loader(data::TensorDataset(x, y), {.batch_size = 64, .shuffle = true, .seed = 42});
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (const data::Batch& b : loader) { ... b.input, b.target ... }
//
// Shuffling (Note [epoch seeds]): the order of epoch e is seeded_permutation(n, mix(seed, e)), where
// mix is a SplitMix64 hash of the base seed and the epoch number. So every epoch has a different
// order, the same seed repeats the whole sequence of epochs exactly, and the order of epoch e does
// not depend on how much of the earlier epochs was consumed (set_epoch(e) jumps straight to it, as
// in PyTorch's DistributedSampler). Each begin() starts the current epoch and then advances the
// epoch counter by one.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <vector>

#include "dataset.hpp"

namespace xgrad::data {

/// Options of a DataLoader.
struct DataLoaderOptions {
  /// Samples per batch (>= 1; 0 is a ValueError).
  std::int64_t batch_size = 1;
  /// Visit the samples in a new random order every epoch (see Note [epoch seeds] above).
  bool shuffle = false;
  /// Base seed of the shuffles. When unset, one value is drawn from xgrad::generator() when the loader
  /// is built (so xgrad::manual_seed makes the run reproducible).
  std::optional<std::uint64_t> seed = std::nullopt;
  /// Drop the last batch when it has fewer than batch_size samples.
  bool drop_last = false;
};

/// Iterates over a dataset in batches. Every epoch visits each sample exactly once (drop_last
/// drops at most batch_size - 1 samples, those that land in the incomplete last batch). Batches are
/// produced lazily, one get_batch call each, so a TensorDataset costs one row gather per batch.
class DataLoader {
 public:
  /// See below.
  class Iterator;

  /// A loader over `dataset` (shared: the loader keeps it alive). ValueError for a null dataset or
  /// batch_size < 1.
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  /// Convenience: a loader that owns a copy of `dataset` (e.g. a TensorDataset, cheap to copy).
  template <class D>
    requires std::derived_from<D, Dataset>
  DataLoader(D dataset, DataLoaderOptions options = {})  // NOLINT: implicit on purpose
      : DataLoader(std::make_shared<const D>(std::move(dataset)), options) {}

  /// Starts the current epoch (computing its order) and advances the epoch counter.
  Iterator begin();
  /// The end of the epoch.
  Iterator end() const;

  /// Number of batches per epoch: ceil(n / batch_size), or floor(n / batch_size) with drop_last.
  std::int64_t size() const;
  /// The epoch that the next begin() will start (0 for a new loader).
  std::int64_t epoch() const noexcept { return epoch_; }
  /// Chooses the epoch that the next begin() starts (its order depends only on seed and epoch).
  void set_epoch(std::int64_t epoch) noexcept { epoch_ = epoch; }
  /// The base seed of the shuffles (drawn from xgrad::generator() when options.seed was unset).
  std::uint64_t seed() const noexcept { return seed_; }
  /// The sample order of `epoch` (identity when shuffle is off). Does not change the epoch counter.
  std::vector<std::int64_t> order(std::int64_t epoch) const;
  /// The dataset.
  const std::shared_ptr<const Dataset>& dataset() const noexcept { return dataset_; }
  /// The options (with batch_size validated).
  const DataLoaderOptions& options() const noexcept { return options_; }

  /// An input iterator over one epoch's batches; dereferencing gives the current Batch (fetched when
  /// the iterator reaches it). Copies share the epoch's order but not their position.
  class Iterator {
   public:
    // Standard input-iterator traits.
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using reference = const Batch&;
    using pointer = const Batch*;
    using iterator_category = std::input_iterator_tag;

    /// A singular iterator (compares equal to an iterator at batch 0).
    Iterator() = default;
    /// The current batch.
    const Batch& operator*() const;
    /// Pointer to the current batch.
    const Batch* operator->() const { return &**this; }
    /// Moves to the next batch.
    Iterator& operator++();
    /// Moves to the next batch (the returned copy refers to the old position).
    Iterator operator++(int);
    /// Iterators of the same loader compare by batch position.
    bool operator==(const Iterator& other) const noexcept { return batch_ == other.batch_; }

   private:
    friend class DataLoader;
    Iterator(const DataLoader* loader, std::shared_ptr<const std::vector<std::int64_t>> order, std::int64_t batch);
    const DataLoader* loader_ = nullptr;
    std::shared_ptr<const std::vector<std::int64_t>> order_;
    std::int64_t batch_ = 0;
    mutable std::optional<Batch> current_;
  };

 private:
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::uint64_t seed_ = 0;
  std::int64_t epoch_ = 0;
};

}  // namespace xgrad::data
