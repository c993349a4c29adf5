// ex03: a sigmoid neuron learned by gradient descent, the program of deck 003 with autograd computing
// grad_w and grad_b. Run: ./build/examples/ex03_sigmoid_neuron [--out DIR]   (writes ex03_error.csv and,
// with gnuplot, ex03_error.png: the error and (w, b) along the way)
#include <fmt/format.h>

#include <cmath>

#include "worked/ex03_sigmoid_neuron.hpp"

using namespace xgrad;
using namespace xgrad::examples;
namespace ex = xgrad::examples::ex03;

int main(int argc, char** argv) {
  const auto out_dir = output_dir(argc, argv);
  heading("Sigmoid neuron f(x) = 1/(1 + e^-(wx+b)) fitted to X = [0.5, 2.5], Y = [0.2, 0.9] (deck 003)");
  fmt::print("error(w, b) = Σ ½(f(x) - y)²;  w = b = -2, η = 1, 1000 epochs of w <- w - η∇w, b <- b - η∇b\n\n");

  const ex::Result r = ex::gradient_descent();
  // The first step by the slide's formulas, to compare with autograd.
  const double f1 = 1 / (1 + std::exp(-(-2 * 0.5 - 2))), f2 = 1 / (1 + std::exp(-(-2 * 2.5 - 2)));
  fmt::print("First step at w = b = -2: f(0.5) = σ(-3) = {:.6f}, f(2.5) = σ(-7) = {:.6f}\n", f1, f2);
  fmt::print("  ∇w = Σ (f(x) - y) f(x)(1 - f(x)) x = ({:.6f})({:.6f})(0.5) + ({:.6f})({:.6f})(2.5) = {:.8f}\n", f1 - 0.2,
             f1 * (1 - f1), f2 - 0.9, f2 * (1 - f2), (f1 - 0.2) * f1 * (1 - f1) * 0.5 + (f2 - 0.9) * f2 * (1 - f2) * 2.5);
  fmt::print("  ∇b = Σ (f(x) - y) f(x)(1 - f(x))                                      = {:.8f}\n",
             (f1 - 0.2) * f1 * (1 - f1) + (f2 - 0.9) * f2 * (1 - f2));
  fmt::print("  autograd (error.backward()): ∇w = {:.8f}, ∇b = {:.8f}\n\n", r.dw0, r.db0);

  fmt::print("epoch        w           b          error\n");
  std::string csv = "epoch,w,b,error\n";
  for (const ex::Snapshot& s : r.trace) {
    csv += fmt::format("{},{:.17g},{:.17g},{:.17g}\n", s.epoch, s.w, s.b, s.error);
    const bool show = s.epoch <= 5 || (s.epoch <= 100 && s.epoch % 25 == 0) || s.epoch % 100 == 0;
    if (show) fmt::print("{:5d}   {:10.6f}  {:10.6f}  {:.6g}\n", s.epoch, s.w, s.b, s.error);
  }
  fmt::print("\nAfter {} epochs: w = {:.6f}, b = {:.6f}, error = {:.3e}; f(0.5) = {:.4f} (y = 0.2), f(2.5) = {:.4f} (y = 0.9)\n",
             ex::kEpochs, r.w, r.b, r.error, 1 / (1 + std::exp(-(r.w * 0.5 + r.b))), 1 / (1 + std::exp(-(r.w * 2.5 + r.b))));
  fmt::print("The error falls slowly at first (the start is on the flat part of the error surface, where σ saturates),\n"
             "then quickly: the plateau-then-drop the slide's 'gradient descent on the error surface' animation shows.\n");

  write_file(out_dir / "ex03_error.csv", csv);
  run_gnuplot(fmt::format("set terminal pngcairo size 900,380 font 'Helvetica,10'\n"
                          "set output '{}'\nset datafile separator ','\nset key autotitle columnhead\n"
                          "set multiplot layout 1,2 title 'Sigmoid neuron, gradient descent (deck 003)'\n"
                          "set key right center\nset xlabel 'epoch'\nset ylabel 'error'\nset logscale y\n"
                          "plot '{}' using 1:4 with lines lw 2 title 'error'\n"
                          "unset logscale y\nset ylabel 'parameter'\n"
                          "plot '{}' using 1:2 with lines lw 2 title 'w', '' using 1:3 with lines lw 2 title 'b'\n"
                          "unset multiplot\n",
                          (out_dir / "ex03_error.png").string(), (out_dir / "ex03_error.csv").string(),
                          (out_dir / "ex03_error.csv").string()),
              out_dir / "ex03_error");
  fmt::print("Wrote {}\n", (out_dir / "ex03_error.csv").string());
  return 0;
}
