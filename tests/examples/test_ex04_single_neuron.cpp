// Example 04: the single neuron. The autograd gradients are compared with the slides' closed forms
// computed here with plain doubles; the training curves must go down.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "../../examples/worked/ex04.hpp"

using namespace xgrad;
using namespace xgrad::worked::ex04;

namespace {

// dL/dw_j and dL/db by the slides' formulas: factor/n sum_i (g(z_i) - y_i) x_ij.
void closed_form(Kind kind, const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
                 double b, std::size_t n, std::size_t f, std::vector<double>& gw, double& gb) {
  gw.assign(f, 0.0);
  gb = 0.0;
  const double factor = kind == Kind::linear ? 2.0 : 1.0;
  for (std::size_t i = 0; i < n; ++i) {
    double z = b;
    for (std::size_t j = 0; j < f; ++j) z += x[i * f + j] * w[j];
    const double g = kind == Kind::linear ? z : 1.0 / (1.0 + std::exp(-z));
    const double r = g - y[i];
    for (std::size_t j = 0; j < f; ++j) gw[j] += factor * r * x[i * f + j] / static_cast<double>(n);
    gb += factor * r / static_cast<double>(n);
  }
}

void check_gradient(Kind kind, const Data& d) {
  const std::size_t n = 40, f = static_cast<std::size_t>(d.x.size(1));
  const Tensor x = narrow(d.x, 0, 0, static_cast<std::int64_t>(n)).contiguous();
  const Tensor y = narrow(d.y, 0, 0, static_cast<std::int64_t>(n)).contiguous();
  Neuron neuron = make_neuron(static_cast<std::int64_t>(f));
  std::vector<double> w(f);
  for (std::size_t j = 0; j < f; ++j) w[j] = 0.1 * std::sin(1.0 + static_cast<double>(j));
  {
    NoGradGuard g;
    neuron.w.copy_(from_vector(w, {static_cast<std::int64_t>(f), 1}, kFloat64));
    neuron.b.copy_(full({1}, 0.3, kFloat64));
  }
  loss(kind, neuron, x, y).backward();
  std::vector<double> gw;
  double gb = 0.0;
  closed_form(kind, x.to_vector<double>(), y.to_vector<double>(), w, 0.3, n, f, gw, gb);
  const std::vector<double> aw = neuron.w.grad().to_vector<double>();
  for (std::size_t j = 0; j < f; ++j) CHECK(aw[j] == doctest::Approx(gw[j]).epsilon(1e-10));
  CHECK(neuron.b.grad().item<double>() == doctest::Approx(gb).epsilon(1e-10));
}

}  // namespace

TEST_CASE("ex04: autograd gradient of the linear unit equals 2/n sum (z - y) x") {
  check_gradient(Kind::linear, diabetes());
}

TEST_CASE("ex04: autograd gradient of the logistic unit equals 1/n sum (sigmoid(z) - y) x") {
  check_gradient(Kind::logistic, breast_cancer());
}

TEST_CASE("ex04: batch, stochastic and mini-batch gradient descent decrease the loss") {
  for (const Kind kind : {Kind::linear, Kind::logistic}) {
    const Data d = kind == Kind::linear ? diabetes() : breast_cancer();
    for (const Variant& v : variants(kind)) {
      const std::vector<double> c = train_unit(kind, d, v.batch_size, 10, v.lr);
      INFO(v.name);
      CHECK(c.back() < 0.8 * c.front());
      for (double l : c) CHECK(std::isfinite(l));
    }
  }
}

TEST_CASE("ex04: the linear unit's loss at zero weights is the target variance (1 after standardizing)") {
  const Data d = diabetes();
  const std::vector<double> c = train_unit(Kind::linear, d, 0, 0, 0.1);
  CHECK(c.front() == doctest::Approx(1.0).epsilon(1e-12));
  // BCE at z = 0 is log 2 for every sample.
  CHECK(train_unit(Kind::logistic, breast_cancer(), 0, 0, 0.1).front() == doctest::Approx(std::log(2.0)).epsilon(1e-12));
}

TEST_CASE("ex04: the logistic unit classifies the breast cancer training set with > 95% accuracy") {
  const Data d = breast_cancer();
  for (const Variant& v : variants(Kind::logistic)) {
    Neuron n;
    train_unit(Kind::logistic, d, v.batch_size, 20, v.lr, &n);
    INFO(v.name);
    CHECK(accuracy(n, d) > 0.95);
  }
}
