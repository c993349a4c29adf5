// Operators carry the user's call site into error messages like the named ops do.
#include <string>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

TEST_CASE("operator errors name the line of the expression") {
  const Tensor a = ones({2, 3}), b = ones({4});
  const std::string here = "test_operator_call_site.cpp:";
  int line = 0;
  try {
    line = __LINE__ + 1;
    const Tensor c = a + b;
    FAIL("expected a ShapeError");
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("add") != std::string::npos);
    CHECK(msg.find("(2, 3)") != std::string::npos);
    CHECK(msg.find("(4,)") != std::string::npos);
    CHECK(msg.find(here + std::to_string(line)) != std::string::npos);
  }
  try {
    line = __LINE__ + 1;
    const Tensor c = a * b;
    FAIL("expected a ShapeError");
  } catch (const ShapeError& e) {
    CHECK(std::string(e.what()).find(here + std::to_string(line)) != std::string::npos);
  }
  try {
    line = __LINE__ + 1;
    const Tensor c = ones({2}, kFloat64) - ones({2});
    FAIL("expected a DtypeError");
  } catch (const DtypeError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("float64") != std::string::npos);
    CHECK(msg.find("float32") != std::string::npos);
    CHECK(msg.find(here + std::to_string(line)) != std::string::npos);
  }
}

TEST_CASE("operators record the user's line as the node's call site") {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  const int line = __LINE__ + 1;
  const Tensor y = x * 3.0;
  REQUIRE(y.grad_fn());
  CHECK(std::string(y.grad_fn()->where().file_name()).find("test_operator_call_site.cpp") != std::string::npos);
  CHECK(y.grad_fn()->where().line() == static_cast<unsigned>(line));
  const Tensor z = -x;
  CHECK(std::string(z.grad_fn()->where().file_name()).find("test_operator_call_site.cpp") != std::string::npos);
}
