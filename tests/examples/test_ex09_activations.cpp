// ex09: the activation-function table. xgrad's ops and autograd's derivatives on the grid against
// closed forms written here (the tables of decks 000, 001, 002, 004), and the conventions at the kinks.
#include <functional>

#include <xgrad/examples/worked/ex09_activations.hpp>

#include "example_test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace ex = xgrad::examples::ex09;

TEST_CASE("ex09: every activation and its autograd derivative match the table's closed forms") {
  const double lambda = 1.0507009873554804934, alpha = 1.6732632423543772848;  // SELU (Klambauer et al.)
  struct Closed {
    std::string id;
    std::function<double(double)> f, df;
  };
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  const std::vector<Closed> closed = {
      {"identity", [](double x) { return x; }, [](double) { return 1.0; }},
      {"step", [](double x) { return x >= 0 ? 1.0 : 0.0; }, [](double) { return 0.0; }},
      {"sigmoid", sig, [=](double x) { return sig(x) * (1 - sig(x)); }},
      {"tanh", [](double x) { return (std::exp(x) - std::exp(-x)) / (std::exp(x) + std::exp(-x)); },
       [](double x) { return 1 - std::tanh(x) * std::tanh(x); }},
      {"arctan", [](double x) { return std::atan(x); }, [](double x) { return 1 / (x * x + 1); }},
      {"relu", [](double x) { return x >= 0 ? x : 0.0; }, [](double x) { return x >= 0 ? 1.0 : 0.0; }},
      {"prelu", [](double x) { return x >= 0 ? x : 0.25 * x; }, [](double x) { return x >= 0 ? 1.0 : 0.25; }},
      {"elu", [](double x) { return x >= 0 ? x : std::exp(x) - 1; }, [](double x) { return x >= 0 ? 1.0 : (std::exp(x) - 1) + 1; }},
      {"selu", [=](double x) { return x >= 0 ? lambda * x : lambda * alpha * (std::exp(x) - 1); },
       [=](double x) { return x >= 0 ? lambda : lambda * alpha * (std::exp(x) - 1) + lambda * alpha; }},
      {"softplus", [](double x) { return std::log1p(std::exp(x)); }, sig},
      {"leaky_relu", [](double x) { return std::max(0.01 * x, x); }, [](double x) { return x > 0 ? 1.0 : 0.01; }},
      {"softmax1", [](double x) { return std::exp(x) / (std::exp(x) + std::exp(1.0) + std::exp(-1.0)); },
       [](double x) {
         const double s = std::exp(x) + std::exp(1.0) + std::exp(-1.0);
         return std::exp(x) * (std::exp(1.0) + std::exp(-1.0)) / (s * s);  // deck 002's softmax derivative
       }},
  };
  const std::vector<ex::Activation> acts = ex::table();
  REQUIRE(acts.size() == closed.size());
  const std::vector<double> xs = ex::grid();
  REQUIRE(xs.size() == 161);
  for (std::size_t k = 0; k < acts.size(); ++k) {
    INFO(acts[k].name);
    REQUIRE(acts[k].id == closed[k].id);
    const ex::Curve c = ex::evaluate(k, acts[k]);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      INFO("x = " << xs[i]);
      CHECK(std::abs(c.f[i] - closed[k].f(xs[i])) < 1e-13);
      if (!(acts[k].kink && xs[i] == 0.0)) CHECK(std::abs(c.df[i] - closed[k].df(xs[i])) < 1e-13);
    }
    CHECK(c.max_err_f < 1e-12);
    CHECK(c.max_err_df < 1e-12);
  }
}

TEST_CASE("ex09: the derivative at the kink x = 0 (xgrad's convention)") {
  const std::vector<ex::Activation> acts = ex::table();
  auto at_zero = [&](const std::string& id) {
    for (std::size_t k = 0; k < acts.size(); ++k)
      if (acts[k].id == id) return ex::evaluate(k, acts[k]).df_at_zero;
    FAIL("no activation " << id);
    return 0.0;
  };
  CHECK(at_zero("step") == 0.0);
  CHECK(at_zero("relu") == 0.0);         // the table says 1 ("x >= 0"); xgrad, like PyTorch, uses 0
  CHECK(at_zero("elu") == 1.0);          // α e^0 = 1 = the right-hand slope (α = 1: no kink in f')
  CHECK(at_zero("leaky_relu") == 0.01);  // deck 000: α for x <= 0
  CHECK(std::abs(at_zero("selu") - 1.0507009873554804934 * 1.6732632423543772848) < 1e-14);
}

TEST_CASE("ex09: the CSV has a header and one row per grid point") {
  const std::vector<ex::Activation> acts = ex::table();
  std::vector<ex::Curve> curves;
  for (std::size_t k = 0; k < acts.size(); ++k) curves.push_back(ex::evaluate(k, acts[k]));
  const std::string csv = ex::csv(acts, curves);
  CHECK(csv.rfind("x,identity_f,identity_df,step_f,step_df,sigmoid_f", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 162);
  CHECK(csv.find("\n0,0,1,1,0,0.5,0.25,") != std::string::npos);  // x = 0: identity, step, sigmoid
}

// Known issue (reported): xgrad's prelu is computed as relu(x) - a·relu(-x), whose derivative at x = 0
// is 0, outside PReLU's subdifferential [a, 1]; its header documents a ("dx = g or a*g", x <= 0 side),
// like PyTorch. This test states the documented value and is expected to fail until prelu is fixed;
// then remove should_fail.
TEST_CASE("ex09: PReLU's derivative at 0 is the slope a of the x <= 0 side" * doctest::should_fail()) {
  const std::vector<ex::Activation> acts = ex::table();
  for (std::size_t k = 0; k < acts.size(); ++k)
    if (acts[k].id == "prelu") CHECK(ex::evaluate(k, acts[k]).df_at_zero == 0.25);
}
