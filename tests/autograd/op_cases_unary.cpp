// Op cases: element-wise math and activations, inputs kept away from kinks and domain edges.
#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {
using F = Tensor (*)(const Tensor&, Where);

OpCase unary_case(std::string name, F f, double lo, double hi, bool twice = true, std::vector<double> kinks = {}) {
  return {std::move(name), [lo, hi, kinks] { return TensorList{leaf_away_from({2, 3}, kinks, 0.05, lo, hi)}; },
          [f](const TensorList& x) { return TensorList{f(x[0], Where::current())}; }, twice};
}

OpCase noncontig_case(std::string name, F f, double lo, double hi, std::vector<double> kinks = {}) {
  return {std::move(name) + " non-contiguous",
          [lo, hi, kinks] {
            // a transposed view of a leaf whose values avoid the kinks
            Tensor base = leaf_away_from({2, 3}, kinks, 0.05, lo, hi, 7).detach().t();
            base.requires_grad_();
            return TensorList{base};
          },
          [f](const TensorList& x) { return TensorList{f(x[0], Where::current())}; }};
}

// Every unary op on a contiguous (2, 3) input and on a transposed (3, 2) view.
std::vector<OpCase> both(std::string name, F f, double lo, double hi, std::vector<double> kinks = {}) {
  return {unary_case(name, f, lo, hi, true, kinks), noncontig_case(name, f, lo, hi, kinks)};
}

std::vector<OpCase> all_unary_cases() {
  std::vector<OpCase> cases;
  auto add = [&](std::vector<OpCase> v) { cases.insert(cases.end(), v.begin(), v.end()); };
  add(both("exp", exp, -2, 2));
  add(both("log", log, 0.2, 3));
  add(both("log1p", log1p, -0.5, 3));
  add(both("expm1", expm1, -2, 2));
  add(both("sqrt", sqrt, 0.2, 3));
  add(both("rsqrt", rsqrt, 0.2, 3));
  add(both("square", square, -2, 2));
  add(both("abs", abs, -2, 2, {0.0}));
  add(both("sign", sign, -2, 2, {0.0}));
  add(both("sin", sin, -3, 3));
  add(both("cos", cos, -3, 3));
  add(both("tanh", tanh, -2, 2));
  add(both("atan", atan, -2, 2));
  add(both("sigmoid", sigmoid, -4, 4));
  add(both("relu", relu, -2, 2, {0.0}));
  add(both("selu", selu, -2, 2, {0.0}));
  add(both("gelu", gelu, -3, 3));
  add(both("silu", silu, -3, 3));
  add(both("step", step, -2, 2, {0.0}));
  cases.push_back(noncontig_case("neg", neg, -2, 2));  // the contiguous cases are in op_cases_arithmetic.cpp
  cases.push_back(noncontig_case("reciprocal", reciprocal, 0.3, 2));
  return cases;
}

const OpCaseRegistrar all_unary(all_unary_cases());

const OpCaseRegistrar unary_cases({
    {"leaky_relu(0.2)", [] { return TensorList{leaf_away_from({2, 3}, {0.0})}; },
     [](const TensorList& x) { return TensorList{leaky_relu(x[0], 0.2)}; }},
    {"elu(1.3)", [] { return TensorList{leaf_away_from({2, 3}, {0.0})}; },
     [](const TensorList& x) { return TensorList{elu(x[0], 1.3)}; }},
    {"softplus(beta 2, threshold 3)", [] { return TensorList{leaf_away_from({2, 4}, {1.5}, 0.05, -3, 3)}; },
     [](const TensorList& x) { return TensorList{softplus(x[0], 2.0, 3.0)}; }},
    {"heaviside(at_zero 0.5)", [] { return TensorList{leaf_away_from({4}, {0.0})}; },
     [](const TensorList& x) { return TensorList{heaviside(x[0], 0.5)}; }},
    {"leaky_relu default slope, non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 2})}; },
     [](const TensorList& x) { return TensorList{leaky_relu(x[0])}; }},
    {"elu default alpha, non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 2})}; },
     [](const TensorList& x) { return TensorList{elu(x[0])}; }},
    {"softplus default (beta 1, threshold 20)", [] { return TensorList{leaf({2, 3}, -4, 4)}; },
     [](const TensorList& x) { return TensorList{softplus(x[0])}; }},
    {"softplus beta 0.5, both sides of threshold 1, non-contiguous",
     [] {
       Tensor v = leaf_away_from({3, 4}, {2.0}, 0.1, -3, 5, 3).detach().t();
       v.requires_grad_();
       return TensorList{v};
     },
     [](const TensorList& x) { return TensorList{softplus(x[0], 0.5, 1.0)}; }},
    {"gelu tanh approximation", [] { return TensorList{leaf({2, 3}, -3, 3)}; },
     [](const TensorList& x) { return TensorList{gelu(x[0], GeluApproximation::tanh)}; }},
    {"gelu tanh approximation, non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 2}, -3, 3)}; },
     [](const TensorList& x) { return TensorList{gelu(x[0], GeluApproximation::tanh)}; }},
    {"heaviside non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 2})}; },
     [](const TensorList& x) { return TensorList{heaviside(x[0], 0.5) * x[0]}; }},
    {"prelu per channel", [] { return TensorList{leaf_away_from({2, 3}, {0.0}), leaf({3}, 0.1, 0.5, 4)}; },
     [](const TensorList& x) { return TensorList{prelu(x[0], x[1])}; }},
});
}  // namespace
