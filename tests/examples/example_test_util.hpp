#pragma once
// Helpers for the tests of the lecture examples (examples/worked/*.hpp).

#include <cmath>
#include <string>
#include <vector>

#include "support/test_util.hpp"

namespace xgrad::testing {

/// |value - slide| <= half a unit in the slide's last printed decimal: `value` shows as `slide` when
/// printed with `decimals` decimals.
inline bool rounds_to(double value, double slide, int decimals) {
  return std::abs(value - slide) <= 0.5 * std::pow(10.0, -decimals) * (1.0 + 1e-9);
}

/// |a - b| <= tol·max(1, |b|).
inline bool close(double a, double b, double tol = 1e-12) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); }

/// Whether `text` contains `part`; on failure the whole text is printed.
inline void check_has(const std::string& text, const std::vector<std::string>& parts) {
  for (const auto& p : parts) {
    INFO("text:\n" << text);
    CHECK_MESSAGE(text.find(p) != std::string::npos, "missing '" << p << "'");
  }
}

inline double sigma(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace xgrad::testing
