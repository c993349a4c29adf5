// Runs every registered op case: gradcheck (float64 finite differences, random upstream gradient,
// reentrancy) and gradgradcheck for twice-differentiable ops.
#include <set>
#include <string>

#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

TEST_CASE("op table: gradcheck and gradgradcheck of every op") {
  REQUIRE(op_cases().size() > 0);
  // doctest tells subcases apart by name: a repeated name would silently skip a case
  std::set<std::string> names;
  for (const OpCase& c : op_cases()) {
    INFO("op case: " << c.name);
    CHECK(names.insert(c.name).second);
  }
  for (const OpCase& c : op_cases()) {
    SUBCASE(c.name.c_str()) {
      INFO("op case: " << c.name);
      const TensorList inputs = c.make_inputs();
      CHECK(gradcheck(c.fn, inputs, c.options));
      if (c.twice_differentiable) CHECK(gradgradcheck(c.fn, inputs, c.options));
    }
  }
}

namespace {
bool has_case(const std::string& op) {
  for (const OpCase& c : op_cases()) {
    const std::string& n = c.name;
    if (n == op || (n.size() > op.size() && n.compare(0, op.size(), op) == 0 && (n[op.size()] == ' ' || n[op.size()] == '(')))
      return true;
  }
  return false;
}
}  // namespace

TEST_CASE("op table: every op of the library has a case (and every element-wise op a non-contiguous one)") {
  const std::vector<std::string> ops{
      // arithmetic, comparisons used as masks, selection
      "add", "sub", "mul", "div", "neg", "reciprocal", "pow tensor^scalar", "pow scalar^tensor", "pow tensor^tensor", "maximum",
      "minimum", "where", "clamp", "clamp_min / clamp_max", "comparison masks as constant factors",
      // element-wise math and activations
      "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square", "abs", "sign", "sin", "cos", "tanh", "atan", "sigmoid", "relu",
      "leaky_relu", "elu", "selu", "softplus", "gelu", "gelu tanh approximation", "silu", "heaviside", "step", "prelu",
      // linear algebra
      "matmul 1-D . 1-D", "matmul 2-D . 1-D", "matmul 1-D . 2-D", "matmul 2-D . 2-D", "matmul 3-D . 3-D batched",
      "matmul broadcast batch", "matmul transposed both", "linear with bias", "linear without bias", "transpose", "t", "permute",
      // shape
      "reshape", "view", "flatten", "squeeze", "unsqueeze", "expand", "broadcast_to", "cat", "stack", "split", "chunk",
      "narrow", "slice", "index_select", "gather", "scatter_add", "one_hot", "clone and contiguous",
      // reductions
      "sum all", "sum dims keepdim", "mean", "var", "std", "prod", "max all", "min all", "max dim", "min dim", "amax", "amin",
      "logsumexp", "norm p=1", "norm p=2", "norm p=inf", "norm p=-inf", "norm p=3", "norm p=0.5", "norm p=0",
      // softmax and losses, each reduction
      "softmax", "log_softmax", "mse_loss reduction none", "mse_loss reduction mean", "mse_loss reduction sum", "l1_loss reduction none",
      "l1_loss reduction mean", "l1_loss reduction sum", "huber_loss delta 1 reduction none", "huber_loss delta 1 reduction sum",
      "smooth_l1_loss beta 0.5 reduction mean", "binary_cross_entropy reduction none", "binary_cross_entropy reduction sum",
      "binary_cross_entropy weight reduction mean", "binary_cross_entropy_with_logits reduction none",
      "binary_cross_entropy_with_logits weight, pos_weight reduction mean", "cross_entropy class indices reduction none",
      "cross_entropy class indices reduction mean", "cross_entropy class indices reduction sum", "cross_entropy class weights reduction mean",
      "cross_entropy label smoothing", "cross_entropy probability targets reduction none", "cross_entropy probability targets reduction mean",
      "cross_entropy probability targets, weights, smoothing reduction sum", "cross_entropy ignore_index reduction mean",
      "nll_loss reduction none", "nll_loss reduction mean", "nll_loss reduction sum", "nll_loss weights, ignore_index 0 reduction mean",
      // user-defined functions
      "Function MyExp", "Function MulAdd two outputs, broadcast"};
  for (const std::string& op : ops) {
    INFO("op: " << op);
    CHECK(has_case(op));
  }
  const std::vector<std::string> elementwise{"exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square", "abs", "sign", "sin",
                                             "cos", "tanh", "atan", "sigmoid", "relu", "selu", "gelu", "silu", "step", "neg",
                                             "reciprocal", "heaviside", "leaky_relu default slope,", "elu default alpha,",
                                             "gelu tanh approximation,", "softplus beta 0.5, both sides of threshold 1,"};
  for (const std::string& op : elementwise) {
    INFO("element-wise op without a non-contiguous case: " << op);
    CHECK(has_case(op + " non-contiguous"));
  }
}
