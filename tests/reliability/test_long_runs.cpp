// Long runs: memory stays flat over a million training steps and over twenty epochs of
// Fashion-MNIST. Both are marked doctest::skip() so the default test run (and ctest's discovered
// tests) leave them out; tests/reliability/tests.cmake registers them as the ctest tests
// long_xor_million_steps and long_fashion_mnist_20_epochs with the label "long" (ctest -L long).
// They do nothing in sanitizer builds, whose allocators and speeds make the figures meaningless.
//
// A leak of a single byte per step would show in the allocator's in-use count (mallinfo2) as a
// megabyte after 10^6 steps; the resident set size (/proc/self/statm) is checked against a bound too.
#include <malloc.h>

#include <xgrad/nn/nn.hpp>
#include <xgrad/xgrad.hpp>

#include <chrono>
#include <filesystem>

#include "reliability/reliability_util.hpp"
#include "support/test_util.hpp"

using namespace xgrad;

namespace {

constexpr std::int64_t kMB = std::int64_t{1} << 20;

std::int64_t heap_in_use() {
  const auto m = mallinfo2();
  return static_cast<std::int64_t>(m.uordblks + m.hblkhd);
}

double mb(std::int64_t bytes) { return static_cast<double>(bytes) / static_cast<double>(kMB); }

}  // namespace

TEST_CASE("long: one million XOR training steps keep resident memory flat" * doctest::skip()) {
  if (testing::kSanitized) {
    MESSAGE("skipped in sanitizer builds");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  manual_seed(1);
  const Tensor w1 = (randn({4, 2}, kFloat64) * 0.5).detach().requires_grad_();
  const Tensor b1 = zeros({4}, kFloat64).requires_grad_();
  const Tensor w2 = (randn({1, 4}, kFloat64) * 0.5).detach().requires_grad_();
  const Tensor b2 = zeros({1}, kFloat64).requires_grad_();
  optim::SGD opt({w1, b1, w2, b2}, optim::SGDOptions(0.5).momentum(0.9));
  const Tensor x = tensor({{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}}, kFloat64);
  const Tensor y = tensor({{0.0}, {1.0}, {1.0}, {0.0}}, kFloat64);

  constexpr std::int64_t kSteps = 1'000'000, kEvery = 100'000;
  std::int64_t rss_ref = 0, heap_ref = 0, rss_max = 0, heap_max = 0, heap_min = INT64_MAX;
  double loss_value = 0;
  for (std::int64_t step = 1; step <= kSteps; ++step) {
    opt.zero_grad();
    const Tensor loss = mse_loss(sigmoid(linear(tanh(linear(x, w1, b1)), w2, b2)), y);
    loss.backward();
    opt.step();
    if (step % kEvery == 0) {
      loss_value = loss.item<double>();
      const std::int64_t rss = testing::rss_bytes(), heap = heap_in_use();
      if (step == kEvery) {
        rss_ref = rss;
        heap_ref = heap;
      }
      rss_max = std::max(rss_max, rss);
      heap_max = std::max(heap_max, heap);
      heap_min = std::min(heap_min, heap);
      MESSAGE("step " << step << ": loss " << loss_value << ", RSS " << mb(rss) << " MB, heap in use " << heap << " bytes");
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("1,000,000 steps in " << seconds << " s; RSS " << mb(rss_ref) << " -> max " << mb(rss_max) << " MB; heap in use "
                                << heap_min << " .. " << heap_max << " bytes");
  CHECK(loss_value < 0.01);                 // XOR was learned
  CHECK(rss_max - rss_ref < 2 * kMB);       // resident memory flat after step 100,000
  CHECK(heap_max - heap_ref < 64 * 1024);   // no leak: < 0.07 bytes per step
  CHECK(heap_ref - heap_min < 64 * 1024);
}

TEST_CASE("long: twenty epochs of Fashion-MNIST do not grow memory after epoch 1" * doctest::skip()) {
  if (testing::kSanitized) {
    MESSAGE("skipped in sanitizer builds");
    return;
  }
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz") && !std::filesystem::exists(dir + "/train-images-idx3-ubyte")) {
    MESSAGE("Fashion-MNIST not installed in " << dir << " (apt install dataset-fashion-mnist): skipped");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const data::MnistData d = data::load_fashion_mnist(dir);
  manual_seed(1);
  nn::Sequential model(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10));
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.05).momentum(0.9));
  data::DataLoader loader(data::TensorDataset(d.train_images, d.train_labels), {.batch_size = 128, .shuffle = true, .seed = 1});

  std::vector<std::int64_t> rss, heap;
  double accuracy = 0;
  for (int epoch = 1; epoch <= 20; ++epoch) {
    model.train();
    for (const data::Batch& b : loader) {
      opt.zero_grad();
      const Tensor loss = cross_entropy(model(b.input), b.target);
      loss.backward();
      opt.step();
    }
    loader.set_epoch(epoch);
    {
      NoGradGuard no_grad;
      model.eval();
      const Tensor pred = argmax(model(d.test_images), 1);
      accuracy = mean(eq(pred, d.test_labels).to(kFloat64)).item<double>();
    }
    rss.push_back(testing::rss_bytes());
    heap.push_back(heap_in_use());
    MESSAGE("epoch " << epoch << ": test accuracy " << accuracy << ", RSS " << mb(rss.back()) << " MB, heap in use "
                     << mb(heap.back()) << " MB, " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                     << " s");
  }
  const std::int64_t rss_max = *std::max_element(rss.begin() + 1, rss.end());
  const std::int64_t heap_max = *std::max_element(heap.begin() + 1, heap.end());
  MESSAGE("after epoch 1: RSS " << mb(rss[0]) << " MB, max over epochs 2-20 " << mb(rss_max) << " MB; heap " << mb(heap[0])
                                << " MB, max " << mb(heap_max) << " MB");
  CHECK(accuracy > 0.85);
  CHECK(rss_max - rss[0] < 8 * kMB);
  CHECK(heap_max - heap[0] < kMB);
}
