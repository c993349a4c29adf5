#pragma once
// Helpers shared by the tests.

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

namespace xgrad::testing {

/// A float64 leaf of `shape` with values uniform in [lo, hi] (seeded), requiring grad.
Tensor leaf(const Shape& shape, double lo = -2.0, double hi = 2.0, std::uint64_t seed = 1);
/// Like leaf(), but values are kept at least `gap` away from every point in `kinks`.
Tensor leaf_away_from(const Shape& shape, std::vector<double> kinks, double gap = 0.1, double lo = -2.0, double hi = 2.0,
                      std::uint64_t seed = 1);
/// A non-contiguous float64 leaf with the given logical shape (a transposed view of a larger
/// tensor), requiring grad. Rank must be >= 2.
Tensor noncontiguous_leaf(const Shape& shape, double lo = -2.0, double hi = 2.0, std::uint64_t seed = 1);

/// Checks that `f` throws E and that the message contains every one of `parts`.
template <class E, class F>
void check_throws_with(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL("expected an exception");
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) {
      INFO("message: " << msg);
      CHECK_MESSAGE(msg.find(p) != std::string::npos, "missing '" << p << "'");
    }
  }
}

/// One gradcheck case of the op table (tests/autograd/op_table.cpp runs them all).
struct OpCase {
  std::string name;
  std::function<TensorList()> make_inputs;  // fresh float64 inputs (some requiring grad)
  GradcheckFunction fn;
  bool twice_differentiable = true;
  GradcheckOptions options = {};
};

/// The registry of op cases; families add theirs with a static OpCaseRegistrar.
std::vector<OpCase>& op_cases();
struct OpCaseRegistrar {
  explicit OpCaseRegistrar(std::vector<OpCase> cases);
};

}  // namespace xgrad::testing
