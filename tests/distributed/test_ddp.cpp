// DistributedDataParallel: N ranks with per-rank batch B against one process with batch N·B (computed on
// every rank, independently of MPI), bucketing, unused parameters, no_sync, model checks, fit().
#include <sstream>

#include "mpi_util.hpp"

using namespace xgrad;
using namespace xgrad::mpitest;

namespace {
constexpr std::int64_t kFeatures = 6, kClasses = 3, kPerRank = 4, kEpochs = 3;
constexpr std::uint64_t kSeed = 2024;
// 60 samples: with N = 2 or 4 each epoch ends with a smaller batch (60 = 3·16 + 12 = 7·8 + 4).
constexpr std::int64_t kSamples = 60;
}  // namespace

TEST_CASE("DDP float64: N ranks with batch B take the steps of one process with batch N·B (round-off)") {
  const int n = dist::world_size();
  const auto data = make_data(kSamples, kFeatures, kClasses, kFloat64);
  auto model = make_mlp(kFeatures, kClasses, kFloat64);
  dist::DistributedDataParallel ddp(model);
  auto sgd = make_sgd(ddp.parameters());
  train_ddp(ddp, sgd, data, kPerRank, kEpochs, kSeed);

  auto single = make_mlp(kFeatures, kClasses, kFloat64);
  auto sgd1 = make_sgd(single->parameters());
  train_single(*single, sgd1, data, kPerRank * n, kEpochs, kSeed);

  const double diff = max_param_diff(*model, *single);
  INFO("max |ddp - single| = " << diff);
  CHECK(diff < 1e-12);
  CHECK(ranks_in_sync(*model));
  CHECK(ddp.stats().reductions == kEpochs * ((kSamples / n + kPerRank - 1) / kPerRank));
  // the models moved: the comparison is not vacuous
  auto untrained = make_mlp(kFeatures, kClasses, kFloat64);
  CHECK(max_param_diff(*model, *untrained) > 1e-2);
}

TEST_CASE("DDP deterministic float64: bit-identical to one process that sums the N shards' gradients in rank order") {
  const int n = dist::world_size();
  const auto data = make_data(kSamples, kFeatures, kClasses, kFloat64);
  auto model = make_mlp(kFeatures, kClasses, kFloat64);
  dist::DistributedDataParallel ddp(model, {.bucket_cap_bytes = 256, .deterministic = true});
  CHECK(ddp.bucket_count() > 1);
  auto sgd = make_sgd(ddp.parameters());
  train_ddp(ddp, sgd, data, kPerRank, kEpochs, kSeed);

  auto reference = make_mlp(kFeatures, kClasses, kFloat64);
  auto sgd1 = make_sgd(reference->parameters());
  train_sharded_reference(*reference, sgd1, data, kPerRank, n, kEpochs, kSeed);
  CHECK(same_bits(*model, *reference));
  CHECK(ranks_in_sync(*model));
  // and within round-off of the plain large-batch run
  auto single = make_mlp(kFeatures, kClasses, kFloat64);
  auto sgd2 = make_sgd(single->parameters());
  train_single(*single, sgd2, data, kPerRank * n, kEpochs, kSeed);
  CHECK(max_param_diff(*model, *single) < 1e-12);
}

TEST_CASE("DDP float32 with small buckets: the same steps as one bucket, and as the large batch within float round-off") {
  const int n = dist::world_size();
  const auto data = make_data(kSamples, kFeatures, kClasses, kFloat32);
  auto small = make_mlp(kFeatures, kClasses, kFloat32);
  dist::DistributedDataParallel ddp_small(small, {.bucket_cap_bytes = 64});
  auto big = make_mlp(kFeatures, kClasses, kFloat32);
  dist::DistributedDataParallel ddp_big(big);
  CHECK(ddp_small.bucket_count() == 4);  // 64 bytes: every parameter in a bucket of its own
  CHECK(ddp_big.bucket_count() == 1);
  // reverse registration order: the last layer's gradients come first in backward
  CHECK(ddp_big.bucket_parameter_names()[0] == std::vector<std::string>{"2.bias", "2.weight", "0.bias", "0.weight"});
  CHECK(ddp_big.bytes_per_reduction() == 4 * (kFeatures * 16 + 16 + 16 * kClasses + kClasses));
  auto s1 = make_sgd(ddp_small.parameters());
  auto s2 = make_sgd(ddp_big.parameters());
  train_ddp(ddp_small, s1, data, kPerRank, kEpochs, kSeed);
  train_ddp(ddp_big, s2, data, kPerRank, kEpochs, kSeed);
  CHECK(max_param_diff(*small, *big) < 1e-5);
  if (n <= 2) CHECK(same_bits(*small, *big));  // with two ranks every all-reduce is g_0 + g_1
  auto single = make_mlp(kFeatures, kClasses, kFloat32);
  auto s3 = make_sgd(single->parameters());
  train_single(*single, s3, data, kPerRank * n, kEpochs, kSeed);
  CHECK(max_param_diff(*big, *single) < 1e-4);
  CHECK(ranks_in_sync(*small));
}

TEST_CASE("DDP with SyncBatchNorm equals one process with BatchNorm1d on the large batch (float64)") {
  const int n = dist::world_size();
  const auto data = make_data(kSamples, kFeatures, kClasses, kFloat64);
  auto model = make_mlp(kFeatures, kClasses, kFloat64, Norm::sync);
  dist::DistributedDataParallel ddp(model);
  auto sgd = make_sgd(ddp.parameters());
  train_ddp(ddp, sgd, data, kPerRank, kEpochs, kSeed);
  auto single = make_mlp(kFeatures, kClasses, kFloat64, Norm::batch);
  auto sgd1 = make_sgd(single->parameters());
  train_single(*single, sgd1, data, kPerRank * n, kEpochs, kSeed);
  CHECK(max_param_diff(*model, *single) < 1e-11);
  // the running statistics are those of the large batches, on every rank
  CHECK(max(abs(model->buffer("1.running_mean") - single->buffer("1.running_mean"))).item<double>() < 1e-11);
  CHECK(max(abs(model->buffer("1.running_var") - single->buffer("1.running_var"))).item<double>() < 1e-11);
  CHECK(ranks_in_sync(*model));
}

TEST_CASE("DDP with per-rank BatchNorm: the steps of one process whose shards are normalized separately") {
  const int n = dist::world_size();
  const auto data = make_data(kSamples, kFeatures, kClasses, kFloat64);
  auto model = make_mlp(kFeatures, kClasses, kFloat64, Norm::batch);
  dist::DistributedDataParallel ddp(model, {.deterministic = true});
  auto sgd = make_sgd(ddp.parameters());
  train_ddp(ddp, sgd, data, kPerRank, kEpochs, kSeed);
  auto reference = make_mlp(kFeatures, kClasses, kFloat64, Norm::batch);
  auto sgd1 = make_sgd(reference->parameters());
  train_sharded_reference(*reference, sgd1, data, kPerRank, n, kEpochs, kSeed);
  CHECK(same_bits(*model, *reference));  // batch statistics per shard, gradients summed in rank order
  // rank 0's running statistics were broadcast at every forward: after one more forward in training
  // mode under NoGradGuard nothing is synchronized (no backward follows), so sync explicitly and check.
  dist::broadcast_parameters(*model);
  CHECK(ranks_in_sync(*model));
}

TEST_CASE("DDP: a parameter without gradient stops the next forward with its name; find_unused_parameters handles it") {
  struct TwoHeads : nn::Module {
    std::shared_ptr<nn::Linear> body, head_a, head_b;
    TwoHeads() {
      manual_seed(3);
      body = register_module("body", std::make_shared<nn::Linear>(4, 8, true, kFloat64));
      head_a = register_module("head_a", std::make_shared<nn::Linear>(8, 2, true, kFloat64));
      head_b = register_module("head_b", std::make_shared<nn::Linear>(8, 2, true, kFloat64));
    }
    Tensor forward(const Tensor& x) override { return (*head_a)(tanh((*body)(x))); }  // head_b unused
  };
  manual_seed(9);
  const Tensor x = randn({6, 4}, kFloat64) + dist::rank();
  const Tensor y = randint(0, 2, {6});
  {
    dist::DistributedDataParallel ddp(std::make_shared<TwoHeads>());
    cross_entropy(ddp(x), y).backward();
    try {
      ddp(x);
      FAIL("expected a DistributedError");
    } catch (const dist::DistributedError& e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find("2 parameter(s) received no gradient ('head_b.bias', 'head_b.weight')") != std::string::npos);
      CHECK(msg.find("find_unused_parameters") != std::string::npos);
    }
  }
  auto model = std::make_shared<TwoHeads>();
  dist::DistributedDataParallel ddp(model, {.find_unused_parameters = true});
  for (int step = 0; step < 2; ++step) {
    ddp.zero_grad();
    cross_entropy(ddp(x), y).backward();
  }
  CHECK(ddp.stats().reductions == 2);
  CHECK(model->head_b->weight().grad().abs().sum().item<double>() == 0.0);
  // the used parameters hold the average of the ranks' gradients: compare with an explicit all-reduce
  auto local = std::make_shared<TwoHeads>();
  cross_entropy((*local)(x), y).backward();
  Tensor g = local->body->weight().grad().clone();
  dist::all_reduce(g, dist::ReduceOp::mean);
  CHECK(max(abs(model->body->weight().grad() - g)).item<double>() < 1e-14);
}

TEST_CASE("DDP: no_sync accumulates locally; the next synchronized backward averages the sum") {
  const auto data = make_data(16, kFeatures, kClasses, kFloat64);
  manual_seed(40 + static_cast<std::uint64_t>(dist::rank()));
  const Tensor x1 = randn({4, kFeatures}, kFloat64), x2 = randn({4, kFeatures}, kFloat64);
  const Tensor y1 = randint(0, kClasses, {4}), y2 = randint(0, kClasses, {4});
  auto model = make_mlp(kFeatures, kClasses, kFloat64);
  dist::DistributedDataParallel ddp(model);
  {
    dist::DistributedDataParallel::NoSyncGuard guard(ddp);
    cross_entropy(ddp(x1), y1).backward();
  }
  cross_entropy(ddp(x2), y2).backward();
  CHECK(ddp.stats().reductions == 1);
  auto local = make_mlp(kFeatures, kClasses, kFloat64);
  cross_entropy((*local)(x1), y1).backward();
  cross_entropy((*local)(x2), y2).backward();
  const TensorList pd = model->parameters(), pl = local->parameters();
  for (std::size_t i = 0; i < pd.size(); ++i) {
    Tensor g = pl[i].grad().clone();
    dist::all_reduce(g, dist::ReduceOp::mean);
    CHECK(max(abs(pd[i].grad() - g)).item<double>() < 1e-14);
  }
}

TEST_CASE("DDP: a second backward after one forward is refused (the ranks would drift apart)") {
  auto model = make_mlp(kFeatures, kClasses, kFloat64);
  dist::DistributedDataParallel ddp(model);
  manual_seed(1);
  const Tensor x = randn({4, kFeatures}, kFloat64);
  const Tensor loss = ddp(x).square().sum();
  loss.backward({}, {.retain_graph = true});
  try {
    loss.backward();
    FAIL("expected a DistributedError");
  } catch (const dist::DistributedError& e) {
    CHECK(std::string(e.what()).find("arrived outside of a synchronized step") != std::string::npos);
  }
}

TEST_CASE("DDP: mismatched models stop every rank at construction, naming the parameter") {
  XGRAD_REQUIRE_RANKS(2);
  auto model = make_mlp(dist::rank() == 1 ? kFeatures + 1 : kFeatures, kClasses, kFloat64);
  try {
    dist::DistributedDataParallel ddp(model);
    FAIL("expected a DistributedError");
  } catch (const dist::DistributedError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("DistributedDataParallel: the model differs between ranks") != std::string::npos);
    CHECK(msg.find("rank 1 has parameter '0.weight' of (16, 7) float64, rank 0 has (16, 6) float64") != std::string::npos);
  }
  // a different dtype
  auto m32 = make_mlp(kFeatures, kClasses, dist::rank() == 1 ? kFloat32 : kFloat64);
  CHECK_THROWS_AS(dist::DistributedDataParallel{m32}, dist::DistributedError);
}

TEST_CASE("DDP construction broadcasts rank 0's weights") {
  auto model = make_mlp(kFeatures, kClasses, kFloat64, Norm::batch, /*seed=*/50 + static_cast<std::uint64_t>(dist::rank()));
  dist::DistributedDataParallel ddp(model);
  CHECK(ranks_in_sync(*model));
  auto rank0 = make_mlp(kFeatures, kClasses, kFloat64, Norm::batch, 50);
  CHECK(same_bits(*model, *rank0));
  CHECK(ddp.name() ==
        fmt::format("DistributedDataParallel(world_size={}, buckets=1, bucket_cap_bytes=1048576)", dist::world_size()));
  std::ostringstream os;
  os << ddp;
  CHECK(os.str().find("(module): Sequential(") != std::string::npos);
}

TEST_CASE("DDP with train::fit and ShardedDataset: the same run as fit() with batch N·B in one process") {
  const int n = dist::world_size();
  const auto data = make_data(kSamples, kFeatures, kClasses, kFloat64);
  auto model = make_mlp(kFeatures, kClasses, kFloat64);
  dist::DistributedDataParallel ddp(model);
  auto sgd = make_sgd(ddp.parameters());
  dist::ShardedDataset shard(data, {.shuffle = true, .seed = kSeed});
  CHECK(shard.size() == kSamples / n);
  train::History h = train::fit(
      ddp, train::losses::cross_entropy, sgd, shard,
      train::FitOptions().epochs(kEpochs).batch_size(kPerRank).shuffle(false).verbose(0).callback(shard.epoch_callback()));
  CHECK(h.loss().size() == static_cast<std::size_t>(kEpochs));
  auto single = make_mlp(kFeatures, kClasses, kFloat64);
  auto sgd1 = make_sgd(single->parameters());
  train::fit(*single, train::losses::cross_entropy, sgd1, *data,
             train::FitOptions().epochs(kEpochs).batch_size(kPerRank * n).seed(kSeed).verbose(0));
  CHECK(max_param_diff(*model, *single) < 1e-12);
}

TEST_CASE("DistributedSampler: disjoint equal shards that cover the epoch, DataLoader's order, padding") {
  const int n = dist::world_size();
  dist::DistributedSampler s(10, {.shuffle = true, .seed = 99});
  const std::int64_t per = (10 + n - 1) / n;
  CHECK(s.num_samples() == per);
  const data::DataLoader loader(std::make_shared<data::TensorDataset>(zeros({10, 1}), Tensor()),
                                {.batch_size = 1, .shuffle = true, .seed = 99});
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::int64_t> order = loader.order(epoch);
    for (std::size_t i = 0; order.size() < static_cast<std::size_t>(per * n); ++i) order.push_back(order[i]);
    std::vector<std::int64_t> seen;
    for (int r = 0; r < n; ++r) {
      const dist::DistributedSampler other(10, {.shuffle = true, .seed = 99}, n, r);
      const auto idx = other.indices(epoch);
      REQUIRE(static_cast<std::int64_t>(idx.size()) == per);
      for (std::int64_t j = 0; j < per; ++j)
        CHECK(idx[static_cast<std::size_t>(j)] == order[static_cast<std::size_t>(r + n * j)]);
      seen.insert(seen.end(), idx.begin(), idx.end());
    }
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    CHECK(seen.size() == 10);  // every sample, each shard of the same size
  }
  CHECK(s.indices(0) != s.indices(1));
  const dist::DistributedSampler cut(10, {.shuffle = false, .drop_last = true}, 4, 1);
  CHECK(cut.indices(0) == std::vector<std::int64_t>{1, 5});
  CHECK_THROWS_AS(dist::DistributedSampler(10, {}, 2, 2), ValueError);
  // without a seed, rank 0's draw is shared
  manual_seed(static_cast<std::uint64_t>(dist::rank()));
  const dist::DistributedSampler drawn(10);
  const Tensor seeds = dist::all_gather(tensor({static_cast<double>(drawn.seed() >> 20)}, kFloat64));
  for (double v : seeds.to_vector<double>()) CHECK(v == seeds.to_vector<double>()[0]);
}
