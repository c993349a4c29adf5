// ex01: McCulloch-Pitts units, the perceptron, its learning rule, and why it cannot learn XOR
// (decks 001, 002, 003). Run: ./build/examples/ex01_perceptron
#include <fmt/format.h>

#include "worked/ex01_perceptron.hpp"

using namespace xgrad;
using namespace xgrad::examples;
namespace ex = xgrad::examples::ex01;

namespace {

std::string row_text(const Tensor& x, std::int64_t i) {
  std::string s = "(";
  for (std::int64_t j = 0; j < x.size(1); ++j) s += (j ? ", " : "") + num(x.at({i, j}));
  return s + ")";
}

void print_training(const char* what, const ex::Training& r) {
  fmt::print("{}: initial w = ({}, {}), b = {} (uniform in [-1, 1), manual_seed({}))\n", what, num(r.w0[0]), num(r.w0[1]),
             num(r.b0), ex::kSeed);
  for (const ex::EpochLog& e : r.log) {
    if (e.epoch > 6 && e.epoch + 3 < static_cast<int>(r.log.size())) {
      if (e.epoch == 7) fmt::print("  ...\n");
      continue;
    }
    fmt::print("  epoch {:3d}: {} error(s), w = ({}, {}), b = {}\n", e.epoch, e.errors, num(e.w[0]), num(e.w[1]), num(e.b));
  }
}

}  // namespace

int main() {
  heading("1. McCulloch-Pitts units (deck 003): y = 0 if an inhibitory input is on, else y = [Σ x_i >= θ]");
  for (const ex::MpGate& gate : ex::mp_gates()) {
    const Tensor x = ex::gate_inputs(gate);
    const Tensor y = ex::mp_neuron(x, gate.inhibitory, gate.theta);
    std::string inh;
    for (std::size_t j = 0; j < gate.inhibitory.size(); ++j)
      if (gate.inhibitory[j] != 0.0) inh += fmt::format(" x{}", j + 1);
    fmt::print("{:<12} θ = {}{}:", gate.name, num(gate.theta), inh.empty() ? "" : ", inhibitory:" + inh);
    for (std::int64_t i = 0; i < x.size(0); ++i) fmt::print("  {} -> {}", row_text(x, i), num(y.at({i})));
    fmt::print("\n");
  }
  fmt::print("A single unit realizes these because each is linearly separable; XOR is not (section 4).\n");

  heading("2. Perceptron with the step function u(z) = [z >= 0] (deck 003)");
  const Tensor x = ex::truth_inputs();
  const Tensor y_and = ex::and_perceptron(), y_or = ex::or_perceptron();
  fmt::print("AND: y1 = u((2 2)·x - 3)    OR: y2 = u((2 2)·x - 1)\n");
  for (std::int64_t i = 0; i < 4; ++i) {
    const double z_and = 2 * x.at({i, 0}) + 2 * x.at({i, 1}) - 3, z_or = z_and + 2;
    fmt::print("  x = {}:  AND z = {:2} -> {}    OR z = {:2} -> {}\n", row_text(x, i), num(z_and), num(y_and.at({i})), num(z_or),
               num(y_or.at({i})));
  }
  fmt::print("(xgrad::step(z) = heaviside(z, 0) gives 0 at z = 0; the slides' u(0) = 1 is heaviside(z, 1).)\n");

  heading("3. The perceptron learning rule w_j <- w_j + η (y - ŷ) x_j (decks 001, 002, 003)");
  {
    // Deck 002's one-sample example: η = 0.1, y - ŷ = 1, x = (1, 0, 1). The slide does not give w;
    // any w with w·x < 0 (so ŷ = 0) gives the same update.
    const Tensor w = tensor({-0.2, 0.4, -0.3}, kFloat64), xs = tensor({1.0, 0.0, 1.0}, kFloat64);
    double y_hat = 0;
    const Tensor dw = ex::rule_delta(w, xs, 1.0, 0.1, &y_hat);
    fmt::print("Deck 002, one sample: x = (1, 0, 1), y = 1, w = (-0.2, 0.4, -0.3) -> ŷ = u(w·x) = u(-0.5) = {}\n", num(y_hat));
    fmt::print("  η(y - ŷ)x = 0.1 · 1 · (1, 0, 1) = {}   (slide: 0.1, 0.0, 0.1)\n", values(dw));
    fmt::print("Deck 003 writes the same rule with η = 1 and the bias as w_0 (x_0 = 1): w = w + x for a missed\n"
               "positive, w = w - x for a missed negative.\n\n");
  }
  const ex::Training t_and = ex::learn(x, ex::and_targets(), ex::kEta, ex::kMaxEpochs, ex::kSeed);
  print_training("AND", t_and);
  fmt::print("  -> {} after {} epochs: w = ({}, {}), b = {}; outputs {}\n\n", t_and.converged ? "converged" : "NOT converged",
             t_and.epochs, num(t_and.w[0]), num(t_and.w[1]), num(t_and.b),
             values(ex::perceptron(x, tensor({t_and.w[0], t_and.w[1]}, kFloat64), t_and.b)));
  const ex::Training t_or = ex::learn(x, ex::or_targets(), ex::kEta, ex::kMaxEpochs, ex::kSeed);
  print_training("OR", t_or);
  fmt::print("  -> {} after {} epochs: w = ({}, {}), b = {}; outputs {}\n", t_or.converged ? "converged" : "NOT converged",
             t_or.epochs, num(t_or.w[0]), num(t_or.w[1]), num(t_or.b),
             values(ex::perceptron(x, tensor({t_or.w[0], t_or.w[1]}, kFloat64), t_or.b)));

  heading("4. XOR: no single perceptron (decks 002, 003)");
  const ex::Training t_xor = ex::learn(x, ex::xor_targets(), ex::kEta, ex::kMaxEpochs, ex::kSeed);
  print_training("XOR", t_xor);
  int min_errors = 4;
  for (const ex::EpochLog& e : t_xor.log) min_errors = std::min(min_errors, e.errors);
  fmt::print("  -> {} after the budget of {} epochs; every epoch made at least {} error(s).\n",
             t_xor.converged ? "converged (impossible!)" : "NOT converged", ex::kMaxEpochs, min_errors);
  // Find the cycle: the first epoch whose end state repeats at the end of the run.
  const ex::EpochLog& last = t_xor.log.back();
  for (const ex::EpochLog& e : t_xor.log) {
    if (e.epoch < last.epoch && e.w == last.w && e.b == last.b) {
      fmt::print("  The weights after epoch {} are back to those after epoch {}: the rule is going round in a cycle.\n",
                 last.epoch, e.epoch);
      break;
    }
  }
  fmt::print("The classes of XOR are not linearly separable: no line w·x + b = 0 puts (0,1), (1,0) on one side and\n"
             "(0,0), (1,1) on the other, so the rule keeps correcting forever. A hidden layer fixes it (ex02).\n");
  return 0;
}
