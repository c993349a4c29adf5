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

OpCase noncontig_case(std::string name, F f, double lo, double hi) {
  return {std::move(name) + " non-contiguous", [lo, hi] { return TensorList{noncontiguous_leaf({3, 2}, lo, hi)}; },
          [f](const TensorList& x) { return TensorList{f(x[0], Where::current())}; }, false};
}

const OpCaseRegistrar unary_cases({
    unary_case("exp", exp, -2, 2),
    noncontig_case("exp", exp, -2, 2),
    unary_case("log", log, 0.2, 3),
    unary_case("log1p", log1p, -0.5, 3),
    unary_case("expm1", expm1, -2, 2),
    unary_case("sqrt", sqrt, 0.2, 3),
    unary_case("rsqrt", rsqrt, 0.2, 3),
    unary_case("square", square, -2, 2),
    unary_case("abs", abs, -2, 2, true, {0.0}),
    unary_case("sign", sign, -2, 2, true, {0.0}),
    unary_case("sin", sin, -3, 3),
    unary_case("cos", cos, -3, 3),
    unary_case("tanh", tanh, -2, 2),
    noncontig_case("tanh", tanh, -2, 2),
    unary_case("atan", atan, -2, 2),
    unary_case("sigmoid", sigmoid, -4, 4),
    unary_case("relu", relu, -2, 2, true, {0.0}),
    unary_case("selu", selu, -2, 2, true, {0.0}),
    unary_case("gelu", gelu, -3, 3),
    unary_case("silu", silu, -3, 3),
    unary_case("step", step, -2, 2, true, {0.0}),
    {"leaky_relu(0.2)", [] { return TensorList{leaf_away_from({2, 3}, {0.0})}; },
     [](const TensorList& x) { return TensorList{leaky_relu(x[0], 0.2)}; }},
    {"elu(1.3)", [] { return TensorList{leaf_away_from({2, 3}, {0.0})}; },
     [](const TensorList& x) { return TensorList{elu(x[0], 1.3)}; }},
    {"softplus(beta 2, threshold 3)", [] { return TensorList{leaf_away_from({2, 4}, {1.5}, 0.05, -3, 3)}; },
     [](const TensorList& x) { return TensorList{softplus(x[0], 2.0, 3.0)}; }},
    {"heaviside(at_zero 0.5)", [] { return TensorList{leaf_away_from({4}, {0.0})}; },
     [](const TensorList& x) { return TensorList{heaviside(x[0], 0.5)}; }},
    {"prelu per channel", [] { return TensorList{leaf_away_from({2, 3}, {0.0}), leaf({3}, 0.1, 0.5, 4)}; },
     [](const TensorList& x) { return TensorList{prelu(x[0], x[1])}; }},
});
}  // namespace
