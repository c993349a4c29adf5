// Example 11: vanishing gradients. The ratios are computed from the actual run; the bounds are wide
// but can fail (a sigmoid network whose gradients did not vanish, or BatchNorm not restoring the scale).
#include <doctest/doctest.h>

#include <cmath>

#include "../../examples/worked/ex11.hpp"

using namespace xgrad;
using namespace xgrad::worked::ex11;

TEST_CASE("ex11: the deep sigmoid network's first-layer gradient is orders of magnitude below its last layer's") {
  const Batch b = load_batch(256);
  const std::vector<double> s = gradient_norms(Arch::sigmoid, b);
  REQUIRE(s.size() == 10);
  for (double v : s) CHECK(std::isfinite(v));
  CHECK(s.front() / s.back() < 1e-3);
  // The norms shrink going backwards through the sigmoid layers (allowing small local wiggles).
  CHECK(s[0] < s[4]);
  CHECK(s[4] < s[8]);
}

TEST_CASE("ex11: ReLU + BatchNorm keeps first/last gradient ratio much closer to 1 than sigmoid") {
  const Batch b = load_batch(256);
  const std::vector<double> s = gradient_norms(Arch::sigmoid, b);
  const std::vector<double> bn = gradient_norms(Arch::relu_batchnorm, b);
  const std::vector<double> r = gradient_norms(Arch::relu, b);
  const double ratio_s = s.front() / s.back(), ratio_bn = bn.front() / bn.back(), ratio_r = r.front() / r.back();
  CHECK(ratio_bn > 0.05);
  CHECK(ratio_bn < 20.0);
  CHECK(std::abs(std::log10(ratio_bn)) + 2.0 < std::abs(std::log10(ratio_s)));
  CHECK(std::abs(std::log10(ratio_r)) + 2.0 < std::abs(std::log10(ratio_s)));
}

TEST_CASE("ex11: the network has 10 Linear layers and the expected parameter count") {
  std::vector<std::shared_ptr<nn::Linear>> lins;
  nn::Sequential net = make_net(Arch::relu_batchnorm, 784, 128, 10, 10, lins);
  CHECK(lins.size() == 10);
  // 784*128+128 + 8 * (128*128+128) + 128*10+10 Linear parameters, 9 BatchNorm layers with 2*128 each.
  CHECK(nn::count_parameters(net) == (784 * 128 + 128) + 8 * (128 * 128 + 128) + (128 * 10 + 10) + 9 * 2 * 128);
}
