// Example 12 (deck 002): transfer learning and an autoencoder on Fashion-MNIST.
//  1. A base MLP (784-128-64-5) learns classes 0-4 (T-shirt, trouser, pullover, dress, coat).
//  2. A new MLP takes the base's first two Linear layers, freezes them and fine-tunes only its head on
//     classes 5-9 (sandal, shirt, sneaker, bag, ankle boot), compared with the same head on a random
//     frozen body.
//  3. An autoencoder 784-128-32-128-784 compresses each image to 32 numbers; reconstruction MSE
//     before and after training.
//
// Usage: ex12_transfer_autoencoder [--train N] [--epochs E]
#include <chrono>
#include <cstdio>
#include <string>

#include "worked/ex12.hpp"

using namespace xgrad;
using namespace xgrad::worked::ex12;

int main(int argc, char** argv) {
  std::int64_t limit = 6000;
  int epochs = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--train") limit = std::stoll(argv[i + 1]);
    else if (k == "--epochs") epochs = std::stoi(argv[i + 1]);
  }
  manual_seed(0);
  data::MnistData d;
  try {
    d = load();
  } catch (const Error& e) {
    std::fprintf(stderr, "ex12: %s\n(install Debian's dataset-fashion-mnist)\n", e.what());
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const Split a_train = classes(d.train_images, d.train_labels, 0, limit), a_test = classes(d.test_images, d.test_labels, 0, 5000);
  const Split b_train = classes(d.train_images, d.train_labels, 5, limit), b_test = classes(d.test_images, d.test_labels, 5, 5000);
  std::printf("== transfer learning ==\ntask A: classes 0-4 (%lld train, %lld test); task B: classes 5-9 (%lld train, %lld test)\n",
              static_cast<long long>(a_train.x.size(0)), static_cast<long long>(a_test.x.size(0)),
              static_cast<long long>(b_train.x.size(0)), static_cast<long long>(b_test.x.size(0)));

  nn::Sequential base = make_classifier();
  fit_classifier(base, a_train, epochs);
  std::printf("base network on task A after %d epochs: test accuracy %.2f%%\n", epochs, 100.0 * accuracy(base, a_test));

  nn::Sequential tuned = make_classifier();
  transfer_and_freeze(base, tuned);
  std::printf("new network: copied and froze");
  for (const auto& k : transferred_keys()) std::printf(" %s", k.c_str());
  std::printf("; trainable parameters %lld of %lld\n", static_cast<long long>(nn::count_parameters(tuned, true)),
              static_cast<long long>(nn::count_parameters(tuned)));
  std::printf("before fine-tuning, task B test accuracy %.2f%% (random head)\n", 100.0 * accuracy(tuned, b_test));
  fit_classifier(tuned, b_train, epochs, 1);
  std::printf("after fine-tuning the head for %d epochs: task B test accuracy %.2f%%\n", epochs, 100.0 * accuracy(tuned, b_test));

  nn::Sequential random_body = make_classifier();
  for (const auto& k : transferred_keys()) random_body.named_parameters().at(k).requires_grad_(false);
  fit_classifier(random_body, b_train, epochs, 1);
  std::printf("same head on a frozen random body: task B test accuracy %.2f%%\n", 100.0 * accuracy(random_body, b_test));
  std::printf("(tops and coats share few features with sandals, sneakers, bags and boots: transfer helps when the\n"
              " tasks are related; here compare it with the random body before trusting it)\n");

  std::printf("\n== autoencoder 784-128-32-128-784 ==\n");
  const Tensor ae_train = narrow(d.train_images, 0, 0, limit).contiguous();
  const Tensor ae_test = narrow(d.test_images, 0, 0, 2000).contiguous();
  nn::Sequential ae = make_autoencoder();
  std::printf("parameters: %lld\n", static_cast<long long>(nn::count_parameters(ae)));
  const double before = reconstruction_mse(ae, ae_test);
  fit_autoencoder(ae, ae_train, epochs);
  const double after = reconstruction_mse(ae, ae_test);
  std::printf("test reconstruction MSE per pixel: %.5f before training, %.5f after %d epochs on %lld images\n", before,
              after, epochs, static_cast<long long>(limit));
  std::printf("total %.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}
