#pragma once
// Finite-difference checks of gradients, the test tool behind every op of xgrad.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include "tensor.hpp"

namespace xgrad {

/// Options of gradcheck / gradgradcheck (defaults as torch.autograd.gradcheck).
struct GradcheckOptions {
  /// Finite-difference step: J[:, j] ≈ (f(x + eps e_j) - f(x - eps e_j)) / (2 eps).
  double eps = 1e-6;
  /// Absolute tolerance: |analytic - numeric| <= atol + rtol * |numeric|.
  double atol = 1e-5;
  /// Relative tolerance.
  double rtol = 1e-3;
  /// Throw a ValueError with the report instead of returning it.
  bool raise_exception = false;
  /// Also compare vᵀJ for a random upstream gradient v (one backward pass, as users run it).
  bool check_random_upstream = true;
  /// Run backward twice and require bit-identical gradients.
  bool check_reentrant = true;
  /// Allow float32 inputs (finite differences in float32 are too coarse for the default tolerances).
  bool allow_float32 = false;
  /// Seed of the random upstream gradient.
  std::uint64_t seed = 0;
};

/// Outcome of a check: converts to bool; `message` explains a failure (input, element index,
/// analytic and numeric values, and both Jacobians when they are small).
struct GradcheckResult {
  bool ok = true;
  std::string message;
  explicit operator bool() const noexcept { return ok; }
};
std::ostream& operator<<(std::ostream& os, const GradcheckResult& r);

/// A function under test: maps the inputs to one or more outputs.
using GradcheckFunction = std::function<TensorList(const TensorList&)>;
using GradcheckFunction1 = std::function<Tensor(const TensorList&)>;

/// Compares the analytic Jacobian of `fn` (from backward) with central finite differences, for every
/// element of every input that requires grad and every element of every floating output. Inputs that
/// require grad must be float64 (unless allow_float32) and must not overlap in memory (no expanded
/// views); non-contiguous views are fine. Also checks gradient shapes and dtypes, reentrancy and a
/// random upstream gradient. Usage in doctest: `CHECK(xgrad::gradcheck(f, {x, w}));`.
GradcheckResult gradcheck(const GradcheckFunction& fn, const TensorList& inputs, const GradcheckOptions& options = {});
GradcheckResult gradcheck(const GradcheckFunction1& fn, const TensorList& inputs, const GradcheckOptions& options = {});

/// Checks second derivatives: runs gradcheck on the map (inputs, v) -> ∂<fn(inputs), v>/∂inputs
/// computed with create_graph, for a random upstream gradient v (itself checked as an input).
GradcheckResult gradgradcheck(const GradcheckFunction& fn, const TensorList& inputs, const GradcheckOptions& options = {});
GradcheckResult gradgradcheck(const GradcheckFunction1& fn, const TensorList& inputs, const GradcheckOptions& options = {});

}  // namespace xgrad
