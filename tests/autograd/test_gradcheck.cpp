// gradcheck and gradgradcheck themselves: they pass on right gradients and, more importantly, FAIL on
// wrong ones. Each wrong backward below is a custom Function with one deliberate mistake, and each
// test asserts what the report says (input, element index, analytic and numeric values).
#include <xgrad/autograd/function.hpp>

#include <sstream>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using autograd::Function;
using autograd::FunctionContext;

namespace {

// y = x³ with the factor 3 of the derivative forgotten: dx = g·x² (should be 3g·x²).
struct CubeMissingFactor : Function<CubeMissingFactor> {
  static Tensor forward(FunctionContext& ctx, const TensorList& in) {
    ctx.save_for_backward({in[0]});
    return in[0] * in[0] * in[0];
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) {
    const Tensor x = ctx.saved()[0];
    return {g[0] * x * x};
  }
};

// y = a·b with the two gradients swapped: da = g·a, db = g·b (should be g·b and g·a).
struct MulSwapped : Function<MulSwapped> {
  static Tensor forward(FunctionContext& ctx, const TensorList& in) {
    ctx.save_for_backward({in[0], in[1]});
    return in[0] * in[1];
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) {
    const TensorList s = ctx.saved();
    return {g[0] * s[0], g[0] * s[1]};
  }
};

// y = 2x whose backward is right for one-hot upstream gradients only: dx = 2g² (g² = g for g ∈ {0, 1}).
// The full Jacobian (one backward per output element) cannot see this; the random upstream check does.
struct LinearInG : Function<LinearInG> {
  static Tensor forward(FunctionContext&, const TensorList& in) { return in[0] * 2.0; }
  static TensorList backward(FunctionContext&, const TensorList& g) { return {g[0] * g[0] * 2.0}; }
};

// y = sin x whose backward drifts by 1e-13 per call: correct to any tolerance, but not reentrant.
struct Drifting : Function<Drifting> {
  static inline int calls = 0;
  static Tensor forward(FunctionContext& ctx, const TensorList& in) {
    ctx.save_for_backward({in[0]});
    return sin(in[0]);
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) {
    ++calls;
    return {g[0] * cos(ctx.saved()[0]) + 1e-13 * calls};
  }
};

// y = sum over the last dim, whose backward returns a gradient of the wrong shape (3) instead of (2, 3).
struct WrongShape : Function<WrongShape> {
  static Tensor forward(FunctionContext&, const TensorList& in) { return sum(in[0], {1}); }
  static TensorList backward(FunctionContext&, const TensorList& g) { return {ones({3}, g[0].dtype())}; }
};

// y = x³ with a right first derivative computed from a detached input: dx = 3g·x² is right, but its
// own derivative misses the 6g·x term, so only gradgradcheck can tell.
struct CubeDetachedBackward : Function<CubeDetachedBackward> {
  static Tensor forward(FunctionContext& ctx, const TensorList& in) {
    ctx.save_for_backward({in[0]});
    return in[0] * in[0] * in[0];
  }
  static TensorList backward(FunctionContext& ctx, const TensorList& g) {
    const Tensor x = ctx.saved()[0].detach();
    return {g[0] * x * x * 3.0};
  }
};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("gradcheck passes on right gradients (doctest integration: CHECK(gradcheck(f, {x, w})))") {
  const Tensor x = leaf({2, 3}), w = leaf({3}, -2, 2, 2);
  CHECK(gradcheck([](const TensorList& in) { return in[0].tanh() * in[1]; }, {x, w}));
  CHECK(gradgradcheck([](const TensorList& in) { return in[0].tanh() * in[1]; }, {x, w}));
  const GradcheckResult r = gradcheck([](const TensorList& in) { return in[0] * in[1]; }, {x, w});
  CHECK(r.ok);
  CHECK(r.message.empty());
  std::ostringstream os;
  os << r;
  CHECK(os.str() == "gradcheck passed");
  // the inputs are left as they were (the finite differences perturb them in place)
  const std::vector<double> before = x.to_vector<double>();
  CHECK(gradcheck([](const TensorList& in) { return exp(in[0]); }, {x}));
  CHECK(x.to_vector<double>() == before);
  CHECK_FALSE(x.grad().defined());  // gradcheck never touches .grad()
}

TEST_CASE("gradcheck fails on a wrong derivative and reports input, element, analytic and numeric values") {
  const Tensor x = from_vector(std::vector<double>{0.5, -1.0, 2.0}, {3}, kFloat64).requires_grad_();
  const GradcheckResult r = gradcheck([](const TensorList& in) { return CubeMissingFactor::apply({in[0]}); }, {x});
  CHECK_FALSE(r);
  INFO(r.message);
  CHECK(contains(r.message, "Jacobian mismatch for input 0 (shape (3,)) at element [0]"));
  CHECK(contains(r.message, "output 0 (shape (3,)) element [0]"));
  // analytic x² = 0.25, numeric 3x² = 0.75
  CHECK(contains(r.message, "analytic 0.25"));
  CHECK(contains(r.message, "numeric 0.75"));
  CHECK(contains(r.message, "analytic Jacobian"));  // small Jacobians are printed in full
  // the doctest message of CHECK(gradcheck(...)) is the report
  std::ostringstream os;
  os << r;
  CHECK(os.str() == r.message);
}

TEST_CASE("gradcheck names the input whose gradient is wrong") {
  const Tensor a = from_vector(std::vector<double>{1.0, 2.0}, {2}, kFloat64).requires_grad_();
  const Tensor b = from_vector(std::vector<double>{-3.0, 0.5}, {2}, kFloat64).requires_grad_();
  const GradcheckResult r = gradcheck([](const TensorList& in) { return MulSwapped::apply({in[0], in[1]}); }, {a, b});
  CHECK_FALSE(r);
  INFO(r.message);
  CHECK(contains(r.message, "input 0"));
  CHECK(contains(r.message, "analytic 1,"));  // da[0] came out as a[0] = 1 instead of b[0] = -3
  CHECK(contains(r.message, "numeric -3"));
  // with input 0 constant, the mistake in input 1's gradient is found
  const GradcheckResult r1 = gradcheck([](const TensorList& in) { return MulSwapped::apply({in[0], in[1]}); }, {a.detach(), b});
  CHECK_FALSE(r1);
  CHECK(contains(r1.message, "input 1"));
}

TEST_CASE("gradcheck: raise_exception throws a ValueError with the same report") {
  const Tensor x = leaf({4});
  GradcheckOptions o;
  o.raise_exception = true;
  check_throws_with<ValueError>(
      [&] { (void)gradcheck([](const TensorList& in) { return CubeMissingFactor::apply({in[0]}); }, {x}, o); },
      {"gradcheck: Jacobian mismatch", "input 0", "element [", "analytic", "numeric"});
  CHECK_NOTHROW((void)gradcheck([](const TensorList& in) { return exp(in[0]); }, {x}, o));
}

TEST_CASE("gradcheck: the random upstream gradient catches a backward that is only right for one-hot gradients") {
  const Tensor x = leaf({3});
  GradcheckOptions only_jacobian;
  only_jacobian.check_random_upstream = false;
  auto f = [](const TensorList& in) { return LinearInG::apply({in[0]}); };
  CHECK(gradcheck(f, {x}, only_jacobian));  // the Jacobian alone looks right
  const GradcheckResult r = gradcheck(f, {x});
  CHECK_FALSE(r);
  INFO(r.message);
  CHECK(contains(r.message, "vector-Jacobian product mismatch for input 0"));
  CHECK(contains(r.message, "random upstream gradient"));
}

TEST_CASE("gradcheck: a backward that is not reentrant fails the bit-identical check") {
  const Tensor x = leaf({3});
  auto f = [](const TensorList& in) { return Drifting::apply({in[0]}); };
  GradcheckOptions no_reentrancy;
  no_reentrancy.check_reentrant = false;
  CHECK(gradcheck(f, {x}, no_reentrancy));  // within tolerance
  const GradcheckResult r = gradcheck(f, {x});
  CHECK_FALSE(r);
  INFO(r.message);
  CHECK(contains(r.message, "not reentrant"));
  CHECK(contains(r.message, "input 0 at element [0]"));
}

TEST_CASE("gradcheck: a gradient of the wrong shape is reported, not thrown past the checker") {
  const Tensor x = leaf({2, 3});
  const GradcheckResult r = gradcheck([](const TensorList& in) { return WrongShape::apply({in[0]}); }, {x});
  CHECK_FALSE(r);
  INFO(r.message);
  CHECK(contains(r.message, "backward failed"));
  CHECK(contains(r.message, "(3,)"));
  CHECK(contains(r.message, "(2, 3)"));
  GradcheckOptions o;
  o.raise_exception = true;
  check_throws_with<ValueError>([&] { (void)gradcheck([](const TensorList& in) { return WrongShape::apply({in[0]}); }, {x}, o); },
                                {"gradcheck: backward failed", "(3,)", "(2, 3)"});
}

TEST_CASE("gradcheck: an op that forgets to record its graph is caught (numeric gradient, analytic zero)") {
  const Tensor x = leaf({3});
  const GradcheckResult r = gradcheck([](const TensorList& in) { return exp(in[0].detach()) + in[0]; }, {x});
  CHECK_FALSE(r);
  CHECK(contains(r.message, "Jacobian mismatch for input 0"));
}

TEST_CASE("gradgradcheck fails where only the second derivative is wrong") {
  const Tensor x = from_vector(std::vector<double>{0.5, -1.0, 1.5}, {3}, kFloat64).requires_grad_();
  auto f = [](const TensorList& in) { return CubeDetachedBackward::apply({in[0]}); };
  CHECK(gradcheck(f, {x}));  // first derivative right
  const GradcheckResult r = gradgradcheck(f, {x});
  CHECK_FALSE(r);
  INFO(r.message);
  CHECK(contains(r.message, "mismatch for input 0"));
  // and a right double backward passes
  CHECK(gradgradcheck([](const TensorList& in) { return in[0] * in[0] * in[0]; }, {x}));
}

TEST_CASE("gradcheck: input errors") {
  const Tensor x32 = rand({3}).requires_grad_();
  const GradcheckResult r = gradcheck([](const TensorList& in) { return exp(in[0]); }, {x32});
  CHECK_FALSE(r);
  CHECK(contains(r.message, "input 0 has dtype float32"));
  CHECK(contains(r.message, "allow_float32"));
  GradcheckOptions f32;
  f32.allow_float32 = true;
  f32.eps = 1e-2;
  f32.atol = 1e-2;
  f32.rtol = 1e-2;
  CHECK(gradcheck([](const TensorList& in) { return exp(in[0]); }, {x32}, f32));

  // an expanded view shares memory between elements: perturbing one would move several
  Tensor ev = from_vector(std::vector<double>{1.0, 2.0}, {2, 1}, kFloat64).expand({2, 3});
  ev.requires_grad_();
  const GradcheckResult re = gradcheck([](const TensorList& in) { return exp(in[0]); }, {ev});
  CHECK_FALSE(re);
  CHECK(contains(re.message, "expanded view"));
  CHECK(contains(re.message, "(2, 3)"));

  const GradcheckResult rn = gradcheck([](const TensorList& in) { return exp(in[0]); }, {leaf({2}).detach()});
  CHECK_FALSE(rn);
  CHECK(contains(rn.message, "no input requires grad"));
}

TEST_CASE("gradcheck: defaults are PyTorch's") {
  const GradcheckOptions o;
  CHECK(o.eps == 1e-6);
  CHECK(o.atol == 1e-5);
  CHECK(o.rtol == 1e-3);
  CHECK(o.check_random_upstream);
  CHECK(o.check_reentrant);
  CHECK_FALSE(o.raise_exception);
}
