// ex02: XOR with a hidden layer (deck 003): the slide's hand-set sigmoid network, then the same shape of
// network trained from random weights by backpropagation. Run: ./build/examples/ex02_xor_mlp
#include <fmt/format.h>

#include "worked/ex02_xor_mlp.hpp"

using namespace xgrad;
using namespace xgrad::examples;
namespace ex = xgrad::examples::ex02;

int main() {
  heading("1. Deck 003's hand-set network: W1 = 20, W2 = -20, W3 = 20, W4 = -20, W5 = 20, W6 = 20; b = -10, 30, -30");
  const ex::HandSet h = ex::hand_set();
  fmt::print("  h1 = σ(20x1 + 20x2 - 10) (OR),  h2 = σ(-20x1 - 20x2 + 30) (NAND),  out = σ(20h1 + 20h2 - 30) (AND)\n\n");
  fmt::print("  (x1, x2) | z_h1   h1            | z_h2   h2            | z_out      out           ≈ | XOR\n");
  const double truth[4] = {0, 0, 1, 1};
  for (std::int64_t i = 0; i < 4; ++i) {
    const double o = h.out.at({i, 0});
    fmt::print("  ({}, {})   | {:>4}   {:<13.6g} | {:>4}   {:<13.6g} | {:<9.6g}  {:<13.6g} {} | {}\n", h.x.at({i, 0}),
               h.x.at({i, 1}), h.z_hidden.at({i, 0}), h.hidden.at({i, 0}), h.z_hidden.at({i, 1}), h.hidden.at({i, 1}),
               h.z_out.at({i, 0}), o, o > 0.5 ? 1 : 0, truth[i]);
  }
  fmt::print("\n  The slides write σ(-10) ≈ 0 and σ(10) ≈ 1: exactly, σ(-10) = {:.6g} and σ(10) = {:.6g}, so the\n"
             "  second layer sees h ≈ 0 or 1 and gives out ≈ {:.3g} for XOR = 0 and ≈ {:.6g} for XOR = 1.\n",
             h.hidden.at({0, 0}), h.hidden.at({2, 0}), h.out.at({0, 0}), h.out.at({2, 0}));

  heading("2. The same 2-3-1 sigmoid network trained from random weights (backpropagation + SGD)");
  fmt::print("Weights uniform in [-1, 1) after manual_seed({}); loss = mean((out - y)²); SGD lr = {}; {} epochs.\n", ex::kSeed,
             ex::kLr, ex::kEpochs);
  const ex::Trained t = ex::train();
  for (const auto& [epoch, loss] : t.loss_log) fmt::print("  epoch {:5d}  loss {:.6f}\n", epoch, loss);
  fmt::print("Outputs after training:\n");
  for (std::int64_t i = 0; i < 4; ++i)
    fmt::print("  ({}, {}) -> {:.4f}  (target {})\n", h.x.at({i, 0}), h.x.at({i, 1}), t.out.at({i, 0}), truth[i]);
  fmt::print("Learned hidden weights {} and biases {}; output weights {} and bias {}.\n", values(t.w1), values(t.b1),
             values(t.w2), values(t.b2));
  return 0;
}
