#pragma once
// Worked example 11 (decks 000-002): vanishing gradients. Per-layer weight-gradient norms of a deep
// (10 Linear layers) network at initialization, with sigmoid, with ReLU and with ReLU + BatchNorm,
// on one batch of Fashion-MNIST (synthetic Gaussian inputs when the data set is missing).
// Shared by examples/ex11_vanishing_gradients.cpp and tests/examples/test_ex11_vanishing_gradients.cpp.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

namespace xgrad::worked::ex11 {

/// The three architectures compared.
enum class Arch { sigmoid, relu, relu_batchnorm };

inline const char* arch_name(Arch a) {
  return a == Arch::sigmoid ? "sigmoid" : a == Arch::relu ? "relu" : "relu_batchnorm";
}

/// A deep MLP in -> width x (layers - 1) -> classes, Glorot-uniform weights (the Keras default) and
/// zero biases; `linears` receives the Linear layers in order (first to last).
inline nn::Sequential make_net(Arch arch, std::int64_t in, std::int64_t width, std::int64_t classes, int layers,
                               std::vector<std::shared_ptr<nn::Linear>>& linears) {
  nn::Sequential net;
  linears.clear();
  for (int l = 0; l < layers; ++l) {
    const bool last = l == layers - 1;
    auto lin = net.push_back(nn::Linear(l == 0 ? in : width, last ? classes : width));
    nn::init::glorot_uniform_(lin->weight());
    nn::init::zeros_(lin->bias());
    linears.push_back(lin);
    if (last) break;
    if (arch == Arch::relu_batchnorm) net.push_back(nn::BatchNorm1d(width));
    if (arch == Arch::sigmoid) net.push_back(nn::Sigmoid());
    else net.push_back(nn::ReLU());
  }
  return net;
}

/// One batch: standardized Fashion-MNIST images (first `n` training images) and labels, or
/// standard-normal inputs with labels i % 10 when the data set cannot be read.
struct Batch {
  Tensor x;
  Tensor y;
  bool synthetic = false;
};

inline Batch load_batch(std::int64_t n, const std::string& dir = "/usr/share/datasets/fashion-mnist") {
  try {
    const data::MnistData d = data::load_fashion_mnist(dir);
    const Tensor x = narrow(d.train_images, 0, 0, n);
    const double mu = mean(x).item<double>(), sd = xgrad::std(x, {}, false).item<double>();
    return {((x - mu) / sd).contiguous(), narrow(d.train_labels, 0, 0, n).contiguous(), false};
  } catch (const Error&) {
    std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) labels[static_cast<std::size_t>(i)] = i % 10;
    return {randn({n, 784}), from_vector(labels, {n}), true};
  }
}

/// Frobenius norms of the Linear weights' gradients (first to last layer) after one backward pass of
/// the cross-entropy loss of a freshly initialized network (seeded with `seed`).
inline std::vector<double> gradient_norms(Arch arch, const Batch& b, int layers = 10, std::int64_t width = 128,
                                          std::uint64_t seed = 0) {
  manual_seed(seed);
  std::vector<std::shared_ptr<nn::Linear>> linears;
  nn::Sequential net = make_net(arch, b.x.size(1), width, 10, layers, linears);
  cross_entropy(net(b.x), b.y).backward();
  std::vector<double> norms;
  for (const auto& lin : linears) norms.push_back(norm(lin->weight().grad()).item<double>());
  return norms;
}

}  // namespace xgrad::worked::ex11
