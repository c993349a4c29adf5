#pragma once
// Helpers of the MPI test suite: small models and data sets that every rank builds identically, the
// single-process reference runs that the data-parallel runs are compared with, and comparisons.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <xgrad/distributed/distributed.hpp>
#include <xgrad/xgrad.hpp>

namespace xgrad::mpitest {

namespace dist = xgrad::distributed;

/// n samples of `features` standard-normal inputs and labels in [0, classes), the same on every rank.
inline std::shared_ptr<data::TensorDataset> make_data(std::int64_t n, std::int64_t features, std::int64_t classes, Dtype dtype,
                                                      std::uint64_t seed = 7) {
  manual_seed(seed);
  Tensor x = randn({n, features}, dtype);
  Tensor y = randint(0, classes, {n});
  return std::make_shared<data::TensorDataset>(x, y);
}

enum class Norm { none, batch, sync };

/// features-16-classes MLP (optionally with a normalization layer after the first Linear), seeded so
/// that every call builds the same weights.
inline std::shared_ptr<nn::Sequential> make_mlp(std::int64_t features, std::int64_t classes, Dtype dtype, Norm norm = Norm::none,
                                                std::uint64_t seed = 1) {
  manual_seed(seed);
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(nn::Linear(features, 16, true, dtype));
  if (norm == Norm::batch) m->push_back(nn::BatchNorm1d(16, 1e-5, 0.1, true, true, dtype));
  if (norm == Norm::sync) m->push_back(dist::SyncBatchNorm(16, 1e-5, 0.1, true, true, dtype));
  m->push_back(nn::Tanh());
  m->push_back(nn::Linear(16, classes, true, dtype));
  return m;
}

inline optim::SGD make_sgd(const TensorList& params) {
  return optim::SGD(params, optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-3));
}

/// Data-parallel training: each rank reads its DistributedSampler shard with batch `per_rank_batch`.
inline void train_ddp(dist::DistributedDataParallel& ddp, optim::Optimizer& opt, const std::shared_ptr<data::TensorDataset>& data,
                      std::int64_t per_rank_batch, std::int64_t epochs, std::uint64_t seed) {
  dist::DistributedSampler sampler(data->size(), {.shuffle = true, .seed = seed});
  for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
    data::DataLoader loader(std::make_shared<data::Subset>(data, sampler.indices(epoch)), {.batch_size = per_rank_batch});
    for (const data::Batch& b : loader) {
      opt.zero_grad();
      cross_entropy(ddp(b.input), b.target).backward();
      opt.step();
    }
  }
}

/// The single-process reference: batch N·B over the whole data set, DataLoader's shuffle with `seed`.
inline void train_single(nn::Module& model, optim::Optimizer& opt, const std::shared_ptr<data::TensorDataset>& data,
                         std::int64_t batch, std::int64_t epochs, std::uint64_t seed) {
  data::DataLoader loader(data, {.batch_size = batch, .shuffle = true, .seed = seed});
  for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
    loader.set_epoch(epoch);
    for (const data::Batch& b : loader) {
      opt.zero_grad();
      cross_entropy(model(b.input), b.target).backward();
      opt.step();
    }
  }
}

/// The single-process reference that sums the N shards' gradients in rank order: for every batch of N·B
/// samples (positions [k·N·B, (k+1)·N·B) of the epoch's order), shard r is positions k·N·B + r + N·j;
/// backward of each shard's mean loss accumulates into grad() (g_0, then + g_1, + g_2, ...), then
/// grad *= 1/N and one step. This is the arithmetic of a deterministic data-parallel step.
inline void train_sharded_reference(nn::Module& model, optim::Optimizer& opt, const std::shared_ptr<data::TensorDataset>& data,
                                    std::int64_t per_rank_batch, int ranks, std::int64_t epochs, std::uint64_t seed) {
  const data::DataLoader loader(data, {.batch_size = 1, .shuffle = true, .seed = seed});
  const std::int64_t n = data->size();
  const std::int64_t global = per_rank_batch * ranks;
  for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
    const std::vector<std::int64_t> order = loader.order(epoch);
    for (std::int64_t start = 0; start < n; start += global) {
      opt.zero_grad();
      for (int r = 0; r < ranks; ++r) {
        std::vector<std::int64_t> idx;
        for (std::int64_t p = start + r; p < std::min(start + global, n); p += ranks)
          idx.push_back(order[static_cast<std::size_t>(p)]);
        const data::Batch b = data->get_batch(idx);
        cross_entropy(model(b.input), b.target).backward();
      }
      NoGradGuard no_grad;
      for (Tensor p : model.parameters())
        if (p.grad().defined()) {
          Tensor g = p.grad();
          g.mul_(1.0 / static_cast<double>(ranks));
        }
      opt.step();
    }
  }
}

/// Largest |a - b| over the two modules' parameters (same structure).
inline double max_param_diff(const nn::Module& a, const nn::Module& b) {
  const TensorList pa = a.parameters(), pb = b.parameters();
  REQUIRE(pa.size() == pb.size());
  double m = 0.0;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    const auto va = pa[i].to_vector<double>(), vb = pb[i].to_vector<double>();
    REQUIRE(va.size() == vb.size());
    for (std::size_t k = 0; k < va.size(); ++k) m = std::max(m, std::abs(va[k] - vb[k]));
  }
  return m;
}

/// True when the two modules' parameters are bit-for-bit equal.
inline bool same_bits(const nn::Module& a, const nn::Module& b) {
  const TensorList pa = a.parameters(), pb = b.parameters();
  if (pa.size() != pb.size()) return false;
  for (std::size_t i = 0; i < pa.size(); ++i)
    if (pa[i].to_vector<double>() != pb[i].to_vector<double>()) return false;
  return true;
}

/// True when every rank holds bit-identical weights and buffers.
inline bool ranks_in_sync(const nn::Module& m) {
  const auto hashes = dist::all_gather_state_hash(m);
  for (auto h : hashes)
    if (h != hashes[0]) return false;
  return true;
}

/// A test that needs at least `n` ranks returns early (on every rank alike) with fewer.
#define XGRAD_REQUIRE_RANKS(n)                                                                   \
  if (::xgrad::distributed::world_size() < (n)) {                                                \
    MESSAGE("skipped: needs at least " << (n) << " ranks (run under mpirun -np " << (n) << ")"); \
    return;                                                                                      \
  }

}  // namespace xgrad::mpitest
