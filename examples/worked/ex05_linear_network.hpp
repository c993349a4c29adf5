#pragma once
// ex05: deck 000's one-hidden-layer network with linear activations, one gradient-descent step:
//   x = [1, 2], W1 = [[0.5, 0.2], [0.3, 0.8], [0.6, 0.4]], b1 = [0.1, 0.1, 0.1],
//   W2 = [0.4, 0.3, 0.2], b2 = 0.1, y = 1, L = ½(ŷ - y)², η = 0.1.
// Forward: z1 = W1 x + b1 = [1.0, 2.0, 1.5], a1 = z1, z2 = W2 a1 + b2 = 1.4, a2 = z2 = ŷ.

#include <string>

#include <xgrad/optim/optim.hpp>

#include "walkthrough.hpp"

namespace xgrad::examples::ex05 {

inline constexpr double kY = 1.0, kEta = 0.1;

struct Result {
  Tensor a1;                   // = z1, (3)
  Tensor a2;                   // = z2 = ŷ, (1)
  double loss;
  Tensor dW1, db1, dW2, db2;   // the gradients of the step
  Tensor W1, b1, W2, b2;       // the parameters after the SGD step
  std::string explanation;     // explain() of the backward pass
  std::string dot;             // the graph with values and gradients (Graphviz)
};

/// Forward, backward (recorded for the explanation), and one optim::SGD step with lr = η.
inline Result one_step() {
  const Tensor x = tensor({1.0, 2.0}, kFloat64);
  const Tensor W1 = param({{0.5, 0.2}, {0.3, 0.8}, {0.6, 0.4}}, "W1");
  const Tensor b1 = param({0.1, 0.1, 0.1}, "b1");
  const Tensor W2 = param({{0.4, 0.3, 0.2}}, "W2");
  const Tensor b2 = param({0.1}, "b2");

  Result r;
  // linear(x, W, b) = x·Wᵀ + b, which for one sample is the slides' W x + b.
  r.a1 = named(linear(x, W1, b1), "a1");   // a1 = z1 (linear activation)
  r.a2 = named(linear(r.a1, W2, b2), "a2");  // a2 = z2 = ŷ
  const Tensor L = named(0.5 * square(r.a2 - kY), "L");
  r.loss = L.item<double>();

  const autograd::BackwardRecord rec = autograd::record_backward(L);
  r.explanation = autograd::explain(rec, L, {r.a1, r.a2});
  autograd::DotOptions dot;
  dot.named = {r.a1, r.a2};
  dot.record = &rec;
  dot.title = "deck 000: one hidden layer, linear activations, L = 1/2 (a2 - y)^2, y = 1";
  r.dot = autograd::to_dot(L, dot);

  r.dW1 = W1.grad().clone();
  r.db1 = b1.grad().clone();
  r.dW2 = W2.grad().clone();
  r.db2 = b2.grad().clone();
  optim::SGD sgd({W1, b1, W2, b2}, optim::SGDOptions(kEta));
  sgd.step();  // p <- p - η ∂L/∂p
  r.W1 = W1.detach();
  r.b1 = b1.detach();
  r.W2 = W2.detach();
  r.b2 = b2.detach();
  return r;
}

}  // namespace xgrad::examples::ex05
