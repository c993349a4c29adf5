// Adam, AdamW, RMSprop and Adagrad against hand-written recurrences (plain doubles).
#include "optim/optim_test_util.hpp"

using namespace xgrad;
using namespace xgrad::optim;
using namespace xgrad::optim_test;

namespace {

// Textbook Adam with PyTorch's placements: m̂ = m / (1 - b1^t), v̂ = v / (1 - b2^t),
// w -= lr m̂ / (√v̂ + eps); AMSGrad keeps max(v) and uses it for v̂; AdamW first scales w by
// (1 - lr wd) and uses the plain gradient.
struct AdamRef {
  double lr, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.0;
  bool amsgrad = false, decoupled = false, maximize = false;
  Vec m{}, v{}, vmax{};
  void operator()(Vec& w, const Vec& g, int t) {
    if (m.empty()) m.assign(w.size(), 0.0), v.assign(w.size(), 0.0), vmax.assign(w.size(), 0.0);
    for (std::size_t i = 0; i < w.size(); ++i) {
      double d = maximize ? -g[i] : g[i];
      if (decoupled) w[i] *= 1.0 - lr * wd;
      else d += wd * w[i];
      m[i] = b1 * m[i] + (1.0 - b1) * d;
      v[i] = b2 * v[i] + (1.0 - b2) * d * d;
      vmax[i] = std::max(vmax[i], v[i]);
      const double m_hat = m[i] / (1.0 - std::pow(b1, t));
      const double v_hat = (amsgrad ? vmax[i] : v[i]) / (1.0 - std::pow(b2, t));
      w[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

// RMSprop: s = α s + (1-α) d²; centered: a = α a + (1-α) d, den = √(s - a²) + eps, else √s + eps;
// momentum: b = μ b + d / den, w -= lr b; else w -= lr d / den.
struct RmsRef {
  double lr, alpha = 0.99, eps = 1e-8, wd = 0.0, mu = 0.0;
  bool centered = false, maximize = false;
  Vec s{}, a{}, b{};
  void operator()(Vec& w, const Vec& g, int) {
    if (s.empty()) s.assign(w.size(), 0.0), a.assign(w.size(), 0.0), b.assign(w.size(), 0.0);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double d = (maximize ? -g[i] : g[i]) + wd * w[i];
      s[i] = alpha * s[i] + (1.0 - alpha) * d * d;
      double den;
      if (centered) {
        a[i] = alpha * a[i] + (1.0 - alpha) * d;
        den = std::sqrt(s[i] - a[i] * a[i]) + eps;
      } else {
        den = std::sqrt(s[i]) + eps;
      }
      if (mu > 0.0) {
        b[i] = mu * b[i] + d / den;
        w[i] -= lr * b[i];
      } else {
        w[i] -= lr * d / den;
      }
    }
  }
};

// Adagrad: S = S0 + Σ d², w -= lr / (1 + (t-1) κ) · d / (√S + eps).
struct AdagradRef {
  double lr, lr_decay = 0.0, wd = 0.0, init = 0.0, eps = 1e-10;
  bool maximize = false;
  Vec S{};
  void operator()(Vec& w, const Vec& g, int t) {
    if (S.empty()) S.assign(w.size(), init);
    const double clr = lr / (1.0 + (t - 1) * lr_decay);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double d = (maximize ? -g[i] : g[i]) + wd * w[i];
      S[i] += d * d;
      w[i] -= clr * d / (std::sqrt(S[i]) + eps);
    }
  }
};

template <class Opt, class Options>
void run(const Options& options, std::function<void(Vec&, const Vec&, int)> ref, int steps = 8) {
  Quadratic q;
  Tensor w = param(kW0);
  Opt opt({w}, options);
  compare_trajectory(opt, w, q, steps, ref);
}

}  // namespace

TEST_CASE("Adam: default betas and eps") {
  run<Adam>(AdamOptions(0.1), AdamRef{.lr = 0.1});
}

TEST_CASE("Adam: first step moves every coordinate by about lr") {
  // m̂ = g, v̂ = g², so w1 = w0 - lr g / (|g| + eps).
  Quadratic q;
  Tensor w = param(kW0);
  Adam opt({w}, AdamOptions(0.1));
  set_quadratic_grad(w, q);
  opt.step();
  const Vec g = q.grad(kW0);
  Vec expected(3);
  for (std::size_t i = 0; i < 3; ++i) expected[i] = kW0[i] - 0.1 * g[i] / (std::abs(g[i]) + 1e-8);
  check_close(w, expected);
  CHECK(opt.state(w).step == 1);
}

TEST_CASE("Adam: L2 weight decay, custom betas and eps") {
  run<Adam>(AdamOptions(0.05).betas({0.8, 0.95}).eps(1e-3).weight_decay(0.1),
            AdamRef{.lr = 0.05, .b1 = 0.8, .b2 = 0.95, .eps = 1e-3, .wd = 0.1});
}

TEST_CASE("Adam: amsgrad uses the running max of the second moment") {
  run<Adam>(AdamOptions(0.1).betas({0.9, 0.5}).amsgrad(true), AdamRef{.lr = 0.1, .b2 = 0.5, .amsgrad = true}, 12);
  // The branch matters on this problem: the trajectories differ.
  AdamRef with{.lr = 0.1, .b2 = 0.5, .amsgrad = true}, without{.lr = 0.1, .b2 = 0.5};
  Quadratic q;
  Vec w1 = kW0, w2 = kW0;
  for (int t = 1; t <= 12; ++t) {
    with(w1, q.grad(w1), t);
    without(w2, q.grad(w2), t);
  }
  CHECK(std::abs(w1[1] - w2[1]) > 1e-4);
}

TEST_CASE("Adam: maximize") {
  run<Adam>(AdamOptions(0.05).maximize(true).weight_decay(0.01), AdamRef{.lr = 0.05, .wd = 0.01, .maximize = true});
}

TEST_CASE("AdamW: decoupled weight decay, default 1e-2") {
  CHECK(AdamWOptions().weight_decay() == 1e-2);
  CHECK(AdamOptions().weight_decay() == 0.0);
  run<AdamW>(AdamWOptions(0.1), AdamRef{.lr = 0.1, .wd = 1e-2, .decoupled = true});
  run<AdamW>(AdamWOptions(0.05).weight_decay(0.3).betas({0.85, 0.9}),
             AdamRef{.lr = 0.05, .b1 = 0.85, .b2 = 0.9, .wd = 0.3, .decoupled = true});
}

TEST_CASE("AdamW: amsgrad and maximize") {
  run<AdamW>(AdamWOptions(0.1).betas({0.9, 0.5}).amsgrad(true).weight_decay(0.2),
             AdamRef{.lr = 0.1, .b2 = 0.5, .wd = 0.2, .amsgrad = true, .decoupled = true}, 12);
  run<AdamW>(AdamWOptions(0.1).maximize(true), AdamRef{.lr = 0.1, .wd = 1e-2, .decoupled = true, .maximize = true});
}

TEST_CASE("AdamW and Adam differ when weight decay is on, agree when it is off") {
  Quadratic q;
  Tensor w1 = param(kW0), w2 = param(kW0);
  Adam adam({w1}, AdamOptions(0.1));
  AdamW adamw({w2}, AdamWOptions(0.1).weight_decay(0.0));
  for (int t = 0; t < 4; ++t) {
    set_quadratic_grad(w1, q);
    set_quadratic_grad(w2, q);
    adam.step();
    adamw.step();
  }
  check_close(w2, w1.to_vector<double>());
}

TEST_CASE("RMSprop: defaults") {
  run<RMSprop>(RMSpropOptions(0.01), RmsRef{.lr = 0.01});
  CHECK(RMSpropOptions().lr() == 1e-2);
  CHECK(RMSpropOptions().alpha() == 0.99);
}

TEST_CASE("RMSprop: centered") {
  run<RMSprop>(RMSpropOptions(0.01).alpha(0.9).centered(true), RmsRef{.lr = 0.01, .alpha = 0.9, .centered = true});
}

TEST_CASE("RMSprop: momentum buffer starts at zero") {
  run<RMSprop>(RMSpropOptions(0.01).momentum(0.9), RmsRef{.lr = 0.01, .mu = 0.9});
}

TEST_CASE("RMSprop: centered with momentum, weight decay and eps") {
  run<RMSprop>(RMSpropOptions(0.02).alpha(0.8).eps(1e-4).momentum(0.5).weight_decay(0.1).centered(true),
               RmsRef{.lr = 0.02, .alpha = 0.8, .eps = 1e-4, .wd = 0.1, .mu = 0.5, .centered = true});
}

TEST_CASE("RMSprop: maximize") {
  run<RMSprop>(RMSpropOptions(0.01).maximize(true).momentum(0.3), RmsRef{.lr = 0.01, .mu = 0.3, .maximize = true});
}

TEST_CASE("Adagrad: defaults") {
  run<Adagrad>(AdagradOptions(0.1), AdagradRef{.lr = 0.1});
  CHECK(AdagradOptions().lr() == 1e-2);
  CHECK(AdagradOptions().eps() == 1e-10);
}

TEST_CASE("Adagrad: lr decay, initial accumulator and weight decay") {
  run<Adagrad>(AdagradOptions(0.2).lr_decay(0.1).initial_accumulator_value(0.5).weight_decay(0.05).eps(1e-6),
               AdagradRef{.lr = 0.2, .lr_decay = 0.1, .wd = 0.05, .init = 0.5, .eps = 1e-6});
}

TEST_CASE("Adagrad: maximize") {
  run<Adagrad>(AdagradOptions(0.1).maximize(true), AdagradRef{.lr = 0.1, .maximize = true});
}

TEST_CASE("Adaptive optimizers: float32 parameters keep float32 state") {
  Tensor w = from_vector(std::vector<float>{1.0f, -2.0f}, {2});
  w.requires_grad_();
  Adam opt({w}, AdamOptions(0.1).amsgrad(true));
  w.set_grad(from_vector(std::vector<float>{0.5f, -0.25f}, {2}));
  opt.step();
  const auto v = w.to_vector<float>();
  CHECK(v[0] == doctest::Approx(0.9).epsilon(1e-6));
  CHECK(v[1] == doctest::Approx(-1.9).epsilon(1e-6));
  for (const char* name : {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}) CHECK(opt.state_buffer(w, name).dtype() == kFloat32);
}
