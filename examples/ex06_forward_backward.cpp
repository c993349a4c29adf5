// ex06: deck 003's worked forward and backward pass (inputs [2, 3], w1..w6, α = 0.05), with the
// chain rule of every weight and the updated weights, next to the slides' numbers.
// Run: ./build/examples/ex06_forward_backward [--out DIR]   (writes ex06_graph.dot/.svg/.png)
#include <fmt/format.h>

#include "worked/ex06_forward_backward.hpp"

using namespace xgrad;
using namespace xgrad::examples;
namespace ex = xgrad::examples::ex06;

int main(int argc, char** argv) {
  const auto out_dir = output_dir(argc, argv);
  const ex::Result r = ex::run();

  heading("Forward pass (deck 003): inputs [2, 3], w1..w6 = 0.11, 0.21, 0.12, 0.08, 0.14, 0.15");
  fmt::print("h1 = 2 × .11 + 3 × .21 = {}   (slide: .85)\n", num(r.h1));
  fmt::print("h2 = 2 × .12 + 3 × .08 = {}   (slide: .48)\n", num(r.h2));
  fmt::print("prediction = .85 × .14 + .48 × .15 = {}   (slide: .191)\n", num(r.prediction));
  fmt::print("Matrix form: [2 3]·[[.11, .12], [.21, .08]] = {}, ·[.14, .15]ᵀ = {}\n", values(r.h_matrix), num(r.prediction_matrix));
  fmt::print("Error = ½(prediction - actual)² = ½({})² = {};  Δ = prediction - actual = {}   (slide: -0.809)\n",
             num(r.delta), num(r.error), num(r.delta));

  heading("Backward pass: the chain rule for every weight");
  fmt::print("∂Error/∂w6 = Δ h2 = {} · {} = {}\n", num(r.delta), num(r.h2), num(r.grad[5]));
  fmt::print("∂Error/∂w5 = Δ h1 = {} · {} = {}\n", num(r.delta), num(r.h1), num(r.grad[4]));
  fmt::print("∂Error/∂w4 = Δ w6 i2 = {} · 0.15 · 3 = {}\n", num(r.delta), num(r.grad[3]));
  fmt::print("∂Error/∂w3 = Δ w6 i1 = {} · 0.15 · 2 = {}\n", num(r.delta), num(r.grad[2]));
  fmt::print("∂Error/∂w2 = Δ w5 i2 = {} · 0.14 · 3 = {}\n", num(r.delta), num(r.grad[1]));
  fmt::print("∂Error/∂w1 = Δ w5 i1 = {} · 0.14 · 2 = {}\n", num(r.delta), num(r.grad[0]));
  fmt::print("\nAutograd's account of the same pass (autograd::explain):\n{}", r.explanation);

  heading("Weight update *w = w - α ∂Error/∂w, α = 0.05 (slide values rounded to 2 decimals)");
  const char* slide_step[6] = {"-0.011", "-0.017", "-0.012", "-0.018", "-0.034", "-0.019"};
  const char* slide_new[6] = {".12", ".23", ".13", ".10", ".17", ".17"};
  for (int k = 0; k < 6; ++k)
    fmt::print("*w{} = {} - ({}) = {:.6f}   (slide: α·∂Error/∂w{} = {}, *w{} = {})\n", k + 1, ex::kW[k],
               num(ex::kAlpha * r.grad[k], 5), r.updated[k], k + 1, slide_step[k], k + 1, slide_new[k]);
  fmt::print("\nMatrix form, [w1 w3; w2 w4] - αΔ[i1 i2]ᵀ[w5 w6] = {}\n", values(r.W_updated));
  fmt::print("             [w5 w6]ᵀ - αΔ[h1 h2]ᵀ           = {}\n", values(r.v_updated));
  fmt::print("(The slides' 2-decimal values are these rounded; nothing was rounded along the way here.)\n\n");

  render_dot(r.dot, out_dir / "ex06_graph");
  return 0;
}
