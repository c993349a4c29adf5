// Uses the installed headers and library as an outside project would: the umbrella header, the
// xtensor interop header (which needs the xtensor package the config finds), the fmt formatter,
// gradcheck, and a gradient: d/dx of sum(x²) is 2x.
#include <xgrad/autograd/xtensor_interop.hpp>
#include <xgrad/xgrad.hpp>

#include <cstdio>
#include <string>

int main() {
  xgrad::Tensor x = xgrad::tensor({1.0, 2.0, 3.0}).requires_grad_();
  (x * x).sum().backward();
  const auto g = x.grad().to_vector<double>();
  const bool grad_ok = g.size() == 3 && g[0] == 2.0 && g[1] == 4.0 && g[2] == 6.0;

  xt::xarray<double> a = {{1.0, 2.0}, {3.0, 4.0}};
  const xgrad::Tensor t = xgrad::from_xarray(a);
  const auto view = xgrad::to_xarray<double>(t);
  const bool interop_ok = t.shape() == xgrad::Shape{2, 2} && view(1, 0) == 3.0;

  const std::string text = fmt::format("{}", xgrad::tensor({1.0, 2.0}));
  const bool fmt_ok = text.find("shape=(2,)") != std::string::npos;

  const xgrad::Tensor w = xgrad::randn({3}, xgrad::kFloat64).requires_grad_();
  const bool gradcheck_ok = static_cast<bool>(xgrad::gradcheck([](const xgrad::TensorList& in) { return in[0].tanh(); }, {w}));

  const bool ok = grad_ok && interop_ok && fmt_ok && gradcheck_ok;
  std::printf("consumer: gradient %s, interop %s, fmt %s, gradcheck %s\n", grad_ok ? "ok" : "WRONG", interop_ok ? "ok" : "WRONG",
              fmt_ok ? "ok" : "WRONG", gradcheck_ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
