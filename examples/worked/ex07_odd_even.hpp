#pragma once
// ex07: deck 004's worked example "output 1 if |x1 - x2| is odd": inputs (2, 9), target 1, three
// sigmoid hidden neurons and a sigmoid output, biases b1 = 0.1 (hidden) and b2 = 0.2 (output):
//   z1 = w1 x1 + w4 x2 + b1,  z2 = w2 x1 + w5 x2 + b1,  z3 = w3 x1 + w6 x2 + b1,  a_k = σ(z_k)
//   z = a1 w7 + a2 w8 + a3 w9 + b2,  out = ŷ = σ(z),  E = ½(target - out)²,  learning rate 0.1
// with w1..w9 = 0.2, 0.6, 0.1, 0.8, 0.3, 0.7, 0.4, 0.5, 0.9 (read off the slide's sums:
// a1 = σ(0.2·2 + 0.8·9 + 0.1), a2 = σ(0.6·2 + 0.3·9 + 0.1), a3 = σ(0.1·2 + 0.7·9 + 0.1),
// ŷ = σ(0.9995·0.4 + 0.9820·0.5 + 0.9986·0.9 + 0.2)). The biases are constants, as on the slides.
//
// The slides round (and truncate) intermediate values and reuse the rounded numbers: a1 = 0.9995, so
// ∂a1/∂z1 = 0.9995·(1 - 0.9995) = 0.00049975 instead of 0.000452... (10% off). exact() computes in float64
// without rounding; slide() repeats the slides' arithmetic on their printed numbers.

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "walkthrough.hpp"

namespace xgrad::examples::ex07 {

inline constexpr double kX1 = 2.0, kX2 = 9.0, kB1 = 0.1, kB2 = 0.2, kTarget = 1.0, kLr = 0.1;
inline constexpr std::array<double, 9> kW = {0.2, 0.6, 0.1, 0.8, 0.3, 0.7, 0.4, 0.5, 0.9};

/// The float64 computation with xgrad.
struct Exact {
  double z1, z2, z3, a1, a2, a3, z, out, E;
  // The local derivatives of the slides' chains, each from autograd::grad.
  double dout_dz, dz_dw7, dz_da1, da1_dz1, dz1_dw1;
  // Gradients from the backward pass.
  double dE_dout, dE_dz, dE_da1;
  std::array<double, 9> grad;     // ∂E/∂w1 .. ∂E/∂w9
  std::array<double, 9> updated;  // w - 0.1 ∂E/∂w
  std::string explanation;        // explain() of the backward pass
  std::string dot;                // the network with values and gradients (Graphviz)
};

inline Exact exact() {
  Exact r{};
  const char* names[9] = {"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9"};
  TensorList w;
  for (int k = 0; k < 9; ++k) w.push_back(scalar_param(kW[k], names[k]));
  const Tensor z1 = named(w[0] * kX1 + w[3] * kX2 + kB1, "z1");
  const Tensor z2 = named(w[1] * kX1 + w[4] * kX2 + kB1, "z2");
  const Tensor z3 = named(w[2] * kX1 + w[5] * kX2 + kB1, "z3");
  const Tensor a1 = named(sigmoid(z1), "a1"), a2 = named(sigmoid(z2), "a2"), a3 = named(sigmoid(z3), "a3");
  const Tensor z = named(a1 * w[6] + a2 * w[7] + a3 * w[8] + kB2, "z");
  const Tensor out = named(sigmoid(z), "out");
  const Tensor E = named(0.5 * square(kTarget - out), "E");
  r.z1 = z1.item<double>();
  r.z2 = z2.item<double>();
  r.z3 = z3.item<double>();
  r.a1 = a1.item<double>();
  r.a2 = a2.item<double>();
  r.a3 = a3.item<double>();
  r.z = z.item<double>();
  r.out = out.item<double>();
  r.E = E.item<double>();

  // Each local derivative on its own: autograd::grad of one node's output with respect to its input.
  autograd::GradOptions keep;
  keep.retain_graph = true;
  auto d = [&](const Tensor& top, const Tensor& bottom) { return autograd::grad({top}, {bottom}, {}, keep)[0].item<double>(); };
  r.dout_dz = d(out, z);
  r.dz_dw7 = d(z, w[6]);
  r.dz_da1 = d(z, a1);
  r.da1_dz1 = d(a1, z1);
  r.dz1_dw1 = d(z1, w[0]);
  const TensorList g = autograd::grad({E}, {out, z, a1}, {}, keep);
  r.dE_dout = g[0].item<double>();
  r.dE_dz = g[1].item<double>();
  r.dE_da1 = g[2].item<double>();

  // The backward pass itself, recorded for the explanation and the picture.
  const TensorList inner = {z1, z2, z3, a1, a2, a3, z, out};
  const autograd::BackwardRecord rec = autograd::record_backward(E);
  r.explanation = autograd::explain(rec, E, inner);
  autograd::DotOptions dot;
  dot.named = inner;
  dot.record = &rec;
  dot.title = "deck 004: inputs (2, 9), target 1, E = 1/2 (1 - out)^2 (unnamed intermediate values left out)";
  dot.compact = true;
  r.dot = autograd::to_dot(E, dot);

  NoGradGuard no_grad;
  for (int k = 0; k < 9; ++k) {
    r.grad[k] = w[k].grad().item<double>();
    w[k].sub_(w[k].grad(), kLr);
    r.updated[k] = w[k].item<double>();
  }
  return r;
}

/// `v` rounded, or truncated, to `decimals` decimals.
inline double round_to(double v, int decimals) { return std::round(v * std::pow(10.0, decimals)) / std::pow(10.0, decimals); }
inline double truncate_to(double v, int decimals) { return std::trunc(v * std::pow(10.0, decimals)) / std::pow(10.0, decimals); }

/// The slides' arithmetic, step by step, on the numbers they print. Where a slide prints a rounded
/// value and then uses it, so does this (the comments say which value the next step uses).
struct Slide {
  double a1, a2, a3, z, out, E;
  double dE_dout, dout_dz, dE_dw7, w7;
  double dE_dz, dz_da1, dE_da1, da1_dz1, dz1_dw1, dE_dw1, w1;
  double w8, w9, w2, w6;  // the "practice calculations"
};

inline Slide slide() {
  auto sigma = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  Slide s{};
  s.a1 = round_to(sigma(7.7), 4);  // 0.9995
  s.a2 = round_to(sigma(4.0), 4);  // 0.9820
  s.a3 = round_to(sigma(6.6), 4);  // 0.9986
  s.z = round_to(s.a1 * 0.4 + s.a2 * 0.5 + s.a3 * 0.9 + kB2, 4);  // 1.98954 -> 1.9895
  s.out = truncate_to(sigma(s.z), 4);      // σ(1.9895) = 0.87969... printed (truncated) as 0.8796
  s.E = 0.5 * (kTarget - s.out) * (kTarget - s.out);  // 0.00724808
  s.dE_dout = -(kTarget - s.out);                     // -0.1204
  s.dout_dz = round_to(s.out * (1 - s.out), 4);       // 0.10590384 -> 0.1059
  s.dE_dw7 = round_to(s.dE_dout * s.dout_dz * s.a1, 4);  // -0.0127444... -> -0.0127
  s.w7 = 0.4 - kLr * s.dE_dw7;                        // 0.4 - 0.1·(-0.0127) = 0.40127
  const double dE_dz = s.dE_dout * s.dout_dz;         // -0.01275036
  s.dE_dz = round_to(dE_dz, 5);                       // printed -0.01275
  s.dz_da1 = 0.4;                                     // w7
  s.dE_da1 = round_to(s.dE_dz * s.dz_da1, 4);         // -0.0051
  s.da1_dz1 = s.a1 * (1 - s.a1);                      // 0.00049975
  s.dz1_dw1 = kX1;                                    // 2
  s.dE_dw1 = s.dE_da1 * s.da1_dz1 * s.dz1_dw1;        // -5.09745e-6, printed -5.097E-6
  s.w1 = 0.2 - kLr * round_to(s.dE_dw1, 9);           // 0.2 - 0.1·(-5.097e-6) = 0.2000005097, printed 0.20000051
  // Practice calculations: the slides use ∂E/∂z = -0.1204 · 0.1059 = -0.01275036 unrounded here.
  s.w8 = 0.5 - kLr * dE_dz * s.a2;
  s.w9 = 0.9 - kLr * dE_dz * s.a3;
  s.w2 = 0.6 - kLr * dE_dz * 0.5 * s.a2 * (1 - s.a2) * kX1;  // through w8 and a2
  s.w6 = 0.7 - kLr * dE_dz * 0.9 * s.a3 * (1 - s.a3) * kX2;  // through w9 and a3
  return s;
}

/// One line of the comparison slide / float64.
struct Row {
  std::string quantity;
  double printed;      // the number on the slide
  int decimals;        // the decimals it is printed with
  double recomputed;   // slide(): the slides' arithmetic on their printed numbers
  double exact;        // exact(): float64 without rounding
  std::string why;     // why the exact value differs at the slide's precision ("" when it agrees)
};

/// Every number of deck 004's example, as printed, recomputed, and exact.
inline std::vector<Row> comparison(const Exact& e, const Slide& s) {
  const std::string from_a = "the slide sums the rounded a1, a2, a3";
  const std::string from_out = "the slide's ŷ = 0.8796 (exact 0.87970)";
  return {
      {"a1 = σ(7.7)", 0.9995, 4, s.a1, e.a1, ""},
      {"a2 = σ(4)", 0.9820, 4, s.a2, e.a2, ""},
      {"a3 = σ(6.6)", 0.9986, 4, s.a3, e.a3, ""},
      {"z", 1.9895, 4, s.z, e.z, from_a + " (1.98954); exact 1.98960"},
      {"ŷ = out = σ(z)", 0.8796, 4, s.out, e.out, "σ(1.9895) = 0.87969 is printed truncated, and the exact z is larger"},
      {"E = ½(1 - ŷ)²", 0.00724808, 8, s.E, e.E, from_out},
      {"∂E/∂out = -(1 - ŷ)", -0.1204, 4, s.dE_dout, e.dE_dout, from_out},
      {"∂out/∂z = ŷ(1 - ŷ)", 0.1059, 4, s.dout_dz, e.dout_dz, from_out},
      {"∂z/∂w7 = a1", 0.9995, 4, s.a1, e.dz_dw7, ""},
      {"∂E/∂w7", -0.0127, 4, s.dE_dw7, e.grad[6], ""},
      {"w7 - 0.1·∂E/∂w7", 0.40127, 5, s.w7, e.updated[6], ""},
      {"∂E/∂z", -0.01275, 5, s.dE_dz, e.dE_dz, from_out},
      {"∂z/∂a1 = w7", 0.4, 1, s.dz_da1, e.dz_da1, ""},
      {"∂E/∂a1", -0.0051, 4, s.dE_da1, e.dE_da1, ""},
      {"∂a1/∂z1 = a1(1 - a1)", 0.00049975, 8, s.da1_dz1, e.da1_dz1,
       "the slide uses a1 = 0.9995, so 1 - a1 = 0.0005 instead of 0.00045262 (10% more)"},
      {"∂z1/∂w1 = x1", 2.0, 0, s.dz1_dw1, e.dz1_dw1, ""},
      {"∂E/∂w1", -5.097e-6, 9, s.dE_dw1, e.grad[0], "inherits the 10% of ∂a1/∂z1"},
      {"w1 - 0.1·∂E/∂w1", 0.20000051, 8, s.w1, e.updated[0], "inherits the 10% of ∂a1/∂z1"},
      {"practice: w8", 0.50125, 5, s.w8, e.updated[7], ""},
      {"practice: w9", 0.90127325094, 11, s.w9, e.updated[8], from_out + "; the slide truncates to 11 decimals"},
      {"practice: w2", 0.60002253753, 11, s.w2, e.updated[1], "rounded a2 and ŷ; the slide truncates to 11 decimals"},
      {"practice: w6", 0.70001443866, 11, s.w6, e.updated[5], "rounded a3 and ŷ; the slide truncates to 11 decimals"},
  };
}

}  // namespace xgrad::examples::ex07
