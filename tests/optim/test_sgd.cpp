// SGD against hand-written recurrences (plain doubles) on a small quadratic.
#include "optim/optim_test_util.hpp"

using namespace xgrad;
using namespace xgrad::optim;
using namespace xgrad::optim_test;

namespace {

// PyTorch-style SGD reference: d = s g + wd w; b = d (first) or mu b + (1 - damp) d;
// w -= lr (nesterov ? d + mu b : b) (or w -= lr d without momentum).
struct SgdRef {
  double lr, mu = 0.0, damp = 0.0, wd = 0.0;
  bool nesterov = false, maximize = false;
  Vec b{};
  void operator()(Vec& w, const Vec& g, int t) {
    if (b.empty()) b.assign(w.size(), 0.0);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double d = (maximize ? -g[i] : g[i]) + wd * w[i];
      if (mu == 0.0) {
        w[i] -= lr * d;
        continue;
      }
      b[i] = t == 1 ? d : mu * b[i] + (1.0 - damp) * d;
      w[i] -= lr * (nesterov ? d + mu * b[i] : b[i]);
    }
  }
};

// Keras / lecture-slides reference: v = mu v - lr d; w += v (nesterov: w += mu v - lr d).
struct KerasRef {
  double lr, mu, wd = 0.0;
  bool nesterov = false;
  Vec v{};
  void operator()(Vec& w, const Vec& g, int) {
    if (v.empty()) v.assign(w.size(), 0.0);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double d = g[i] + wd * w[i];
      v[i] = mu * v[i] - lr * d;
      w[i] += nesterov ? mu * v[i] - lr * d : v[i];
    }
  }
};

void run_sgd(const SGDOptions& options, std::function<void(Vec&, const Vec&, int)> ref, int steps = 6) {
  Quadratic q;
  Tensor w = param(kW0);
  SGD opt({w}, options);
  compare_trajectory(opt, w, q, steps, ref);
}

}  // namespace

TEST_CASE("SGD: plain gradient descent follows w -= lr g") {
  run_sgd(SGDOptions(0.1), SgdRef{.lr = 0.1});
}

TEST_CASE("SGD: first step by hand") {
  // w0 = (1, -2, 0.5), g = a (w - c) = (0.7, -5.4, 0.85); w1 = w0 - 0.1 g.
  Quadratic q;
  Tensor w = param(kW0);
  SGD opt({w}, SGDOptions(0.1));
  set_quadratic_grad(w, q);
  opt.step();
  check_close(w, {1.0 - 0.07, -2.0 + 0.54, 0.5 - 0.085});
}

TEST_CASE("SGD: weight decay adds wd * w to the gradient") {
  run_sgd(SGDOptions(0.1).weight_decay(0.05), SgdRef{.lr = 0.1, .wd = 0.05});
}

TEST_CASE("SGD: momentum buffer starts at the gradient") {
  run_sgd(SGDOptions(0.05).momentum(0.9), SgdRef{.lr = 0.05, .mu = 0.9});
}

TEST_CASE("SGD: momentum with dampening and weight decay") {
  run_sgd(SGDOptions(0.05).momentum(0.8).dampening(0.3).weight_decay(0.01),
          SgdRef{.lr = 0.05, .mu = 0.8, .damp = 0.3, .wd = 0.01});
}

TEST_CASE("SGD: nesterov momentum with weight decay") {
  run_sgd(SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(0.02),
          SgdRef{.lr = 0.05, .mu = 0.9, .wd = 0.02, .nesterov = true});
}

TEST_CASE("SGD: maximize ascends (with momentum and weight decay)") {
  run_sgd(SGDOptions(0.02).momentum(0.5).weight_decay(0.1).maximize(true),
          SgdRef{.lr = 0.02, .mu = 0.5, .wd = 0.1, .maximize = true});
  run_sgd(SGDOptions(0.02).maximize(true), SgdRef{.lr = 0.02, .maximize = true});
}

TEST_CASE("SGD: Keras momentum style v = mu v - lr g, w += v") {
  run_sgd(SGDOptions(0.05).momentum(0.9).momentum_style(MomentumStyle::keras), KerasRef{.lr = 0.05, .mu = 0.9});
  run_sgd(SGDOptions(0.05).momentum(0.9).weight_decay(0.03).momentum_style(MomentumStyle::keras),
          KerasRef{.lr = 0.05, .mu = 0.9, .wd = 0.03});
}

TEST_CASE("SGD: Keras nesterov w += mu v - lr g") {
  run_sgd(SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(0.03).momentum_style(MomentumStyle::keras),
          KerasRef{.lr = 0.05, .mu = 0.9, .wd = 0.03, .nesterov = true});
}

TEST_CASE("SGD: PyTorch and Keras momentum agree for a constant lr and differ after an lr change") {
  Quadratic q;
  Tensor w1 = param(kW0), w2 = param(kW0);
  SGD torch_style({w1}, SGDOptions(0.05).momentum(0.9));
  SGD keras_style({w2}, SGDOptions(0.05).momentum(0.9).momentum_style(MomentumStyle::keras));
  for (int t = 0; t < 5; ++t) {
    set_quadratic_grad(w1, q);
    set_quadratic_grad(w2, q);
    torch_style.step();
    keras_style.step();
    check_close(w2, w1.to_vector<double>(), 1e-12);
  }
  // The velocity is -lr times PyTorch's buffer.
  const Vec b = torch_style.state_buffer(w1, "momentum_buffer").to_vector<double>();
  const Vec v = keras_style.state_buffer(w2, "velocity").to_vector<double>();
  for (std::size_t i = 0; i < b.size(); ++i) CHECK(v[i] == doctest::Approx(-0.05 * b[i]).epsilon(1e-12));

  // After halving lr, PyTorch rescales the whole buffer: its next step is lr' (mu b + g); Keras keeps
  // the old velocity: mu v - lr' g.
  torch_style.param_group(0).options().set_lr(0.025);
  keras_style.param_group(0).options().set_lr(0.025);
  const Vec w_before = w1.to_vector<double>();
  const Vec g = q.grad(w_before);
  set_quadratic_grad(w1, q);
  set_quadratic_grad(w2, q);
  torch_style.step();
  keras_style.step();
  Vec expect_torch(3), expect_keras(3);
  for (std::size_t i = 0; i < 3; ++i) {
    expect_torch[i] = w_before[i] - 0.025 * (0.9 * b[i] + g[i]);
    expect_keras[i] = w_before[i] + 0.9 * v[i] - 0.025 * g[i];
  }
  check_close(w1, expect_torch);
  check_close(w2, expect_keras);
  CHECK(std::abs(expect_torch[1] - expect_keras[1]) > 1e-3);
}

TEST_CASE("SGD: updates are in place and reuse the momentum buffer") {
  Quadratic q;
  Tensor w = param(kW0);
  SGD opt({w}, SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-3));
  const double* data = w.data<double>();
  const auto v0 = w.version();
  set_quadratic_grad(w, q);
  opt.step();
  const Tensor buf = opt.state_buffer(w, "momentum_buffer");
  REQUIRE(buf.defined());
  const double* buf_data = buf.data<double>();
  for (int t = 0; t < 3; ++t) {
    set_quadratic_grad(w, q);
    opt.step();
  }
  CHECK(w.data<double>() == data);
  CHECK(opt.state_buffer(w, "momentum_buffer").data<double>() == buf_data);
  CHECK(w.version() > v0);
  CHECK(opt.state(w).step == 4);
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
}

TEST_CASE("SGD: float32 parameters") {
  Tensor w = from_vector(std::vector<float>{1.0f, -2.0f}, {2});
  w.requires_grad_();
  SGD opt({w}, SGDOptions(0.5).momentum(0.5));
  w.set_grad(from_vector(std::vector<float>{1.0f, 2.0f}, {2}));
  opt.step();  // b = g; w -= 0.5 g
  opt.step();  // b = 0.5 g + g; w -= 0.5 * 1.5 g
  const auto v = w.to_vector<float>();
  CHECK(v[0] == doctest::Approx(1.0 - 0.5 - 0.75));
  CHECK(v[1] == doctest::Approx(-2.0 - 1.0 - 1.5));
  CHECK(opt.state_buffer(w, "momentum_buffer").dtype() == kFloat32);
}
