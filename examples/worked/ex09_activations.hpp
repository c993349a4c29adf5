#pragma once
// ex09: the activation-function table of the lectures (decks 000, 001, 002, 004): every function and
// its derivative computed by xgrad (the derivative by autograd, not by a formula) on a grid, next to the
// table's closed forms.

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "walkthrough.hpp"

namespace xgrad::examples::ex09 {

inline constexpr double kPreluAlpha = 0.25;   // PReLU's slope (learnable in a network; fixed here)
inline constexpr double kEluAlpha = 1.0;      // "Typically, α = 1" (deck 000)
inline constexpr double kLeakyAlpha = 0.01;   // max(0.01z, z) (deck 004; deck 002: α = 0.01)
inline constexpr double kSeluAlpha = 1.6732632423543772848170429916717;  // SELU's constants
inline constexpr double kSeluScale = 1.0507009873554804934193349852946;
inline constexpr double kSoftmaxOther1 = 1.0, kSoftmaxOther2 = -1.0;     // softmax([x, 1, -1])_1

/// The grid: x = -4, -3.95, ..., 4 (161 points, x = 0 exactly at the middle).
inline std::vector<double> grid() {
  std::vector<double> x;
  for (int i = -80; i <= 80; ++i) x.push_back(i / 20.0);
  return x;
}

/// One row of the table.
struct Activation {
  std::string id;          // "relu" (CSV column prefix)
  std::string name;        // "ReLU"
  std::string formula;     // the table's f(x)
  std::string derivative;  // the table's f'(x)
  std::function<double(double)> table_f, table_df;  // the closed forms, to compare with
  bool kink;               // not differentiable at 0: compared away from 0, the value at 0 reported
};

inline std::vector<Activation> table() {
  auto sig = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  auto softmax1 = [](double x) { return std::exp(x) / (std::exp(x) + std::exp(kSoftmaxOther1) + std::exp(kSoftmaxOther2)); };
  return {
      {"identity", "identity", "x", "1", [](double x) { return x; }, [](double) { return 1.0; }, false},
      {"step", "binary step", "0 for x < 0, 1 for x >= 0", "0 for x ≠ 0 (? at 0)", [](double x) { return x < 0 ? 0.0 : 1.0; },
       [](double) { return 0.0; }, true},
      {"sigmoid", "logistic (sigmoid)", "1/(1 + e^-x)", "f(x)(1 - f(x))", sig, [=](double x) { return sig(x) * (1 - sig(x)); }, false},
      {"tanh", "tanh", "2/(1 + e^-2x) - 1", "1 - f(x)²", [](double x) { return 2.0 / (1.0 + std::exp(-2 * x)) - 1.0; },
       [](double x) {
         const double f = 2.0 / (1.0 + std::exp(-2 * x)) - 1.0;
         return 1 - f * f;
       },
       false},
      {"arctan", "arctan", "tan⁻¹(x)", "1/(x² + 1)", [](double x) { return std::atan(x); }, [](double x) { return 1.0 / (x * x + 1.0); },
       false},
      {"relu", "ReLU", "0 for x < 0, x for x >= 0", "0 for x < 0, 1 for x >= 0", [](double x) { return x < 0 ? 0.0 : x; },
       [](double x) { return x < 0 ? 0.0 : 1.0; }, true},
      {"prelu", "PReLU (α = 0.25)", "αx for x < 0, x for x >= 0", "α for x < 0, 1 for x >= 0",
       [](double x) { return x < 0 ? kPreluAlpha * x : x; }, [](double x) { return x < 0 ? kPreluAlpha : 1.0; }, true},
      {"elu", "ELU (α = 1)", "α(e^x - 1) for x < 0, x for x >= 0", "f(x) + α for x < 0, 1 for x >= 0",
       [](double x) { return x < 0 ? kEluAlpha * (std::exp(x) - 1) : x; },
       [](double x) { return x < 0 ? kEluAlpha * (std::exp(x) - 1) + kEluAlpha : 1.0; }, true},
      {"selu", "SELU", "λα(e^x - 1) for x < 0, λx for x >= 0", "f(x) + λα for x < 0, λ for x >= 0",
       [](double x) { return x < 0 ? kSeluScale * kSeluAlpha * (std::exp(x) - 1) : kSeluScale * x; },
       [](double x) { return x < 0 ? kSeluScale * kSeluAlpha * std::exp(x) : kSeluScale; }, true},
      {"softplus", "SoftPlus", "ln(1 + e^x)", "1/(1 + e^-x)", [](double x) { return std::log(1 + std::exp(x)); }, sig, false},
      {"leaky_relu", "Leaky ReLU (α = 0.01)", "max(αx, x)", "1 for x > 0, α for x <= 0", [](double x) { return std::max(kLeakyAlpha * x, x); },
       [](double x) { return x > 0 ? 1.0 : kLeakyAlpha; }, true},
      {"softmax1", "softmax([x, 1, -1])_1", "e^x / (e^x + e^1 + e^-1)", "e^x (e^1 + e^-1) / (e^x + e^1 + e^-1)^2", softmax1,
       [](double x) {
         const double s = std::exp(x) + std::exp(kSoftmaxOther1) + std::exp(kSoftmaxOther2);
         return std::exp(x) * (std::exp(kSoftmaxOther1) + std::exp(kSoftmaxOther2)) / (s * s);
       },
       false},
  };
}

/// f(x) with xgrad's op for row `k` of table(), on a 1-D float64 tensor x (softmax: on the first
/// column of (N, 3) logits [x, 1, -1], see evaluate()).
inline Tensor apply(std::size_t k, const Tensor& x) {
  switch (k) {
    case 0: return x * 1.0;  // identity (recorded, so that autograd has a node to differentiate)
    case 1: return heaviside(x, 1.0);  // the table's step: 1 at x = 0
    case 2: return sigmoid(x);
    case 3: return tanh(x);
    case 4: return atan(x);
    case 5: return relu(x);
    case 6: return prelu(x, tensor({kPreluAlpha}, kFloat64));
    case 7: return elu(x, kEluAlpha);
    case 8: return selu(x);
    case 9: return softplus(x);
    case 10: return leaky_relu(x, kLeakyAlpha);
    default: return x;
  }
}

/// One function on the grid.
struct Curve {
  std::vector<double> f, df;              // xgrad: the op, and autograd's derivative
  std::vector<double> table_f, table_df;  // the closed forms
  double max_err_f = 0, max_err_df = 0;   // max |xgrad - table| over the grid (x != 0 for kinks)
  double df_at_zero = 0;                  // autograd's derivative at x = 0 (the convention at kinks)
};

/// Evaluates row k of table() on grid(): f by xgrad's op; f' = d(Σ f(x_i))/dx_i by autograd (each
/// f(x_i) depends on x_i only).
inline Curve evaluate(std::size_t k, const Activation& a) {
  const std::vector<double> xs = grid();
  const auto n = static_cast<std::int64_t>(xs.size());
  Curve c;
  if (k == 11) {
    // softmax over the rows of (N, 3) logits [x, 1, -1]; the derivative of the first output with
    // respect to the first logit is the first column of the gradient of Σ_rows softmax(...)[:, 0].
    std::vector<double> logits;
    for (double x : xs) logits.insert(logits.end(), {x, kSoftmaxOther1, kSoftmaxOther2});
    const Tensor L = from_vector(logits, {n, 3}, kFloat64).requires_grad_();
    const Tensor first = narrow(softmax(L, 1), 1, 0, 1);
    sum(first).backward();
    c.f = first.detach().to_vector<double>();
    const std::vector<double> g = L.grad().to_vector<double>();
    for (std::int64_t i = 0; i < n; ++i) c.df.push_back(g[static_cast<std::size_t>(3 * i)]);
  } else {
    const Tensor x = from_vector(xs, {n}, kFloat64).requires_grad_();
    const Tensor y = apply(k, x);
    sum(y).backward();
    c.f = y.detach().to_vector<double>();
    c.df = x.grad().to_vector<double>();
  }
  for (std::size_t i = 0; i < xs.size(); ++i) {
    c.table_f.push_back(a.table_f(xs[i]));
    c.table_df.push_back(a.table_df(xs[i]));
    if (xs[i] == 0.0) c.df_at_zero = c.df[i];
    c.max_err_f = std::max(c.max_err_f, std::abs(c.f[i] - c.table_f[i]));
    if (!(a.kink && xs[i] == 0.0)) c.max_err_df = std::max(c.max_err_df, std::abs(c.df[i] - c.table_df[i]));
  }
  return c;
}

/// The CSV of every curve: x, then for each function its f and f' (xgrad) columns.
inline std::string csv(const std::vector<Activation>& acts, const std::vector<Curve>& curves) {
  const std::vector<double> xs = grid();
  std::string out = "x";
  for (const Activation& a : acts) out += fmt::format(",{}_f,{}_df", a.id, a.id);
  out += "\n";
  for (std::size_t i = 0; i < xs.size(); ++i) {
    out += fmt::format("{:.17g}", xs[i]);
    for (const Curve& c : curves) out += fmt::format(",{:.17g},{:.17g}", c.f[i], c.df[i]);
    out += "\n";
  }
  return out;
}

}  // namespace xgrad::examples::ex09
