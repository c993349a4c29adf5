#pragma once
// Helpers of the optim tests: a tiny quadratic problem f(w) = ½ Σ a_i (w_i - c_i)² whose gradient
// a_i (w_i - c_i) the tests compute themselves, and comparisons against plain-double references.

#include <cmath>
#include <functional>
#include <vector>

#include "support/test_util.hpp"

#include <xgrad/optim/optim.hpp>

namespace xgrad::optim_test {

using Vec = std::vector<double>;

/// f(w) = ½ Σ a_i (w_i - c_i)².
struct Quadratic {
  Vec a{1.0, 2.0, 0.5};
  Vec c{0.3, 0.7, -1.2};
  Vec grad(const Vec& w) const {
    Vec g(w.size());
    for (std::size_t i = 0; i < w.size(); ++i) g[i] = a[i] * (w[i] - c[i]);
    return g;
  }
};

inline const Vec kW0{1.0, -2.0, 0.5};

/// A float64 parameter (leaf requiring grad) holding `values`.
inline Tensor param(const Vec& values) {
  Tensor t = from_vector(values, {static_cast<std::int64_t>(values.size())}, kFloat64);
  t.requires_grad_();
  return t;
}

/// Sets w's gradient to the quadratic's gradient at w's current value.
inline void set_quadratic_grad(Tensor& w, const Quadratic& q) {
  w.set_grad(from_vector(q.grad(w.to_vector<double>()), w.shape(), w.dtype()));
}

/// Checks `t` against `expected` element by element (relative 1e-12, absolute 1e-14).
inline void check_close(const Tensor& t, const Vec& expected, double rel = 1e-12) {
  const Vec got = t.to_vector<double>();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", expected " << expected[i]);
    CHECK(std::abs(got[i] - expected[i]) <= 1e-14 + rel * std::abs(expected[i]));
  }
}

/// Runs `steps` steps of `opt` on w (gradient from q) and of the reference update `ref` (which
/// updates its plain-double copy of w given the gradient and the 1-based step number), comparing
/// after every step.
inline void compare_trajectory(optim::Optimizer& opt, Tensor& w, const Quadratic& q, int steps,
                               const std::function<void(Vec& w, const Vec& g, int t)>& ref) {
  Vec w_ref = w.to_vector<double>();
  for (int t = 1; t <= steps; ++t) {
    const Vec g = q.grad(w_ref);
    set_quadratic_grad(w, q);
    opt.step();
    ref(w_ref, g, t);
    INFO("step " << t);
    check_close(w, w_ref);
  }
}

}  // namespace xgrad::optim_test
