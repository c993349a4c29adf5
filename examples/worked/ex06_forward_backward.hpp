#pragma once
// ex06: deck 003's forward and backward pass by hand: inputs [2, 3], target 1, weights
// w1..w6 = 0.11, 0.21, 0.12, 0.08, 0.14, 0.15, no activation functions:
//   h1 = i1 w1 + i2 w2,  h2 = i1 w3 + i2 w4,  prediction = h1 w5 + h2 w6,
//   Error = ½(prediction - actual)²,  Δ = prediction - actual,  *w = w - α ∂Error/∂w with α = 0.05.
// Computed twice: with one scalar tensor per weight (the slides' chain rule, explained node by node)
// and in the slides' matrix form [i1 i2]·[[w1, w3], [w2, w4]]·[w5, w6]ᵀ.

#include <array>
#include <string>

#include "walkthrough.hpp"

namespace xgrad::examples::ex06 {

inline constexpr double kI1 = 2.0, kI2 = 3.0, kActual = 1.0, kAlpha = 0.05;
inline constexpr std::array<double, 6> kW = {0.11, 0.21, 0.12, 0.08, 0.14, 0.15};

struct Result {
  double h1, h2, prediction, delta, error;
  std::array<double, 6> grad;     // ∂Error/∂w1 .. ∂Error/∂w6
  std::array<double, 6> updated;  // *w1 .. *w6
  std::string explanation;        // explain() of the scalar graph's backward pass
  std::string dot;                // its picture (Graphviz)
  // Matrix form: W = [[w1, w3], [w2, w4]] (2, 2) and v = [w5, w6]ᵀ (2, 1), after the update.
  Tensor h_matrix, W_updated, v_updated;
  double prediction_matrix;
};

inline Result run() {
  Result r{};
  {
    // One scalar leaf per weight, as on the slides.
    const char* names[6] = {"w1", "w2", "w3", "w4", "w5", "w6"};
    TensorList w;
    for (int k = 0; k < 6; ++k) w.push_back(scalar_param(kW[k], names[k]));
    const Tensor h1 = named(w[0] * kI1 + w[1] * kI2, "h1");
    const Tensor h2 = named(w[2] * kI1 + w[3] * kI2, "h2");
    const Tensor prediction = named(h1 * w[4] + h2 * w[5], "prediction");
    const Tensor error = named(0.5 * square(prediction - kActual), "Error");
    r.h1 = h1.item<double>();
    r.h2 = h2.item<double>();
    r.prediction = prediction.item<double>();
    r.delta = r.prediction - kActual;
    r.error = error.item<double>();

    const autograd::BackwardRecord rec = autograd::record_backward(error);
    r.explanation = autograd::explain(rec, error, {h1, h2, prediction});
    autograd::DotOptions dot;
    dot.named = {h1, h2, prediction};
    dot.record = &rec;
    dot.title = "deck 003: inputs [2, 3], no activation, Error = 1/2 (prediction - 1)^2";
    r.dot = autograd::to_dot(error, dot);

    NoGradGuard no_grad;
    for (int k = 0; k < 6; ++k) {
      r.grad[k] = w[k].grad().item<double>();
      w[k].sub_(w[k].grad(), kAlpha);  // *w = w - α ∂Error/∂w
      r.updated[k] = w[k].item<double>();
    }
  }
  {
    // The matrix form of the slides: [i1 i2]·W = [h1 h2], [h1 h2]·v = prediction.
    const Tensor i = tensor({{kI1, kI2}}, kFloat64);
    Tensor W = tensor({{kW[0], kW[2]}, {kW[1], kW[3]}}, kFloat64).requires_grad_();
    Tensor v = tensor({{kW[4]}, {kW[5]}}, kFloat64).requires_grad_();
    const Tensor h = matmul(i, W);
    const Tensor prediction = matmul(h, v);
    const Tensor error = 0.5 * square(prediction - kActual);
    r.h_matrix = h.detach();
    r.prediction_matrix = prediction.item<double>();
    error.backward();
    NoGradGuard no_grad;
    W.sub_(W.grad(), kAlpha);  // = W - α Δ [i1 i2]ᵀ [w5 w6]
    v.sub_(v.grad(), kAlpha);  // = v - α Δ [h1 h2]ᵀ
    r.W_updated = W.detach();
    r.v_updated = v.detach();
  }
  return r;
}

}  // namespace xgrad::examples::ex06
