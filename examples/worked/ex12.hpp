#pragma once
// Worked example 12 (deck 002): transfer learning and an autoencoder on Fashion-MNIST.
// Transfer: a base MLP learns classes 0-4; a new MLP takes the base's first two Linear layers
// (state_dict entries "0.*" and "2.*"), freezes them (requires_grad_(false), optimizer over the rest) and
// is fine-tuned on classes 5-9. Autoencoder: 784-128-32-128-784, reconstruction MSE before and after.
// Shared by examples/ex12_transfer_autoencoder.cpp and tests/examples/test_ex12_transfer_autoencoder.cpp.

#include <cstdint>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

namespace xgrad::worked::ex12 {

/// Images (N, 784) in [0, 1] and int64 labels.
struct Split {
  Tensor x;
  Tensor y;
};

/// Fashion-MNIST (train, test) from Debian's dataset-fashion-mnist (IOError when missing).
inline data::MnistData load(const std::string& dir = "/usr/share/datasets/fashion-mnist") {
  return data::load_fashion_mnist(dir);
}

/// The first `limit` samples of (x, y) whose label is in [lo, lo + 5), relabelled to 0..4.
inline Split classes(const Tensor& x, const Tensor& y, std::int64_t lo, std::int64_t limit) {
  const std::vector<std::int64_t> labels = y.to_vector<std::int64_t>();
  std::vector<std::int64_t> idx, lab;
  for (std::size_t i = 0; i < labels.size() && static_cast<std::int64_t>(idx.size()) < limit; ++i)
    if (labels[i] >= lo && labels[i] < lo + 5) {
      idx.push_back(static_cast<std::int64_t>(i));
      lab.push_back(labels[i] - lo);
    }
  const auto n = static_cast<std::int64_t>(idx.size());
  return {index_select(x, 0, from_vector(idx, {n})), from_vector(lab, {n})};
}

/// 784 -> 128 -> 64 -> 5 MLP with ReLU: children "0" (Linear), "1" (ReLU), "2" (Linear), "3", "4" (head).
inline nn::Sequential make_classifier() {
  return nn::Sequential(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 64), nn::ReLU(), nn::Linear(64, 5));
}

/// The state_dict keys of the transferred (and frozen) layers.
inline std::vector<std::string> transferred_keys() { return {"0.weight", "0.bias", "2.weight", "2.bias"}; }

/// Accuracy in [0, 1] (no graph).
inline double accuracy(nn::Module& model, const Split& s) {
  NoGradGuard no_grad;
  model.eval();
  const double acc = static_cast<double>(sum(eq(argmax(model(s.x), 1), s.y)).item<std::int64_t>()) /
                     static_cast<double>(s.x.size(0));
  model.train();
  return acc;
}

/// Trains the parameters of `model` that require grad with Adam (lr 1e-3, batch 128) on cross entropy.
inline void fit_classifier(nn::Module& model, const Split& s, int epochs, std::uint64_t seed = 0) {
  TensorList params;
  for (const Tensor& p : model.parameters())
    if (p.requires_grad()) params.push_back(p);
  optim::Adam adam(params, optim::AdamOptions(1e-3));
  data::DataLoader loader(data::TensorDataset(s.x, s.y), {.batch_size = 128, .shuffle = true, .seed = seed});
  for (int e = 0; e < epochs; ++e)
    for (const data::Batch& b : loader) {
      const Tensor loss = cross_entropy(model(b.input), b.target);
      adam.zero_grad();
      loss.backward();
      adam.step();
    }
}

/// Copies the transferred entries of base's state_dict into `target` (non-strict load) and freezes them.
inline void transfer_and_freeze(nn::Module& base, nn::Module& target) {
  const nn::StateDict full = base.state_dict();
  nn::StateDict part;
  for (const std::string& k : transferred_keys()) part.insert(k, full.at(k));
  target.load_state_dict(part, /*strict=*/false);
  nn::StateDict params = target.named_parameters();
  for (const std::string& k : transferred_keys()) params.at(k).requires_grad_(false);
}

/// 784-128-32-128-784 autoencoder (ReLU inside, sigmoid output for pixels in [0, 1]).
inline nn::Sequential make_autoencoder() {
  return nn::Sequential(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 32), nn::ReLU(),  //
                        nn::Linear(32, 128), nn::ReLU(), nn::Linear(128, 784), nn::Sigmoid());
}

/// Mean squared reconstruction error over all pixels (no graph).
inline double reconstruction_mse(nn::Module& ae, const Tensor& x) {
  NoGradGuard no_grad;
  return mse_loss(ae(x), x).item<double>();
}

/// Trains the autoencoder to reproduce its input (Adam lr 1e-3, batch 128, MSE).
inline void fit_autoencoder(nn::Module& ae, const Tensor& x, int epochs, std::uint64_t seed = 0) {
  optim::Adam adam(ae.parameters(), optim::AdamOptions(1e-3));
  data::DataLoader loader(data::TensorDataset(x, x), {.batch_size = 128, .shuffle = true, .seed = seed});
  for (int e = 0; e < epochs; ++e)
    for (const data::Batch& b : loader) {
      const Tensor loss = mse_loss(ae(b.input), b.target);
      adam.zero_grad();
      loss.backward();
      adam.step();
    }
}

}  // namespace xgrad::worked::ex12
