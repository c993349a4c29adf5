// Runs every registered op case: gradcheck (float64 finite differences, random upstream gradient,
// reentrancy) and gradgradcheck for twice-differentiable ops.
#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

TEST_CASE("op table: gradcheck and gradgradcheck of every op") {
  REQUIRE(op_cases().size() > 0);
  for (const OpCase& c : op_cases()) {
    SUBCASE(c.name.c_str()) {
      INFO("op case: " << c.name);
      const TensorList inputs = c.make_inputs();
      CHECK(gradcheck(c.fn, inputs, c.options));
      if (c.twice_differentiable) CHECK(gradgradcheck(c.fn, inputs, c.options));
    }
  }
}
