#pragma once
// ex02: XOR with a two-layer sigmoid network (deck 003): first with the slide's hand-set weights, then
// trained from random weights by backpropagation.

#include <cstdint>
#include <vector>

#include <xgrad/optim/optim.hpp>

#include "walkthrough.hpp"

namespace xgrad::examples::ex02 {

/// Deck 003's order of the samples: (X1, X2) = {(0,0), (1,1), (0,1), (1,0)}, Y = {0, 0, 1, 1}.
inline Tensor xor_inputs() { return tensor({{0, 0}, {1, 1}, {0, 1}, {1, 0}}, kFloat64); }
inline Tensor xor_targets() { return tensor({{0.0}, {0.0}, {1.0}, {1.0}}, kFloat64); }

/// The network of deck 003 with its hand-set weights:
///   h1  = σ(W1 x1 + W3 x2 + b1) = σ(20 x1 + 20 x2 - 10)     (OR)
///   h2  = σ(W2 x1 + W4 x2 + b2) = σ(-20 x1 - 20 x2 + 30)    (NAND)
///   out = σ(W5 h1 + W6 h2 + b3) = σ(20 h1 + 20 h2 - 30)     (AND)
struct HandSet {
  Tensor x;       // (4, 2) inputs in deck 003's order
  Tensor z_hidden;  // (4, 2) pre-activations of h1, h2
  Tensor hidden;  // (4, 2) h1, h2
  Tensor z_out;   // (4, 1)
  Tensor out;     // (4, 1)
};

inline HandSet hand_set() {
  NoGradGuard no_grad;
  HandSet r;
  r.x = xor_inputs();
  // linear(x, W, b) = x·Wᵀ + b with one row of W per neuron: h1 gets (W1, W3), h2 gets (W2, W4).
  const Tensor w_hidden = tensor({{20.0, 20.0}, {-20.0, -20.0}}, kFloat64);
  const Tensor b_hidden = tensor({-10.0, 30.0}, kFloat64);
  const Tensor w_out = tensor({{20.0, 20.0}}, kFloat64);
  const Tensor b_out = tensor({-30.0}, kFloat64);
  r.z_hidden = linear(r.x, w_hidden, b_hidden);
  r.hidden = sigmoid(r.z_hidden);
  r.z_out = linear(r.hidden, w_out, b_out);
  r.out = sigmoid(r.z_out);
  return r;
}

/// Settings of the trained network: 2 inputs, kHidden sigmoid units, 1 sigmoid output, loss
/// mean((out - y)²), full-batch gradient descent (optim::SGD) with learning rate kLr.
inline constexpr int kHidden = 3;
inline constexpr double kLr = 2.0;
inline constexpr int kEpochs = 3000;
inline constexpr std::uint64_t kSeed = 0;

struct Trained {
  std::vector<std::pair<int, double>> loss_log;  // (epoch, loss) every 500 epochs and at the end
  Tensor out;                                    // (4, 1) outputs after training
  Tensor w1, b1, w2, b2;                         // the learned parameters
};

/// Trains the 2-kHidden-1 sigmoid network on XOR from weights drawn uniformly in [-1, 1) after
/// manual_seed(seed): forward, loss, backward, SGD step, kEpochs times.
inline Trained train(std::uint64_t seed = kSeed, int epochs = kEpochs) {
  manual_seed(seed);
  const Tensor x = xor_inputs(), y = xor_targets();
  Tensor w1 = uniform({kHidden, 2}, -1.0, 1.0, kFloat64).requires_grad_();
  Tensor b1 = uniform({kHidden}, -1.0, 1.0, kFloat64).requires_grad_();
  Tensor w2 = uniform({1, kHidden}, -1.0, 1.0, kFloat64).requires_grad_();
  Tensor b2 = uniform({1}, -1.0, 1.0, kFloat64).requires_grad_();
  optim::SGD opt({w1, b1, w2, b2}, optim::SGDOptions(kLr));
  Trained r;
  for (int epoch = 0; epoch <= epochs; ++epoch) {
    const Tensor out = sigmoid(linear(sigmoid(linear(x, w1, b1)), w2, b2));
    const Tensor loss = mse_loss(out, y);
    if (epoch % 500 == 0 || epoch == epochs) r.loss_log.emplace_back(epoch, loss.item<double>());
    if (epoch == epochs) break;
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  NoGradGuard no_grad;
  r.out = sigmoid(linear(sigmoid(linear(x, w1, b1)), w2, b2));
  r.w1 = w1.detach();
  r.b1 = b1.detach();
  r.w2 = w2.detach();
  r.b2 = b2.detach();
  return r;
}

}  // namespace xgrad::examples::ex02
