#pragma once
// ex01: from the McCulloch-Pitts neuron to the perceptron and its learning rule (decks 001, 002, 003).
// The computations live here so that the program (examples/ex01_perceptron.cpp) and its test
// (tests/examples/test_ex01_perceptron.cpp) run the same code.

#include <cstdint>
#include <string>
#include <vector>

#include "walkthrough.hpp"

namespace xgrad::examples::ex01 {

/// The rows of a two-input truth table in the usual order: (0,0), (0,1), (1,0), (1,1). Shape (4, 2).
inline Tensor truth_inputs() { return tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}}, kFloat64); }

/// The slides' step function u(z) = 1 if z >= 0, else 0 (decks 001 and 003 put u(0) = 1).
/// xgrad::step(z) = heaviside(z, 0) is 0 at z = 0; heaviside(z, 1) follows the slides (as a layer: nn::Step(1.0)).
inline Tensor slide_step(const Tensor& z) { return heaviside(z, 1.0); }

// ---- McCulloch-Pitts unit (deck 003) -------------------------------------------------------------

/// A McCulloch-Pitts unit on rows x (N, n) of boolean inputs: g(x) = Σ of the excitatory inputs;
/// y = 0 if any inhibitory input is 1, otherwise y = 1 if g(x) >= θ and 0 if g(x) < θ.
inline Tensor mp_neuron(const Tensor& x, const std::vector<double>& inhibitory, double theta) {
  NoGradGuard no_grad;
  const Tensor mask = from_vector(inhibitory, {static_cast<std::int64_t>(inhibitory.size())}, kFloat64);
  const Tensor g = sum(x * (1.0 - mask), {1});
  const Tensor inhibited = gt(sum(x * mask, {1}), 0.0);
  return slide_step(g - theta) * (1.0 - inhibited);
}

/// A Boolean function realized by one McCulloch-Pitts unit.
struct MpGate {
  std::string name;
  std::vector<double> inhibitory;  // 1 marks an inhibitory input
  double theta;
};

/// The units of deck 003's "Realizing Boolean logics" slides, for two inputs (NOT: one input).
inline std::vector<MpGate> mp_gates() {
  return {{"AND", {0, 0}, 2.0},  {"OR", {0, 0}, 1.0}, {"x1 AND !x2", {0, 1}, 1.0},
          {"NOR", {1, 1}, 0.0},  {"NOT", {1}, 0.0}};
}

/// The inputs a gate is evaluated on: the 4 rows of truth_inputs(), or (0), (1) for one input.
inline Tensor gate_inputs(const MpGate& gate) {
  return gate.inhibitory.size() == 1 ? tensor({{0}, {1}}, kFloat64) : truth_inputs();
}

// ---- perceptron with the step function (deck 003) -------------------------------------------------

/// y = u(w·x + b) for every row of x (N, 2): the perceptron of deck 003, w (2), b a number.
inline Tensor perceptron(const Tensor& x, const Tensor& w, double b) {
  NoGradGuard no_grad;
  return slide_step(matmul(x, w) + b);
}

/// AND: y1 = u((2 2)·x - 3); OR: y2 = u((2 2)·x - 1) (deck 003).
inline Tensor and_perceptron() { return perceptron(truth_inputs(), tensor({2.0, 2.0}, kFloat64), -3.0); }
inline Tensor or_perceptron() { return perceptron(truth_inputs(), tensor({2.0, 2.0}, kFloat64), -1.0); }

// ---- the perceptron learning rule (decks 001, 002, 003) ---------------------------------------------

/// One update of the rule w_j <- w_j + η (y - ŷ) x_j with ŷ = u(w·x) (no separate bias: deck 002's
/// one-sample example has three inputs). Returns Δw = η (y - ŷ) x; ŷ is stored in *prediction.
inline Tensor rule_delta(const Tensor& w, const Tensor& x, double y, double eta, double* prediction = nullptr) {
  NoGradGuard no_grad;
  const double y_hat = slide_step(sum(w * x)).item<double>();
  if (prediction != nullptr) *prediction = y_hat;
  return x * (eta * (y - y_hat));
}

/// The state after one epoch of the learning rule.
struct EpochLog {
  int epoch;
  int errors;  // samples misclassified (and therefore updated) during the epoch
  std::vector<double> w;
  double b;
};

/// A run of the perceptron learning rule.
struct Training {
  std::vector<double> w0;  // the random initial weights
  double b0;               // and bias
  std::vector<double> w;   // the final weights
  double b;
  bool converged;          // an epoch without a single error happened
  int epochs;              // epochs run (the converging epoch included)
  std::vector<EpochLog> log;
};

/// Learns y = u(w·x + b) on the rows of x (N, 2) with targets y (N) by the perceptron rule
///   w_j <- w_j + η (y - ŷ) x_j,   b <- b + η (y - ŷ)     (the bias is the weight of x_0 = 1)
/// visiting the rows in order, from weights and bias drawn uniformly in [-1, 1) after
/// manual_seed(seed). Stops after the first epoch without errors (convergence) or after max_epochs.
inline Training learn(const Tensor& x, const Tensor& y, double eta, int max_epochs, std::uint64_t seed) {
  NoGradGuard no_grad;
  manual_seed(seed);
  Tensor w = uniform({2}, -1.0, 1.0, kFloat64);
  double b = uniform({1}, -1.0, 1.0, kFloat64).item<double>();
  Training r{w.to_vector<double>(), b, {}, 0.0, false, 0, {}};
  const std::int64_t n = x.size(0);
  for (int epoch = 1; epoch <= max_epochs && !r.converged; ++epoch) {
    int errors = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const Tensor xi = narrow(x, 0, i, 1).reshape({2});
      const double target = y.at({i});
      const double y_hat = slide_step(sum(w * xi) + b).item<double>();
      if (y_hat != target) {
        ++errors;
        w.add_(xi, eta * (target - y_hat));
        b += eta * (target - y_hat);
      }
    }
    r.log.push_back({epoch, errors, w.to_vector<double>(), b});
    r.epochs = epoch;
    r.converged = errors == 0;
  }
  r.w = w.to_vector<double>();
  r.b = b;
  return r;
}

/// Targets of AND, OR and XOR on truth_inputs().
inline Tensor and_targets() { return tensor({0.0, 0.0, 0.0, 1.0}, kFloat64); }
inline Tensor or_targets() { return tensor({0.0, 1.0, 1.0, 1.0}, kFloat64); }
inline Tensor xor_targets() { return tensor({0.0, 1.0, 1.0, 0.0}, kFloat64); }

/// The learning rate and epoch budget used by the program and its test.
inline constexpr double kEta = 0.1;
inline constexpr int kMaxEpochs = 100;
inline constexpr std::uint64_t kSeed = 1;

}  // namespace xgrad::examples::ex01
