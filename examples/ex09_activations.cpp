// ex09: the activation functions of the lecture tables (decks 000, 001, 002, 004) and their
// derivatives: xgrad's op and autograd's derivative on a grid, compared with the tables' closed forms,
// written to CSV and plotted with gnuplot.
// Run: ./build/examples/ex09_activations [--out DIR]   (writes ex09_activations.csv, and with gnuplot
// ex09_activations.png)
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "worked/ex09_activations.hpp"

using namespace xgrad;
using namespace xgrad::examples;
namespace ex = xgrad::examples::ex09;

int main(int argc, char** argv) {
  const auto out_dir = output_dir(argc, argv);
  const std::vector<ex::Activation> acts = ex::table();
  std::vector<ex::Curve> curves;
  for (std::size_t k = 0; k < acts.size(); ++k) curves.push_back(ex::evaluate(k, acts[k]));

  heading("Activation functions: xgrad op + autograd derivative vs the table's closed forms, x in [-4, 4] step 0.05");
  fmt::print("{:<22} {:<40} {:<44} {:>10} {:>10}\n", "function", "f(x)", "f'(x) (table)", "max|Δf|", "max|Δf'|");
  bool all_ok = true;
  for (std::size_t k = 0; k < acts.size(); ++k) {
    const ex::Activation& a = acts[k];
    const ex::Curve& c = curves[k];
    all_ok = all_ok && c.max_err_f < 1e-12 && c.max_err_df < 1e-12;
    fmt::print("{:<22} {:<40} {:<44} {:>10.1e} {:>10.1e}\n", a.name, a.formula, a.derivative, c.max_err_f, c.max_err_df);
  }
  fmt::print("{}\n", all_ok ? "Every derivative from autograd agrees with the table (to 1e-12) away from the kinks."
                            : "MISMATCH: some derivative disagrees with the table.");

  heading("At the kink x = 0 the derivative is a convention");
  for (std::size_t k = 0; k < acts.size(); ++k) {
    if (!acts[k].kink) continue;
    // The one-sided derivatives at 0, from the table's formulas just left and right of 0.
    const double left = acts[k].table_df(std::nextafter(0.0, -1.0)), right = acts[k].table_df(std::nextafter(0.0, 1.0));
    const double d0 = curves[k].df_at_zero;
    const bool subgradient = d0 >= std::min(left, right) && d0 <= std::max(left, right);
    fmt::print("{:<22} table's f'(0) = {:<6} [f'(0-), f'(0+)] = {:<14} xgrad's f'(0) = {}{}\n", acts[k].name,
               k == 1 ? std::string("?") : num(acts[k].table_df(0.0)), fmt::format("[{}, {}]", num(left), num(right)), num(d0),
               subgradient ? "" : "  <- outside [f'(0-), f'(0+)]: not a subgradient");
  }
  fmt::print("(ReLU: the table's '1 for x >= 0' vs xgrad's 0 at the kink, like PyTorch; both are subgradients. The step's\n"
             " derivative is 0 everywhere else and undefined at 0, so gradient descent cannot train a perceptron. xgrad's\n"
             " prelu = relu(x) - a·relu(-x) gives 0 at x = 0, outside [a, 1]; its header says a.)\n");

  heading("Sample values");
  for (double x : {-2.0, -0.5, 0.5, 2.0}) {
    const auto i = static_cast<std::size_t>(std::lround((x + 4.0) * 20.0));
    fmt::print("x = {:4}:", x);
    for (std::size_t k : {2u, 3u, 5u, 7u, 9u}) fmt::print("  {} {} (f' {})", acts[k].name.substr(0, acts[k].name.find(' ')),
                                                          num(curves[k].f[i]), num(curves[k].df[i]));
    fmt::print("\n");
  }

  const auto csv_path = out_dir / "ex09_activations.csv";
  write_file(csv_path, ex::csv(acts, curves));
  fmt::print("\nWrote {}\n", csv_path.string());
  std::string gp = fmt::format(
      "set terminal pngcairo size 1400,1000 font 'Helvetica,10'\nset output '{}'\nset datafile separator ','\n"
      "set multiplot layout 3,4 title 'Activation functions (solid) and their derivatives by autograd (dashed)'\n"
      "set grid\nset key top left\nset xrange [-4:4]\nset xzeroaxis\n",
      (out_dir / "ex09_activations.png").string());
  for (std::size_t k = 0; k < acts.size(); ++k)
    gp += fmt::format("set title '{}'\nplot '{}' using 1:{} every ::1 with lines lw 2 title 'f', '' using 1:{} every ::1 with lines lw 2 dt 2 title \"f'\"\n",
                      acts[k].name, csv_path.string(), 2 + 2 * k, 3 + 2 * k);
  gp += "unset multiplot\n";
  run_gnuplot(gp, out_dir / "ex09_activations");
  if (have_program("gnuplot")) fmt::print("Wrote {}\n", (out_dir / "ex09_activations.png").string());
  return 0;
}
