// The flagship: an MNIST-style classifier (784 inputs, 10 outputs, as deck 002 describes) trained on
// Fashion-MNIST from Debian's dataset-fashion-mnist package.
//
// Recipe (PyTorch reaches 89.6% test accuracy with it): 784-256-128-10 MLP, BatchNorm and Dropout 0.2
// after each hidden layer, ReLU, SGD with Nesterov momentum 0.9, lr 0.05 with cosine decay (per step) over the
// epochs, weight decay 1e-4, batch 128, standardized inputs, 10 epochs.
//
// Writes flagship_out/model.safetensors (the trained weights, readable from Python) and
// flagship_out/curves.csv (+ curves.png when gnuplot is installed).
//
// Usage: flagship [--epochs N] [--data DIR] [--out DIR] [--threads T] [--seed S]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <xgrad/autograd/threads.hpp>
#include <xgrad/xgrad.hpp>

using namespace xgrad;

namespace {

struct Args {
  int epochs = 10;
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string out = "flagship_out";
  int threads = 1;
  std::uint64_t seed = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--epochs") a.epochs = std::stoi(v);
    else if (k == "--data") a.data = v;
    else if (k == "--out") a.out = v;
    else if (k == "--threads") a.threads = std::stoi(v);
    else if (k == "--seed") a.seed = std::stoull(v);
    else {
      std::fprintf(stderr, "flagship: unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

// Accuracy (%) of the model on (inputs, labels), evaluated in batches without recording a graph.
double accuracy(nn::Module& model, const Tensor& inputs, const Tensor& labels) {
  NoGradGuard no_grad;
  model.eval();
  std::int64_t correct = 0;
  const std::int64_t n = inputs.size(0);
  for (std::int64_t start = 0; start < n; start += 1000) {
    const std::int64_t len = std::min<std::int64_t>(1000, n - start);
    const Tensor pred = argmax(model(narrow(inputs, 0, start, len)), 1);
    correct += sum(eq(pred, narrow(labels, 0, start, len))).item<std::int64_t>();
  }
  model.train();
  return 100.0 * static_cast<double>(correct) / static_cast<double>(n);
}

void progress(int epoch, int epochs, std::int64_t done, std::int64_t total, double loss, double seconds) {
  const int width = 30;
  const int filled = static_cast<int>(width * done / total);
  const double eta = done > 0 ? seconds / static_cast<double>(done) * static_cast<double>(total - done) : 0.0;
  std::printf("\repoch %2d/%d [%.*s%*s] %3lld/%lld  loss %.4f  eta %4.1fs", epoch, epochs, filled,
              "==============================", width - filled, "", static_cast<long long>(done), static_cast<long long>(total), loss, eta);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  set_num_threads(args.threads);
  manual_seed(args.seed);

  std::printf("xgrad flagship: Fashion-MNIST, MLP 784-256-128-10 with BatchNorm + Dropout 0.2\n");
  data::MnistData d;
  try {
    d = data::load_fashion_mnist(args.data);
  } catch (const Error& e) {
    std::fprintf(stderr, "flagship: %s\n(install Debian's dataset-fashion-mnist, or pass --data DIR)\n", e.what());
    return 1;
  }
  // Standardize with the training set's mean and standard deviation (one value for all pixels).
  const double mu = mean(d.train_images).item<double>();
  const double sigma = xgrad::std(d.train_images, {}, false).item<double>();
  const Tensor train_x = (d.train_images - mu) / sigma;
  const Tensor test_x = (d.test_images - mu) / sigma;
  std::printf("data: %lld training and %lld test images, standardized with mean %.4f and std %.4f\n",
              static_cast<long long>(train_x.size(0)), static_cast<long long>(test_x.size(0)), mu, sigma);

  nn::Sequential model(nn::Linear(784, 256), nn::BatchNorm1d(256), nn::ReLU(), nn::Dropout(0.2),  //
                       nn::Linear(256, 128), nn::BatchNorm1d(128), nn::ReLU(), nn::Dropout(0.2),  //
                       nn::Linear(128, 10));
  std::printf("%s", model.summary({128, 784}).c_str());

  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-4));
  data::DataLoader loader(data::TensorDataset(train_x, d.train_labels), {.batch_size = 128, .shuffle = true, .seed = args.seed});
  // Cosine decay per step: the learning rate falls smoothly from 0.05 to 0 over all epochs * 469 updates.
  optim::CosineAnnealingLR schedule(sgd, static_cast<std::int64_t>(args.epochs) * static_cast<std::int64_t>(loader.size()));
  const bool tty = isatty(fileno(stdout)) != 0;

  std::filesystem::create_directories(args.out);
  std::ofstream curves(args.out + "/curves.csv");
  curves << "epoch,train_loss,train_accuracy,test_accuracy,lr,seconds\n";
  double test_acc = 0.0;
  const auto t_start = std::chrono::steady_clock::now();
  for (int epoch = 1; epoch <= args.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = schedule.get_last_lr()[0];
    double loss_sum = 0.0;
    std::int64_t seen = 0, correct = 0, batches = 0;
    const std::int64_t total = static_cast<std::int64_t>(loader.size());
    for (const data::Batch& batch : loader) {
      const Tensor logits = model(batch.input);
      const Tensor loss = cross_entropy(logits, batch.target);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      schedule.step();
      const std::int64_t n = batch.input.size(0);
      loss_sum += loss.item<double>() * static_cast<double>(n);
      seen += n;
      {
        NoGradGuard no_grad;
        correct += sum(eq(argmax(logits, 1), batch.target)).item<std::int64_t>();
      }
      ++batches;
      if (tty && (batches % 10 == 0 || batches == total))
        progress(epoch, args.epochs, batches, total, loss_sum / static_cast<double>(seen),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    test_acc = accuracy(model, test_x, d.test_labels);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double train_loss = loss_sum / static_cast<double>(seen);
    const double train_acc = 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
    if (tty) std::printf("\r%*s\r", 90, "");
    std::printf("epoch %2d/%d  loss %.4f  train acc %5.2f%%  test acc %5.2f%%  lr %.4f  %.1fs\n", epoch, args.epochs,
                train_loss, train_acc, test_acc, lr, secs);
    std::fflush(stdout);
    curves << epoch << ',' << train_loss << ',' << train_acc << ',' << test_acc << ',' << lr << ',' << secs << '\n';
  }
  curves.close();
  const double total_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  train::save_weights(args.out + "/model.safetensors", model,
                      {{"recipe", "784-256-128-10 BatchNorm Dropout0.2 SGD-nesterov lr0.05 cosine wd1e-4 batch128"},
                       {"test_accuracy", std::to_string(test_acc)}});
  std::printf("final test accuracy %.2f%% after %d epochs in %.1f s\n", test_acc, args.epochs, total_secs);
  std::printf("saved %s/model.safetensors and %s/curves.csv\n", args.out.c_str(), args.out.c_str());

  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    const std::string cmd = "gnuplot -e \"set terminal png noenhanced size 800,500; set output '" + args.out +
                            "/curves.png'; set datafile separator ','; set key autotitle columnhead; set key center right; set title 'Fashion-MNIST, 784-256-128-10 MLP'; set xlabel 'epoch';"
                            " set ylabel 'accuracy (%)'; set y2label 'loss'; set y2tics; plot '" +
                            args.out + "/curves.csv' using 1:3 with linespoints, '' using 1:4 with linespoints, '' using 1:2 axes x1y2 with lines\"";
    if (std::system(cmd.c_str()) == 0) std::printf("plotted %s/curves.png\n", args.out.c_str());
  } else {
    std::printf("gnuplot not found: skipping the picture of the curves\n");
  }
  return 0;
}
