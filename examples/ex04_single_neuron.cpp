// Example 04 (deck 000): the single neuron as linear regression (diabetes, MSE) and as logistic
// regression (breast cancer, binary cross entropy), each trained with batch, stochastic and mini-batch
// gradient descent. Prints the loss curves, writes ex04_out/curves_<unit>.csv and plots them with gnuplot.
//
// Usage: ex04_single_neuron [--epochs N] [--out DIR]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "worked/ex04.hpp"

using namespace xgrad;
using namespace xgrad::worked::ex04;

int main(int argc, char** argv) {
  int epochs = 30;
  std::string out = "ex04_out";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--epochs") epochs = std::stoi(argv[i + 1]);
    else if (k == "--out") out = argv[i + 1];
  }
  std::filesystem::create_directories(out);
  const bool have_gnuplot = std::system("command -v gnuplot >/dev/null 2>&1") == 0;

  for (const Kind kind : {Kind::linear, Kind::logistic}) {
    const Data d = kind == Kind::linear ? diabetes() : breast_cancer();
    const char* unit = kind == Kind::linear ? "linear" : "logistic";
    std::printf("\n== %s unit on %s: %lld samples x %lld standardized features ==\n", unit, d.name.c_str(),
                static_cast<long long>(d.x.size(0)), static_cast<long long>(d.x.size(1)));
    std::printf(kind == Kind::linear ? "z = w.x + b, g(z) = z, L = 1/n sum (g(z) - y)^2, dL/dw = 2/n sum (g(z) - y) x\n"
                                     : "z = w.x + b, g(z) = sigmoid(z), L = BCE, dL/dw = 1/n sum (g(z) - y) x\n");
    std::vector<std::vector<double>> curves;
    for (const Variant& v : variants(kind)) {
      Neuron n;
      curves.push_back(train_unit(kind, d, v.batch_size, epochs, v.lr, &n));
      const auto& c = curves.back();
      std::printf("%-10s (batch %3lld, lr %g): loss %.4f -> %.4f", v.name,
                  static_cast<long long>(v.batch_size > 0 ? v.batch_size : d.x.size(0)), v.lr, c.front(), c.back());
      if (kind == Kind::logistic) std::printf(", train accuracy %.2f%%", 100.0 * accuracy(n, d));
      std::printf("\n");
    }
    const std::string csv = out + "/curves_" + unit + ".csv";
    std::ofstream f(csv);
    f << "epoch,batch,stochastic,minibatch\n";
    std::printf("epoch  batch     stochastic minibatch\n");
    for (int e = 0; e <= epochs; ++e) {
      f << e << ',' << curves[0][e] << ',' << curves[1][e] << ',' << curves[2][e] << '\n';
      if (e % 5 == 0 || e == epochs) std::printf("%5d  %-9.4f %-10.4f %-9.4f\n", e, curves[0][e], curves[1][e], curves[2][e]);
    }
    f.close();
    std::printf("wrote %s\n", csv.c_str());
    if (have_gnuplot) {
      const std::string png = out + "/curves_" + unit + ".png";
      const std::string cmd = "gnuplot -e \"set terminal png noenhanced size 800,500; set output '" + png +
                              "'; set datafile separator ','; set key autotitle columnhead; set xlabel 'epoch';"
                              " set ylabel 'loss'; set title '" + unit + " unit (" + d.name + ")'; set logscale y; plot '" +
                              csv + "' using 1:2 with linespoints, '' using 1:3 with linespoints, '' using 1:4 with linespoints\"";
      if (std::system(cmd.c_str()) == 0) std::printf("plotted %s\n", png.c_str());
    } else {
      std::printf("gnuplot not found: skipping the plot\n");
    }
  }
  return 0;
}
