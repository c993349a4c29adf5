#pragma once
// Helpers shared by the nn tests.

#include <string>
#include <utility>
#include <vector>

#include <xgrad/nn/nn.hpp>

#include "support/test_util.hpp"

namespace xgrad::testing {

/// Gradchecks module(x) (float64 module) with respect to x (when it requires grad) and every parameter:
/// the parameters are replaced by fresh float64 leaves through nn::functional_call, so the finite
/// differences perturb them. `before` runs before each forward (e.g. to reseed a dropout mask).
inline void check_module_gradients(nn::Module& module, const Tensor& x, bool twice = true,
                                   std::function<void()> before = nullptr, GradcheckOptions options = {}) {
  std::vector<std::string> names;
  TensorList inputs{x};
  for (const auto& [name, p] : module.named_parameters()) {
    REQUIRE(p.dtype() == kFloat64);
    names.push_back(name);
    Tensor leaf_copy = p.detach().clone();
    leaf_copy.requires_grad_();
    inputs.push_back(leaf_copy);
  }
  auto fn = [&](const TensorList& in) -> Tensor {
    if (before) before();
    std::vector<std::pair<std::string, Tensor>> swap;
    for (std::size_t i = 0; i < names.size(); ++i) swap.emplace_back(names[i], in[i + 1]);
    return nn::functional_call(module, swap, in[0]);
  };
  INFO("module: " << module.name());
  CHECK(gradcheck(GradcheckFunction1(fn), inputs, options));
  if (twice) CHECK(gradgradcheck(GradcheckFunction1(fn), inputs, options));
}

/// Element-wise comparison with a list of expected values (row-major).
inline void check_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-6) {
  const auto v = t.to_vector<double>();
  REQUIRE(v.size() == expected.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    INFO("element " << i);
    CHECK(v[i] == doctest::Approx(expected[i]).epsilon(tol).scale(1.0));
  }
}

}  // namespace xgrad::testing
