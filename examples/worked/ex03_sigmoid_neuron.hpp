#pragma once
// ex03: the sigmoid neuron f(x) = σ(wx + b) learned by gradient descent (deck 003, "Implementing
// Gradient Descent"): X = [0.5, 2.5], Y = [0.2, 0.9], w = b = -2, η = 1, 1000 epochs, error
// Σ ½(f(x) - y)². The gradients come from autograd instead of the slide's grad_w/grad_b.

#include <vector>

#include "walkthrough.hpp"

namespace xgrad::examples::ex03 {

inline constexpr double kW0 = -2.0, kB0 = -2.0, kEta = 1.0;
inline constexpr int kEpochs = 1000;

/// The data of the slide.
inline Tensor inputs() { return tensor({0.5, 2.5}, kFloat64); }
inline Tensor targets() { return tensor({0.2, 0.9}, kFloat64); }

/// error(w, b) = Σ_i ½(σ(w x_i + b) - y_i)², recorded for autograd.
inline Tensor error(const Tensor& w, const Tensor& b) {
  const Tensor fx = sigmoid(w * inputs() + b);
  return sum(0.5 * square(fx - targets()));
}

struct Snapshot {
  int epoch;  // the parameters before this epoch's update (at epoch kEpochs: the final ones)
  double w, b, error;
};

struct Result {
  double dw0, db0;              // the gradient at the start (w = b = -2), from autograd
  std::vector<Snapshot> trace;  // epochs 0..kEpochs
  double w, b, error;           // after kEpochs updates
};

/// The slide's do_gradient_descent(): every epoch, dw and db summed over both points (one backward of
/// the summed error), then w <- w - η dw, b <- b - η db.
inline Result gradient_descent(int epochs = kEpochs) {
  Tensor w = scalar_tensor(kW0, kFloat64).requires_grad_();
  Tensor b = scalar_tensor(kB0, kFloat64).requires_grad_();
  Result r{};
  for (int epoch = 0; epoch <= epochs; ++epoch) {
    const Tensor err = error(w, b);
    r.trace.push_back({epoch, w.item<double>(), b.item<double>(), err.item<double>()});
    if (epoch == epochs) break;
    w.zero_grad();
    b.zero_grad();
    err.backward();
    if (epoch == 0) {
      r.dw0 = w.grad().item<double>();
      r.db0 = b.grad().item<double>();
    }
    NoGradGuard no_grad;
    w.sub_(w.grad(), kEta);
    b.sub_(b.grad(), kEta);
  }
  r.w = r.trace.back().w;
  r.b = r.trace.back().b;
  r.error = r.trace.back().error;
  return r;
}

}  // namespace xgrad::examples::ex03
