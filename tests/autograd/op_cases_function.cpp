// Op cases: user-defined differentiable functions (autograd::Function), single and multiple outputs,
// non-tensor arguments, non-contiguous inputs, composition with built-in ops.
#include "custom_functions.hpp"
#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;
using namespace xgrad::testing::custom;

namespace {
const OpCaseRegistrar function_cases({
    {"Function MyExp", [] { return TensorList{leaf({2, 3})}; }, [](const TensorList& x) { return TensorList{MyExp::apply({x[0]})}; }},
    {"Function MyExp non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 2})}; },
     [](const TensorList& x) { return TensorList{MyExp::apply({x[0]})}; }},
    {"Function cube", [] { return TensorList{leaf({4})}; }, [](const TensorList& x) { return TensorList{Cube::apply(x[0])}; }},
    {"Function MulAdd two outputs, broadcast", [] { return TensorList{leaf({2, 3}), leaf({3}, -2, 2, 2)}; },
     [](const TensorList& x) { return MulAdd::apply({x[0], x[1]}); }},
    {"Function MulAdd one input constant", [] { return TensorList{leaf({2, 3}), leaf({3}, -2, 2, 2).detach()}; },
     [](const TensorList& x) { return MulAdd::apply({x[0], x[1]}); }},
    {"Function Affine with non-tensor arguments", [] { return TensorList{leaf({3, 2})}; },
     [](const TensorList& x) { return TensorList{Affine::apply({x[0]}, -1.5, 0.25)}; }},
    {"Function composed with built-in ops", [] { return TensorList{leaf({2, 2}, -1, 1), leaf({2, 2}, -1, 1, 3)}; },
     [](const TensorList& x) {
       const TensorList ma = MulAdd::apply({MyExp::apply({x[0]}), x[1].tanh()});
       return TensorList{Cube::apply({ma[0] + ma[1]}) * x[0]};
     }},
});
}  // namespace
