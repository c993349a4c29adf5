// Example 12: transfer learning freezes exactly the copied layers; the autoencoder learns.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>

#include "../../examples/worked/ex12.hpp"

using namespace xgrad;
using namespace xgrad::worked::ex12;

namespace {

bool bit_identical(const Tensor& a, const Tensor& b) {
  const std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>();
  return va.size() == vb.size() && std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("ex12: transferred layers are copied, frozen and bit-identical after fine-tuning, the head changes") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) {
    MESSAGE("skipped: Fashion-MNIST not installed");
    return;
  }
  manual_seed(3);
  const data::MnistData d = load();
  const Split a = classes(d.train_images, d.train_labels, 0, 2000);
  const Split b = classes(d.train_images, d.train_labels, 5, 2000);
  // Relabelling: every label in 0..4, and the originals were in the requested range.
  for (std::int64_t v : b.y.to_vector<std::int64_t>()) CHECK((v >= 0 && v < 5));
  nn::Sequential base = make_classifier();
  fit_classifier(base, a, 1);
  nn::Sequential tuned = make_classifier();
  transfer_and_freeze(base, tuned);
  nn::StateDict base_p = base.named_parameters(), p = tuned.named_parameters();
  std::map<std::string, Tensor> before;
  for (const auto& item : p) before.emplace(item.key, item.value.clone().detach());
  for (const auto& k : transferred_keys()) {
    CHECK(bit_identical(p.at(k), base_p.at(k)));  // copied
    CHECK_FALSE(p.at(k).requires_grad());         // frozen
  }
  // Trainable count: only the head 64*5+5.
  CHECK(nn::count_parameters(tuned, true) == 64 * 5 + 5);
  CHECK(nn::count_parameters(tuned) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 5 + 5);
  fit_classifier(tuned, b, 1, 1);
  for (const auto& k : transferred_keys()) CHECK(bit_identical(p.at(k), before.at(k)));
  CHECK_FALSE(bit_identical(p.at("4.weight"), before.at("4.weight")));
  CHECK_FALSE(bit_identical(p.at("4.bias"), before.at("4.bias")));
}

TEST_CASE("ex12: the autoencoder's reconstruction error decreases") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) {
    MESSAGE("skipped: Fashion-MNIST not installed");
    return;
  }
  manual_seed(4);
  const data::MnistData d = load();
  const Tensor x = narrow(d.train_images, 0, 0, 3000).contiguous();
  const Tensor xt = narrow(d.test_images, 0, 0, 500).contiguous();
  nn::Sequential ae = make_autoencoder();
  CHECK(nn::count_parameters(ae) == (784 * 128 + 128) + (128 * 32 + 32) + (32 * 128 + 128) + (128 * 784 + 784));
  const double before = reconstruction_mse(ae, xt);
  // Independent reference: predicting the per-pixel mean of the test images gives the mean variance,
  // an error a trained autoencoder must beat.
  double var = 0.0;
  {
    const std::vector<float> v = xt.to_vector<float>();
    for (std::size_t j = 0; j < 784; ++j) {
      double m = 0.0, m2 = 0.0;
      for (std::size_t i = 0; i < 500; ++i) m += v[i * 784 + j];
      m /= 500.0;
      for (std::size_t i = 0; i < 500; ++i) m2 += (v[i * 784 + j] - m) * (v[i * 784 + j] - m);
      var += m2 / 500.0;
    }
    var /= 784.0;
  }
  fit_autoencoder(ae, x, 2);
  const double after = reconstruction_mse(ae, xt);
  CHECK(after < 0.7 * before);
  CHECK(after < var);
}
