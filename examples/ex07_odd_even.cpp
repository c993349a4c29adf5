// ex07: deck 004's backpropagation example (inputs (2, 9), target 1, three sigmoid hidden neurons):
// forward pass, error, ∂E/∂w7 and ∂E/∂w1 by the chain rule, the updates, and the four practice
// answers, each next to the slide's printed number, with the reason wherever they differ.
// Run: ./build/examples/ex07_odd_even [--out DIR]   (writes ex07_graph.dot/.svg/.png)
#include <fmt/format.h>

#include "worked/ex07_odd_even.hpp"

using namespace xgrad;
using namespace xgrad::examples;
namespace ex = xgrad::examples::ex07;

int main(int argc, char** argv) {
  const auto out_dir = output_dir(argc, argv);
  const ex::Exact e = ex::exact();
  const ex::Slide s = ex::slide();

  heading("Forward pass (deck 004): x = (2, 9), b1 = 0.1, b2 = 0.2, target 1");
  fmt::print("a1 = σ(0.2·2 + 0.8·9 + 0.1) = σ({}) = {:.8f}   (slide: 0.9995)\n", num(e.z1), e.a1);
  fmt::print("a2 = σ(0.6·2 + 0.3·9 + 0.1) = σ({}) = {:.8f}   (slide: 0.9820)\n", num(e.z2), e.a2);
  fmt::print("a3 = σ(0.1·2 + 0.7·9 + 0.1) = σ({}) = {:.8f}   (slide: 0.9986)\n", num(e.z3), e.a3);
  fmt::print("ŷ = σ(a1·0.4 + a2·0.5 + a3·0.9 + 0.2) = σ({:.6f}) = {:.8f}   (slide: σ(1.9895) = 0.8796)\n", e.z, e.out);
  fmt::print("E = ½(1 - ŷ)² = {:.8f}   (slide: 0.00724808)\n", e.E);

  heading("Backward pass: ∂E/∂w7 = ∂E/∂out · ∂out/∂z · ∂z/∂w7");
  fmt::print("∂E/∂out = -(1 - ŷ) = {:.6f}      ∂out/∂z = ŷ(1 - ŷ) = {:.6f}      ∂z/∂w7 = a1 = {:.6f}\n", e.dE_dout, e.dout_dz,
             e.dz_dw7);
  fmt::print("∂E/∂w7 = ({:.6f})·({:.6f})·({:.6f}) = {:.8f}   (slide: -0.1204 · 0.1059 · 0.9995 = -0.0127)\n", e.dE_dout,
             e.dout_dz, e.dz_dw7, e.grad[6]);
  fmt::print("w7 = 0.4 - 0.1·({:.8f}) = {:.8f}   (slide: 0.40127)\n", e.grad[6], e.updated[6]);

  heading("Backward pass: ∂E/∂w1 = ∂E/∂out · ∂out/∂z · ∂z/∂a1 · ∂a1/∂z1 · ∂z1/∂w1");
  fmt::print("∂E/∂z = ∂E/∂out · ∂out/∂z = {:.8f}   (slide: -0.01275)\n", e.dE_dz);
  fmt::print("∂E/∂a1 = ∂E/∂z · ∂z/∂a1 = {:.8f} · {} = {:.8f}   (slide: -0.0051)\n", e.dE_dz, num(e.dz_da1), e.dE_da1);
  fmt::print("∂a1/∂z1 = a1(1 - a1) = {:.8f}   (slide: 0.9995·(1 - 0.9995) = 0.00049975)\n", e.da1_dz1);
  fmt::print("∂E/∂w1 = ∂E/∂a1 · ∂a1/∂z1 · ∂z1/∂w1 = {:.6e} · {:.6e} · {} = {:.6e}   (slide: -5.097E-6)\n", e.dE_da1,
             e.da1_dz1, num(e.dz1_dw1), e.grad[0]);
  fmt::print("w1 = 0.2 - 0.1·({:.6e}) = {:.10f}   (slide: 0.20000051)\n", e.grad[0], e.updated[0]);

  heading("The same chains from autograd's backward pass (autograd::explain; every node is listed at the end)");
  fmt::print("{}", e.explanation.substr(e.explanation.find("Chain rule")));

  heading("All weights after one update (learning rate 0.1); the slide's practice answers are w2, w6, w8, w9");
  for (int k = 0; k < 9; ++k)
    fmt::print("w{} = {} - 0.1·({:.6e}) = {:.11f}\n", k + 1, ex::kW[k], e.grad[k], e.updated[k]);

  heading("Slide vs float64: every printed number, the slide's own arithmetic redone, and the exact value");
  fmt::print("The slides round each intermediate value to ~4 digits and go on with the rounded number; here nothing is\n"
             "rounded. 'slide arithmetic' redoes the slides' steps on their printed numbers (and reproduces them).\n\n");
  fmt::print("{:<24} {:>16} {:>18} {:>18}  {}\n", "quantity", "slide", "slide arithmetic", "exact float64", "exact vs slide");
  for (const ex::Row& row : ex::comparison(e, s)) {
    const bool agrees = agrees_to_decimals(row.exact, row.printed, row.decimals);
    const std::string verdict = agrees ? "agrees" : "differs: " + row.why;
    if (row.decimals >= 9 && std::abs(row.printed) < 1e-3) {
      fmt::print("{:<24} {:>16.4g} {:>18.6g} {:>18.6g}  {}\n", row.quantity, row.printed, row.recomputed, row.exact, verdict);
    } else {
      fmt::print("{:<24} {:>16.{}f} {:>18.{}f} {:>18.{}f}  {}\n", row.quantity, row.printed, row.decimals, row.recomputed,
                 row.decimals + 2, row.exact, row.decimals + 2, verdict);
    }
  }
  fmt::print("\n");
  render_dot(e.dot, out_dir / "ex07_graph");

  heading("Appendix: the backward pass node by node (autograd::explain)");
  fmt::print("{}", e.explanation.substr(0, e.explanation.find("Chain rule")));
  return 0;
}
