// Per-op overhead of the engine on the W2 scalar graph: (a*b + a).tanh().sum(), forward + backward on
// one-element float32 tensors. Only reports (never fails): timings depend on the machine and build.
#include <chrono>

#include "support/test_util.hpp"

using namespace xgrad;

TEST_CASE("overhead: W2 scalar graph forward+backward (reports microseconds per iteration)") {
  Tensor a = full({1}, 0.3).requires_grad_();
  Tensor b = full({1}, -0.7).requires_grad_();
  auto step = [&] {
    Tensor y = (a * b + a).tanh().sum();
    y.backward();
  };
  for (int i = 0; i < 1000; ++i) step();  // warm-up
  a.zero_grad();
  b.zero_grad();
  constexpr int kIterations = 10'000;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kIterations; ++i) step();
  const auto t1 = std::chrono::steady_clock::now();
  const double us = std::chrono::duration<double, std::micro>(t1 - t0).count() / kIterations;
  // d/da tanh(ab + a) = (1 - tanh²)(b + 1), accumulated over the timed iterations
  const double t = std::tanh(0.3 * -0.7 + 0.3);
  CHECK(a.grad().item<double>() == doctest::Approx(kIterations * (1 - t * t) * (-0.7 + 1)).epsilon(1e-3));
  MESSAGE("W2 (a*b + a).tanh().sum() forward+backward: " << us << " us/iteration");
  WARN_MESSAGE(us < 4.0, "W2 forward+backward took " << us << " us/iteration (goal ~2 us at -O3)");
}
