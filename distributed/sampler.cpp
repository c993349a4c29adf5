#include "sampler.hpp"

#include <fmt/format.h>

#include "../autograd/random.hpp"
#include "../data/dataloader.hpp"
#include "detail/comm.hpp"
#include "environment.hpp"

namespace xgrad::distributed {
namespace {

// A dataset of n samples that only exists to ask data::DataLoader for its order of an epoch.
class CountDataset : public data::Dataset {
 public:
  explicit CountDataset(std::int64_t n) : n_(n) {}
  std::int64_t size() const override { return n_; }
  data::Example get(std::int64_t) const override { throw ValueError("DistributedSampler: internal dataset has no samples"); }

 private:
  std::int64_t n_;
};

}  // namespace

DistributedSampler::DistributedSampler(std::int64_t dataset_size, SamplerOptions options, std::optional<int> num_replicas,
                                       std::optional<int> rank)
    : size_(dataset_size), options_(options) {
  if (dataset_size < 0) throw ValueError(fmt::format("DistributedSampler: dataset_size must be >= 0, got {}", dataset_size));
  num_replicas_ = num_replicas ? *num_replicas : world_size();
  rank_ = rank ? *rank : distributed::rank();
  if (num_replicas_ < 1) throw ValueError(fmt::format("DistributedSampler: num_replicas must be >= 1, got {}", num_replicas_));
  if (rank_ < 0 || rank_ >= num_replicas_)
    throw ValueError(fmt::format("DistributedSampler: rank must be in [0, {}), got {}", num_replicas_, rank_));
  if (options_.seed) {
    seed_ = *options_.seed;
  } else {
    seed_ = generator()();
    if (is_initialized())
      detail::broadcast_bytes(&seed_, 1, MPI_UINT64_T, 0, detail::world(), "DistributedSampler: broadcast of the seed");
  }
  num_samples_ = options_.drop_last ? size_ / num_replicas_ : (size_ + num_replicas_ - 1) / num_replicas_;
}

std::vector<std::int64_t> DistributedSampler::global_order(std::int64_t epoch) const {
  const data::DataLoader loader(std::make_shared<CountDataset>(size_),
                                {.batch_size = 1, .shuffle = options_.shuffle, .seed = seed_});
  std::vector<std::int64_t> order = loader.order(epoch);
  const std::int64_t total = total_size();
  if (static_cast<std::int64_t>(order.size()) > total) {
    order.resize(static_cast<std::size_t>(total));
  } else {
    for (std::size_t i = 0; static_cast<std::int64_t>(order.size()) < total; ++i) order.push_back(order[i]);  // pad by wrapping
  }
  return order;
}

std::vector<std::int64_t> DistributedSampler::indices(std::int64_t epoch) const {
  const std::vector<std::int64_t> order = global_order(epoch);
  std::vector<std::int64_t> mine;
  mine.reserve(static_cast<std::size_t>(num_samples_));
  for (std::size_t i = static_cast<std::size_t>(rank_); i < order.size(); i += static_cast<std::size_t>(num_replicas_))
    mine.push_back(order[i]);
  return mine;
}

ShardedDataset::ShardedDataset(std::shared_ptr<const data::Dataset> dataset, SamplerOptions options)
    : dataset_(std::move(dataset)), sampler_(dataset_ ? dataset_->size() : 0, options) {
  if (!dataset_) throw ValueError("ShardedDataset: the dataset is null");
  shard_ = sampler_.indices(0);
}

void ShardedDataset::set_epoch(std::int64_t epoch) {
  if (epoch == epoch_) return;
  epoch_ = epoch;
  shard_ = sampler_.indices(epoch);
}

train::CallbackPtr ShardedDataset::epoch_callback() {
  return std::make_shared<train::LambdaCallback>(
      train::LambdaCallbackHooks{.on_epoch_begin = [this](train::FitContext&, std::int64_t epoch) { set_epoch(epoch); }});
}

std::int64_t ShardedDataset::size() const { return static_cast<std::int64_t>(shard_.size()); }

data::Example ShardedDataset::get(std::int64_t i) const {
  if (i < 0 || i >= size()) throw IndexError(fmt::format("ShardedDataset: index {} outside [0, {})", i, size()));
  return dataset_->get(shard_[static_cast<std::size_t>(i)]);
}

data::Batch ShardedDataset::get_batch(std::span<const std::int64_t> indices) const {
  std::vector<std::int64_t> mapped;
  mapped.reserve(indices.size());
  for (std::int64_t i : indices) {
    if (i < 0 || i >= size()) throw IndexError(fmt::format("ShardedDataset: index {} outside [0, {})", i, size()));
    mapped.push_back(shard_[static_cast<std::size_t>(i)]);
  }
  return dataset_->get_batch(mapped);
}

}  // namespace xgrad::distributed
