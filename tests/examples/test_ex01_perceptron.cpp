// ex01: McCulloch-Pitts units, the perceptron of deck 003, the learning rule (decks 001-003), XOR.
// Expected values: the truth tables, and a plain-double rerun of the learning rule.
#include <array>

#include <xgrad/examples/worked/ex01_perceptron.hpp>

#include "example_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace ex = xgrad::examples::ex01;

namespace {

// The rule in plain doubles, in the same order as ex::learn, from the same initial weights.
struct Replay {
  double w1, w2, b;
  int epochs;
  bool converged;
  std::vector<int> errors;
};

Replay replay(const ex::Training& t, const std::array<double, 4>& y, double eta, int max_epochs) {
  const double x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  Replay r{t.w0[0], t.w0[1], t.b0, 0, false, {}};
  for (int epoch = 1; epoch <= max_epochs && !r.converged; ++epoch) {
    int errors = 0;
    for (int i = 0; i < 4; ++i) {
      const double z = r.w1 * x[i][0] + r.w2 * x[i][1] + r.b;
      const double y_hat = z >= 0 ? 1.0 : 0.0;
      if (y_hat != y[i]) {
        ++errors;
        r.w1 += eta * (y[i] - y_hat) * x[i][0];
        r.w2 += eta * (y[i] - y_hat) * x[i][1];
        r.b += eta * (y[i] - y_hat);
      }
    }
    r.errors.push_back(errors);
    r.epochs = epoch;
    r.converged = errors == 0;
  }
  return r;
}

}  // namespace

TEST_CASE("ex01: McCulloch-Pitts units realize AND, OR, x1 AND !x2, NOR, NOT (deck 003)") {
  for (const ex::MpGate& gate : ex::mp_gates()) {
    INFO(gate.name);
    const Tensor x = ex::gate_inputs(gate);
    const std::vector<double> y = ex::mp_neuron(x, gate.inhibitory, gate.theta).to_vector<double>();
    for (std::int64_t i = 0; i < x.size(0); ++i) {
      const bool a = x.at({i, 0}) != 0.0;
      const bool b = x.size(1) > 1 && x.at({i, 1}) != 0.0;
      bool truth = false;
      if (gate.name == "AND") truth = a && b;
      if (gate.name == "OR") truth = a || b;
      if (gate.name == "x1 AND !x2") truth = a && !b;
      if (gate.name == "NOR") truth = !(a || b);
      if (gate.name == "NOT") truth = !a;
      CHECK(y[static_cast<std::size_t>(i)] == (truth ? 1.0 : 0.0));
    }
  }
}

TEST_CASE("ex01: the perceptrons u((2 2)·x - 3) and u((2 2)·x - 1) are AND and OR (deck 003)") {
  CHECK(ex::and_perceptron().to_vector<double>() == std::vector<double>{0, 0, 0, 1});
  CHECK(ex::or_perceptron().to_vector<double>() == std::vector<double>{0, 1, 1, 1});
  // The slides' step is 1 at 0; xgrad::step is heaviside(x, 0).
  CHECK(ex::slide_step(scalar_tensor(0.0, kFloat64)).item<double>() == 1.0);
  CHECK(step(scalar_tensor(0.0, kFloat64)).item<double>() == 0.0);
}

TEST_CASE("ex01: deck 002's one-sample update η(y - ŷ)x = (0.1, 0.0, 0.1)") {
  double y_hat = -1;
  const std::vector<double> dw =
      ex::rule_delta(tensor({-0.2, 0.4, -0.3}, kFloat64), tensor({1.0, 0.0, 1.0}, kFloat64), 1.0, 0.1, &y_hat).to_vector<double>();
  CHECK(y_hat == 0.0);  // w·x = -0.5 < 0
  REQUIRE(dw.size() == 3);
  CHECK(dw[0] == 0.1);
  CHECK(dw[1] == 0.0);
  CHECK(dw[2] == 0.1);
  CHECK(rounds_to(dw[0], 0.1, 1));
  CHECK(rounds_to(dw[1], 0.0, 1));
}

TEST_CASE("ex01: the learning rule learns AND and OR from random weights, exactly like a plain-double rerun") {
  const std::array<double, 4> and_y = {0, 0, 0, 1}, or_y = {0, 1, 1, 1};
  const double x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  for (const auto& [targets, y] : {std::pair{ex::and_targets(), and_y}, std::pair{ex::or_targets(), or_y}}) {
    const ex::Training t = ex::learn(ex::truth_inputs(), targets, ex::kEta, ex::kMaxEpochs, ex::kSeed);
    const Replay r = replay(t, y, ex::kEta, ex::kMaxEpochs);
    CHECK(t.converged);
    CHECK(r.converged);
    CHECK(t.epochs == r.epochs);
    CHECK(t.epochs < ex::kMaxEpochs);
    CHECK(close(t.w[0], r.w1));
    CHECK(close(t.w[1], r.w2));
    CHECK(close(t.b, r.b));
    REQUIRE(t.log.size() == r.errors.size());
    for (std::size_t e = 0; e < t.log.size(); ++e) CHECK(t.log[e].errors == r.errors[e]);
    for (int i = 0; i < 4; ++i) CHECK(((t.w[0] * x[i][0] + t.w[1] * x[i][1] + t.b >= 0) ? 1.0 : 0.0) == y[i]);
  }
  // The initial weights come from the seeded generator: the same seed, the same run.
  const ex::Training a = ex::learn(ex::truth_inputs(), ex::and_targets(), ex::kEta, ex::kMaxEpochs, ex::kSeed);
  const ex::Training b = ex::learn(ex::truth_inputs(), ex::and_targets(), ex::kEta, ex::kMaxEpochs, ex::kSeed);
  CHECK(a.w0 == b.w0);
  CHECK(a.w == b.w);
}

TEST_CASE("ex01: the perceptron rule never converges on XOR") {
  const ex::Training t = ex::learn(ex::truth_inputs(), ex::xor_targets(), ex::kEta, ex::kMaxEpochs, ex::kSeed);
  CHECK_FALSE(t.converged);
  CHECK(t.epochs == ex::kMaxEpochs);
  for (const ex::EpochLog& e : t.log) CHECK(e.errors >= 1);
  const Replay r = replay(t, {0, 1, 1, 0}, ex::kEta, ex::kMaxEpochs);
  CHECK_FALSE(r.converged);
  CHECK(close(t.w[0], r.w1));
  CHECK(close(t.b, r.b));
}
