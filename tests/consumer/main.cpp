// Uses the installed headers and library: d/dx of sum(x²) is 2x.
#include <xgrad/xgrad.hpp>

#include <cstdio>

int main() {
  xgrad::Tensor x = xgrad::tensor({1.0, 2.0, 3.0}).requires_grad_();
  (x * x).sum().backward();
  const auto g = x.grad().to_vector<double>();
  const bool ok = g.size() == 3 && g[0] == 2.0 && g[1] == 4.0 && g[2] == 6.0;
  std::printf("consumer: %s\n", ok ? "ok" : "wrong gradient");
  return ok ? 0 : 1;
}
