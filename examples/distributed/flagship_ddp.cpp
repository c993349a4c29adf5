// The flagship trained data-parallel over MPI: the same model and recipe as examples/flagship.cpp
// (784-256-128-10 MLP with BatchNorm and Dropout 0.2, SGD Nesterov 0.9, lr 0.05 cosine, weight decay
// 1e-4, batch 128, standardized inputs, 10 epochs), with every rank training on its shard of each batch
// and DistributedDataParallel averaging the gradients.
//
//   mpirun -np 2 build/examples/flagship_ddp [--epochs N] [--batch B] [--sync-bn] [--bucket-kib K]
//          [--data DIR] [--out DIR] [--resume FILE] [--min-accuracy A]
//
// --batch is the global batch (default 128, the recipe's: each of the N ranks takes 128/N samples per
// step, so the run takes the same steps as one process, strong scaling); --per-rank-batch B sets the
// per-rank batch instead (global batch N·B, weak scaling). --sync-bn uses SyncBatchNorm (statistics of
// the global batch) instead of per-rank BatchNorm. Rank 0 writes DIR/checkpoint.safetensors after
// every epoch (atomically); --resume continues from such a file. Exits with status 3 when
// --min-accuracy is given and the final test accuracy is below it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <xgrad/autograd/threads.hpp>
#include <xgrad/distributed/distributed.hpp>
#include <xgrad/xgrad.hpp>

using namespace xgrad;
namespace dist = xgrad::distributed;

namespace {

struct Args {
  int epochs = 10;
  std::int64_t batch = 128;
  std::int64_t per_rank_batch = 0;
  bool sync_bn = false;
  std::int64_t bucket_kib = 1024;
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string out = "flagship_ddp_out";
  std::string resume;
  double min_accuracy = -1.0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) dist::abort("flagship_ddp: " + k + " needs a value", 2);
      return argv[++i];
    };
    if (k == "--epochs")
      a.epochs = std::stoi(value());
    else if (k == "--batch")
      a.batch = std::stoll(value());
    else if (k == "--per-rank-batch")
      a.per_rank_batch = std::stoll(value());
    else if (k == "--sync-bn")
      a.sync_bn = true;
    else if (k == "--bucket-kib")
      a.bucket_kib = std::stoll(value());
    else if (k == "--data")
      a.data = value();
    else if (k == "--out")
      a.out = value();
    else if (k == "--resume")
      a.resume = value();
    else if (k == "--min-accuracy")
      a.min_accuracy = std::stod(value());
    else
      dist::abort("flagship_ddp: unknown option " + k, 2);
  }
  return a;
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Test accuracy (%): each rank evaluates its slice of the test set; the counts are summed.
double accuracy(nn::Module& model, const Tensor& inputs, const Tensor& labels) {
  NoGradGuard no_grad;
  model.eval();
  const std::int64_t n = inputs.size(0), ranks = dist::world_size(), r = dist::rank();
  const std::int64_t begin = n * r / ranks, end = n * (r + 1) / ranks;
  double correct = 0.0;
  for (std::int64_t start = begin; start < end; start += 1000) {
    const std::int64_t len = std::min<std::int64_t>(1000, end - start);
    const Tensor pred = argmax(model(narrow(inputs, 0, start, len)), 1);
    correct += static_cast<double>(sum(eq(pred, narrow(labels, 0, start, len))).item<std::int64_t>());
  }
  model.train();
  return 100.0 * dist::all_reduce(correct) / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  const Args args = parse(argc, argv);
  set_num_threads(1);  // one BLAS thread per rank
  const int rank = dist::rank(), ranks = dist::world_size();
  const bool root = rank == 0;
  const std::int64_t per_rank = args.per_rank_batch > 0 ? args.per_rank_batch : args.batch / ranks;
  if (per_rank < 2 || (args.per_rank_batch == 0 && args.batch % ranks != 0))
    dist::abort("flagship_ddp: the global batch " + std::to_string(args.batch) + " must be a multiple of the " +
                    std::to_string(ranks) + " ranks with at least 2 samples per rank",
                2);

  data::MnistData d;
  try {
    d = data::load_fashion_mnist(args.data);
  } catch (const Error& e) {
    dist::abort(std::string("flagship_ddp: ") + e.what() + " (install Debian's dataset-fashion-mnist, or pass --data DIR)");
  }
  const double mu = mean(d.train_images).item<double>();
  const double sigma = xgrad::std(d.train_images, {}, false).item<double>();
  const Tensor train_x = (d.train_images - mu) / sigma;
  const Tensor test_x = (d.test_images - mu) / sigma;
  auto train_set = std::make_shared<data::TensorDataset>(train_x, d.train_labels);

  manual_seed(0);  // the same initial weights as the single-process flagship (DDP broadcasts rank 0's anyway)
  auto norm = [&](std::int64_t features) -> nn::ModulePtr {
    if (args.sync_bn) return std::make_shared<dist::SyncBatchNorm>(features);
    return std::make_shared<nn::BatchNorm1d>(features);
  };
  auto model = std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
      std::make_shared<nn::Linear>(784, 256), norm(256), std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.2),
      std::make_shared<nn::Linear>(256, 128), norm(128), std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.2),
      std::make_shared<nn::Linear>(128, 10)});
  dist::DistributedDataParallel ddp(model, {.bucket_cap_bytes = args.bucket_kib * 1024});
  optim::SGD sgd(ddp.parameters(), optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-4));
  optim::CosineAnnealingLR schedule(sgd, args.epochs);
  int first_epoch = 0;
  if (!args.resume.empty()) first_epoch = static_cast<int>(dist::load_checkpoint(args.resume, ddp, sgd, schedule).at("epoch"));

  dist::DistributedSampler sampler(train_set->size(), {.shuffle = true, .seed = 0});
  const std::int64_t steps = (sampler.num_samples() + per_rank - 1) / per_rank;
  if (root) {
    std::printf("xgrad flagship_ddp: Fashion-MNIST, MLP 784-256-128-10, %d ranks x batch %lld = global batch %lld, %s\n", ranks,
                static_cast<long long>(per_rank), static_cast<long long>(per_rank * ranks),
                args.sync_bn ? "SyncBatchNorm" : "per-rank BatchNorm");
    std::printf("%lld steps per epoch; %lld gradient bytes all-reduced per step in %lld bucket(s)\n",
                static_cast<long long>(steps), static_cast<long long>(ddp.bytes_per_reduction()),
                static_cast<long long>(ddp.bucket_count()));
    std::filesystem::create_directories(args.out);
  }
  std::ofstream curves;
  if (root) {
    curves.open(args.out + "/curves.csv");
    curves << "epoch,train_loss,train_accuracy,test_accuracy,lr,seconds,train_seconds,comm_wait_seconds\n";
  }

  double test_acc = 0.0;
  const auto t_start = std::chrono::steady_clock::now();
  for (int epoch = first_epoch; epoch < args.epochs; ++epoch) {
    manual_seed(static_cast<std::uint64_t>(1000 * (epoch + 1) + rank));  // dropout: a stream per rank and epoch (resumable)
    const auto t0 = std::chrono::steady_clock::now();
    const double wait0 = ddp.stats().wait_seconds;
    const double lr = schedule.get_last_lr()[0];
    double loss_sum = 0.0, correct = 0.0, seen = 0.0;
    data::DataLoader loader(std::make_shared<data::Subset>(train_set, sampler.indices(epoch)), {.batch_size = per_rank});
    for (const data::Batch& batch : loader) {
      const Tensor logits = ddp(batch.input);
      const Tensor loss = cross_entropy(logits, batch.target);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      const auto n = static_cast<double>(batch.input.size(0));
      loss_sum += loss.item<double>() * n;
      seen += n;
      NoGradGuard no_grad;
      correct += static_cast<double>(sum(eq(argmax(logits, 1), batch.target)).item<std::int64_t>());
    }
    const double train_secs = seconds(t0);
    schedule.step();
    dist::broadcast_parameters(*model);  // rank 0's running statistics for evaluation (weights already agree)
    test_acc = accuracy(*model, test_x, d.test_labels);
    const double secs = seconds(t0);
    const double wait = ddp.stats().wait_seconds - wait0;
    loss_sum = dist::all_reduce(loss_sum);
    correct = dist::all_reduce(correct);
    seen = dist::all_reduce(seen);
    dist::save_checkpoint(args.out + "/checkpoint.safetensors", ddp, sgd, schedule, {{"epoch", epoch + 1.0}});
    if (root) {
      std::printf("epoch %2d/%d  loss %.4f  train acc %5.2f%%  test acc %5.2f%%  lr %.4f  %.1fs (train %.1fs, comm wait %.2fs)\n",
                  epoch + 1, args.epochs, loss_sum / seen, 100.0 * correct / seen, test_acc, lr, secs, train_secs, wait);
      std::fflush(stdout);
      curves << epoch + 1 << ',' << loss_sum / seen << ',' << 100.0 * correct / seen << ',' << test_acc << ',' << lr << ','
             << secs << ',' << train_secs << ',' << wait << '\n';
    }
  }
  const double total = seconds(t_start);
  if (root) {
    curves.close();
    train::TensorMap weights;
    for (const auto& item : model->state_dict()) weights.emplace(item.key, item.value);
    train::save_safetensors(args.out + "/model.safetensors", weights, {{"test_accuracy", std::to_string(test_acc)}});
    std::printf("final test accuracy %.2f%% after %d epochs in %.1f s on %d ranks\n", test_acc, args.epochs, total, ranks);
  }
  if (args.min_accuracy >= 0.0 && test_acc < args.min_accuracy) {
    if (root)
      std::fprintf(stderr, "flagship_ddp: test accuracy %.2f%% is below the required %.2f%%\n", test_acc, args.min_accuracy);
    return 3;
  }
  return 0;
}
