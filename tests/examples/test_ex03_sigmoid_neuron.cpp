// ex03: deck 003's gradient descent for a sigmoid neuron, against a plain-double rerun of the slide's
// Python program (f, error, grad_w, grad_b, do_gradient_descent) and the first gradient by hand.
#include <xgrad/examples/worked/ex03_sigmoid_neuron.hpp>

#include "example_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace ex = xgrad::examples::ex03;

namespace {

const double X[2] = {0.5, 2.5}, Y[2] = {0.2, 0.9};

double f(double w, double b, double x) { return 1.0 / (1.0 + std::exp(-(w * x + b))); }
double error(double w, double b) {
  double err = 0.0;
  for (int i = 0; i < 2; ++i) err += 0.5 * (f(w, b, X[i]) - Y[i]) * (f(w, b, X[i]) - Y[i]);
  return err;
}
double grad_b(double w, double b, double x, double y) {
  const double fx = f(w, b, x);
  return (fx - y) * fx * (1 - fx);
}
double grad_w(double w, double b, double x, double y) { return grad_b(w, b, x, y) * x; }

}  // namespace

TEST_CASE("ex03: the first gradient at w = b = -2 is the slide's formula") {
  const ex::Result r = ex::gradient_descent(1);
  // f(0.5) = σ(-3), f(2.5) = σ(-7); ∇w = Σ (f - y) f (1 - f) x, ∇b = Σ (f - y) f (1 - f).
  const double f1 = 1 / (1 + std::exp(3.0)), f2 = 1 / (1 + std::exp(7.0));
  const double dw = (f1 - 0.2) * f1 * (1 - f1) * 0.5 + (f2 - 0.9) * f2 * (1 - f2) * 2.5;
  const double db = (f1 - 0.2) * f1 * (1 - f1) + (f2 - 0.9) * f2 * (1 - f2);
  CHECK(close(r.dw0, dw, 1e-14));
  CHECK(close(r.db0, db, 1e-14));
  CHECK(close(r.trace[0].error, 0.5 * (f1 - 0.2) * (f1 - 0.2) + 0.5 * (f2 - 0.9) * (f2 - 0.9), 1e-15));
  CHECK(close(r.w, -2.0 - dw, 1e-14));  // η = 1
  CHECK(close(r.b, -2.0 - db, 1e-14));
}

TEST_CASE("ex03: 1000 epochs follow the slide's program step for step") {
  const ex::Result r = ex::gradient_descent();
  REQUIRE(r.trace.size() == 1001);
  double w = -2, b = -2;
  const double eta = 1.0;
  for (int i = 0; i < 1000; ++i) {
    if (i % 100 == 0) {
      INFO("epoch " << i);
      CHECK(close(r.trace[static_cast<std::size_t>(i)].w, w, 1e-11));
      CHECK(close(r.trace[static_cast<std::size_t>(i)].b, b, 1e-11));
      CHECK(close(r.trace[static_cast<std::size_t>(i)].error, error(w, b), 1e-11));
    }
    double dw = 0, db = 0;
    for (int k = 0; k < 2; ++k) {
      dw += grad_w(w, b, X[k], Y[k]);
      db += grad_b(w, b, X[k], Y[k]);
    }
    w = w - eta * dw;
    b = b - eta * db;
  }
  CHECK(close(r.w, w, 1e-11));
  CHECK(close(r.b, b, 1e-11));
  CHECK(close(r.error, error(w, b), 1e-11));
  // The error falls along the way and the fit ends close to both points.
  CHECK(r.error < r.trace[0].error / 100);
  CHECK(std::abs(f(r.w, r.b, 0.5) - 0.2) < 0.05);
  CHECK(std::abs(f(r.w, r.b, 2.5) - 0.9) < 0.05);
}
