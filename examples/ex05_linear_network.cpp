// ex05: deck 000's one-hidden-layer linear network, forward pass, every gradient by the chain rule, and
// one gradient-descent step, printed next to the slides' numbers.
// Run: ./build/examples/ex05_linear_network [--out DIR]   (writes ex05_graph.dot/.svg/.png)
#include <fmt/format.h>

#include "worked/ex05_linear_network.hpp"

using namespace xgrad;
using namespace xgrad::examples;
namespace ex = xgrad::examples::ex05;

int main(int argc, char** argv) {
  const auto out_dir = output_dir(argc, argv);
  const ex::Result r = ex::one_step();

  heading("Forward pass (deck 000): x = [1, 2], W1 = [[0.5, 0.2], [0.3, 0.8], [0.6, 0.4]], b1 = 0.1, W2 = [0.4, 0.3, 0.2], b2 = 0.1");
  fmt::print("z1 = W1 x + b1 = [0.5+0.4+0.1, 0.3+1.6+0.1, 0.6+0.8+0.1] = {}   (slide: [1.0, 2.0, 1.5]);  a1 = z1\n", values(r.a1));
  fmt::print("z2 = W2 a1 + b2 = 0.4·1.0 + 0.3·2.0 + 0.2·1.5 + 0.1 = {}   (slide: 1.4);  ŷ = a2 = z2\n", values(r.a2));
  fmt::print("L = ½(a2 - y)² = ½(1.4 - 1)² = {}\n", num(r.loss));

  heading("Gradients (deck 000's formulas; a = z, so ∂a/∂z = 1)");
  fmt::print("∂L/∂a2 = a2 - y = 0.4\n");
  fmt::print("∂L/∂W2 = (a2 - y) a1ᵀ = 0.4 · [1.0, 2.0, 1.5]    = {}   (slide: [0.4, 0.8, 0.6])\n", values(r.dW2));
  fmt::print("∂L/∂b2 = a2 - y                                = {}   (slide: 0.4)\n", values(r.db2));
  fmt::print("∂L/∂W1 = (a2 - y) W2ᵀ xᵀ = 0.4 · [0.4, 0.3, 0.2]ᵀ [1, 2] = {}\n", values(r.dW1));
  fmt::print("                                              (slide: [[0.16, 0.32], [0.12, 0.24], [0.08, 0.16]])\n");
  fmt::print("∂L/∂b1 = (a2 - y) W2ᵀ = 0.4 · [0.4, 0.3, 0.2]ᵀ   = {}   (slide: [0.16, 0.12, 0.08])\n", values(r.db1));

  heading("The same backward pass, node by node (autograd::explain)");
  fmt::print("{}", r.explanation);

  heading("One step of gradient descent, p <- p - η ∂L/∂p with η = 0.1 (optim::SGD)");
  fmt::print("W2 = [0.4, 0.3, 0.2] - 0.1·[0.4, 0.8, 0.6] = {}   (slide: [0.36, 0.22, 0.14])\n", values(r.W2));
  fmt::print("b2 = 0.1 - 0.1·0.4 = {}   (slide: 0.06)\n", values(r.b2));
  fmt::print("W1 = {}   (slide: [[0.484, 0.168], [0.288, 0.776], [0.592, 0.384]])\n", values(r.W1));
  fmt::print("b1 = {}   (slide: [0.084, 0.088, 0.092])\n", values(r.b1));
  fmt::print("(values() prints row-major; every number agrees with the slides, which here round nothing.)\n\n");

  render_dot(r.dot, out_dir / "ex05_graph");
  return 0;
}
