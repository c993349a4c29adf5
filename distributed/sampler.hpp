#pragma once
// Sharding the data across ranks: each rank sees a disjoint shard of every epoch's shuffled order.
//
//   distributed::DistributedSampler sampler(train_set->size(), {.shuffle = true, .seed = 42});
//   for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
//     data::DataLoader loader(std::make_shared<data::Subset>(train_set, sampler.indices(epoch)), {.batch_size = 64});
//     for (const data::Batch& b : loader) ...                 // this rank's batches of epoch `epoch`
//   }
//
// With fit(), use a ShardedDataset (a Dataset presenting the current epoch's shard) and its callback.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "../data/dataset.hpp"
#include "../train/callbacks.hpp"

namespace xgrad::distributed {

/// Options of DistributedSampler.
struct SamplerOptions {
  /// A new random order every epoch (the same order on every rank).
  bool shuffle = true;
  /// Base seed of the shuffles. When unset, rank 0 draws one from xgrad::generator() and broadcasts it
  /// (the constructor is then a collective).
  std::optional<std::uint64_t> seed = std::nullopt;
  /// Drop the last n mod N samples of the epoch's order instead of padding with its first ones.
  bool drop_last = false;
};

/// The shard of each epoch that one rank visits. The epoch's global order is data::DataLoader's
/// (DataLoader::order(epoch) of a loader over the same number of samples with the same shuffle and
/// seed), padded with its first samples to a multiple of N (or cut, with drop_last); rank r takes
/// positions r, r + N, r + 2N, ... So the shards of one epoch are disjoint (apart from the padding),
/// cover the epoch, and have equal sizes; and with per-rank batch B, batch k of all ranks together holds
/// exactly the samples of batch k of a single process with batch N·B (positions [k·N·B, (k+1)·N·B) of
/// the global order), which is what makes DistributedDataParallel's steps those of the large batch.
class DistributedSampler {
 public:
  /// A sampler for `dataset_size` samples. `num_replicas` and `rank` default to the job's world size
  /// and rank (pass them explicitly to use it without MPI, e.g. to compute another rank's shard).
  /// ValueError for a negative size, num_replicas < 1, or a rank outside [0, num_replicas).
  explicit DistributedSampler(std::int64_t dataset_size, SamplerOptions options = {},
                              std::optional<int> num_replicas = std::nullopt, std::optional<int> rank = std::nullopt);
  /// This rank's sample indices of `epoch`, in order (num_samples() of them).
  std::vector<std::int64_t> indices(std::int64_t epoch) const;
  /// The epoch's global order, padded or cut to total_size() (the concatenation of all shards,
  /// interleaved).
  std::vector<std::int64_t> global_order(std::int64_t epoch) const;
  /// Samples per rank per epoch: ceil(n/N), or floor(n/N) with drop_last.
  std::int64_t num_samples() const noexcept { return num_samples_; }
  /// num_samples()·N.
  std::int64_t total_size() const noexcept { return num_samples_ * num_replicas_; }
  /// The base seed of the shuffles (the same on every rank).
  std::uint64_t seed() const noexcept { return seed_; }
  int num_replicas() const noexcept { return num_replicas_; }
  int rank() const noexcept { return rank_; }

 private:
  std::int64_t size_;
  SamplerOptions options_;
  int num_replicas_;
  int rank_;
  std::uint64_t seed_ = 0;
  std::int64_t num_samples_ = 0;
};

/// A Dataset presenting this rank's shard of the current epoch of `dataset` (sample i is
/// dataset[sampler.indices(epoch)[i]]); set_epoch(e) switches shards. Meant for train::fit(), with
/// FitOptions().shuffle(false) (the sampler shuffles) and epoch_callback() among the callbacks, which
/// calls set_epoch at the start of every epoch. Use validation_data rather than validation_split (the
/// split would take the end of each shard).
class ShardedDataset : public data::Dataset {
 public:
  /// ValueError for a null dataset.
  ShardedDataset(std::shared_ptr<const data::Dataset> dataset, SamplerOptions options = {});
  /// Selects the shard of `epoch`.
  void set_epoch(std::int64_t epoch);
  std::int64_t epoch() const noexcept { return epoch_; }
  /// A callback that calls set_epoch(epoch) in on_epoch_begin (it refers to this dataset, which must
  /// outlive it).
  train::CallbackPtr epoch_callback();
  const DistributedSampler& sampler() const noexcept { return sampler_; }

  std::int64_t size() const override;
  data::Example get(std::int64_t i) const override;
  data::Batch get_batch(std::span<const std::int64_t> indices) const override;

 private:
  std::shared_ptr<const data::Dataset> dataset_;
  DistributedSampler sampler_;
  std::int64_t epoch_ = 0;
  std::vector<std::int64_t> shard_;
};

}  // namespace xgrad::distributed
