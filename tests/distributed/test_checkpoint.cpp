// Checkpoints in a data-parallel job: written by rank 0 only, atomically; every rank resumes from them,
// and the resumed run continues bit-exactly.
#include <unistd.h>

#include <filesystem>

#include "mpi_util.hpp"

using namespace xgrad;
using namespace xgrad::mpitest;

namespace {
// A directory shared by the ranks of this job (they run on one machine): named after rank 0's pid.
std::string job_dir(const std::string& name) {
  Tensor pid = tensor({static_cast<double>(getpid())}, kFloat64);
  dist::broadcast(pid, 0);
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("xgrad_mpi_{}_{}", static_cast<long long>(pid.item<double>()), name);
  if (dist::rank() == 0) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  dist::barrier();
  return dir.string();
}
}  // namespace

TEST_CASE("distributed checkpoints: rank 0 writes, every rank resumes, the run continues bit-exactly") {
  const auto data = make_data(48, 5, 3, kFloat64);
  const std::string dir = job_dir("resume");
  const std::string path = dir + "/ckpt.safetensors";

  // uninterrupted: 4 epochs
  auto full = make_mlp(5, 3, kFloat64, Norm::batch);
  dist::DistributedDataParallel ddp_full(full, {.deterministic = true});
  auto sgd_full = make_sgd(ddp_full.parameters());
  train_ddp(ddp_full, sgd_full, data, 4, 4, 77);

  // interrupted after 2 epochs: save, then a fresh model/optimizer on every rank loads and trains epochs 2..3
  {
    auto first = make_mlp(5, 3, kFloat64, Norm::batch);
    dist::DistributedDataParallel ddp(first, {.deterministic = true});
    auto sgd = make_sgd(ddp.parameters());
    train_ddp(ddp, sgd, data, 4, 2, 77);
    dist::save_checkpoint(path, ddp, sgd, {{"epoch", 2.0}});
  }
  CHECK(std::filesystem::exists(path));
  // the file has the names of a single-process model (no "module." prefix)
  const train::Checkpoint ck = train::load_safetensors(path);
  CHECK(ck.tensors.count("model.0.weight") == 1);
  CHECK(ck.tensors.count("model.1.running_mean") == 1);

  auto resumed = make_mlp(5, 3, kFloat64, Norm::batch, /*seed=*/900 + static_cast<std::uint64_t>(dist::rank()));
  dist::DistributedDataParallel ddp(resumed, {.deterministic = true});
  auto sgd = make_sgd(ddp.parameters());
  const train::Scalars s = dist::load_checkpoint(path, ddp, sgd);
  CHECK(s.at("epoch") == 2.0);
  CHECK(ranks_in_sync(*resumed));
  // continue with epochs 2 and 3 of the same sampler
  dist::DistributedSampler sampler(data->size(), {.shuffle = true, .seed = 77});
  for (std::int64_t epoch = 2; epoch < 4; ++epoch) {
    data::DataLoader loader(std::make_shared<data::Subset>(data, sampler.indices(epoch)), {.batch_size = 4});
    for (const data::Batch& b : loader) {
      sgd.zero_grad();
      cross_entropy(ddp(b.input), b.target).backward();
      sgd.step();
    }
  }
  CHECK(same_bits(*resumed, *full));

  // a single process can read the same file
  auto solo = make_mlp(5, 3, kFloat64, Norm::batch, 5);
  train::load_checkpoint(path, *solo);
  dist::barrier();  // every rank has read the file before rank 0 removes it
  if (dist::rank() == 0) std::filesystem::remove_all(dir);
}

TEST_CASE("distributed checkpoints: a failed write on rank 0 is an error on every rank; a missing file too") {
  auto model = make_mlp(5, 3, kFloat64);
  dist::DistributedDataParallel ddp(model);
  try {
    dist::save_checkpoint("/nonexistent-dir/x/ckpt.safetensors", ddp);
    FAIL("expected a DistributedError");
  } catch (const dist::DistributedError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("rank 0 could not write '/nonexistent-dir/x/ckpt.safetensors'") != std::string::npos);
  }
  try {
    dist::load_checkpoint("/nonexistent-dir/none.safetensors", ddp);
    FAIL("expected a DistributedError");
  } catch (const dist::DistributedError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("failed on rank 0:") != std::string::npos);
  }
}
