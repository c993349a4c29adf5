// Op cases: matmul in every NumPy case (1-D, 2-D, batched, broadcast batch dims, transposed and
// other non-contiguous operands) and linear (bias or not, batched input, transposed views, constant
// input).
#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

// A leaf that is a transpose view (dims d0, d1 swapped) of a contiguous tensor, requiring grad.
Tensor transposed_leaf(Shape shape, std::int64_t d0, std::int64_t d1, std::uint64_t seed = 1) {
  Shape base_shape = shape;
  std::swap(base_shape[static_cast<std::size_t>(d0)], base_shape[static_cast<std::size_t>(d1)]);
  Tensor v = leaf(base_shape, -2, 2, seed).detach().transpose(d0, d1);
  v.requires_grad_();
  return v;
}

TensorList mm(const TensorList& x) { return {matmul(x[0], x[1])}; }

const OpCaseRegistrar linalg_cases({
    // ---- matmul, every NumPy case ----
    {"matmul 1-D . 1-D (dot)", [] { return TensorList{leaf({4}), leaf({4}, -2, 2, 2)}; }, mm},
    {"matmul 2-D . 1-D", [] { return TensorList{leaf({3, 4}), leaf({4}, -2, 2, 2)}; }, mm},
    {"matmul 1-D . 2-D", [] { return TensorList{leaf({4}), leaf({4, 3}, -2, 2, 2)}; }, mm},
    {"matmul 2-D . 2-D", [] { return TensorList{leaf({2, 3}), leaf({3, 4}, -2, 2, 2)}; }, mm},
    {"matmul 3-D . 3-D batched", [] { return TensorList{leaf({2, 2, 3}), leaf({2, 3, 2}, -2, 2, 2)}; }, mm},
    {"matmul broadcast batch (2,1,2,3).(3,3,2)", [] { return TensorList{leaf({2, 1, 2, 3}), leaf({3, 3, 2}, -2, 2, 2)}; }, mm},
    {"matmul broadcast batch (1,2,3).(2,3,2)", [] { return TensorList{leaf({1, 2, 3}), leaf({2, 3, 2}, -2, 2, 2)}; }, mm},
    {"matmul 3-D . 2-D (batch folded into rows)", [] { return TensorList{leaf({2, 3, 4}), leaf({4, 2}, -2, 2, 2)}; }, mm},
    {"matmul 2-D . 3-D (matrix broadcast over batch)", [] { return TensorList{leaf({3, 4}), leaf({2, 4, 2}, -2, 2, 2)}; }, mm},
    {"matmul 1-D . 3-D", [] { return TensorList{leaf({3}), leaf({2, 3, 2}, -2, 2, 2)}; }, mm},
    {"matmul 3-D . 1-D", [] { return TensorList{leaf({2, 2, 3}), leaf({3}, -2, 2, 2)}; }, mm},
    {"matmul 4-D . 4-D", [] { return TensorList{leaf({2, 1, 2, 3}), leaf({1, 2, 3, 2}, -2, 2, 2)}; }, mm},
    // ---- transposed and other layouts ----
    {"matmul transposed a", [] { return TensorList{noncontiguous_leaf({3, 2}), leaf({2, 4}, -2, 2, 2)}; }, mm},
    {"matmul transposed b", [] { return TensorList{leaf({3, 2}), noncontiguous_leaf({2, 4}, -2, 2, 2)}; }, mm},
    {"matmul transposed both", [] { return TensorList{noncontiguous_leaf({3, 2}), noncontiguous_leaf({2, 4}, -2, 2, 2)}; }, mm},
    {"matmul batched transposed both", [] { return TensorList{transposed_leaf({2, 3, 4}, 1, 2), transposed_leaf({2, 4, 2}, 1, 2, 2)}; }, mm},
    {"matmul batched transposed a . 2-D", [] { return TensorList{transposed_leaf({2, 3, 4}, 1, 2), leaf({4, 2}, -2, 2, 2)}; }, mm},
    {"matmul batch-dim transposed (not foldable)", [] { return TensorList{transposed_leaf({3, 2, 4}, 0, 1), leaf({4, 2}, -2, 2, 2)}; }, mm},
    {"matmul transposed 1-D . 2-D", [] { return TensorList{leaf({3}), noncontiguous_leaf({3, 4}, -2, 2, 2)}; }, mm},
    {"matmul expanded operand (copied)", [] { return TensorList{leaf({1, 3}), leaf({3, 2}, -2, 2, 2)}; },
     [](const TensorList& x) { return TensorList{matmul(expand(x[0], {4, 3}), x[1])}; }},
    {"matmul x . x^T (same tensor twice)", [] { return TensorList{leaf({3, 2})}; },
     [](const TensorList& x) { return TensorList{matmul(x[0], t(x[0]))}; }},
    {"matmul one side constant", [] { return TensorList{leaf({2, 3}), leaf({3, 2}, -2, 2, 2).detach()}; }, mm},
    {"matmul chain (A.B).C", [] { return TensorList{leaf({2, 3}), leaf({3, 3}, -2, 2, 2), leaf({3, 2}, -2, 2, 3)}; },
     [](const TensorList& x) { return TensorList{matmul(matmul(x[0], x[1]), x[2])}; }},
    {"Tensor::matmul method", [] { return TensorList{leaf({2, 3}), leaf({3}, -2, 2, 2)}; },
     [](const TensorList& x) { return TensorList{x[0].matmul(x[1])}; }},
    // ---- linear ----
    {"linear with bias", [] { return TensorList{leaf({4, 3}), leaf({2, 3}, -2, 2, 2), leaf({2}, -2, 2, 3)}; },
     [](const TensorList& x) { return TensorList{linear(x[0], x[1], x[2])}; }},
    {"linear without bias", [] { return TensorList{leaf({4, 3}), leaf({2, 3}, -2, 2, 2)}; },
     [](const TensorList& x) { return TensorList{linear(x[0], x[1])}; }},
    {"linear 3-D input", [] { return TensorList{leaf({2, 3, 3}), leaf({2, 3}, -2, 2, 2), leaf({2}, -2, 2, 3)}; },
     [](const TensorList& x) { return TensorList{linear(x[0], x[1], x[2])}; }},
    {"linear 1-D input", [] { return TensorList{leaf({3}), leaf({2, 3}, -2, 2, 2), leaf({2}, -2, 2, 3)}; },
     [](const TensorList& x) { return TensorList{linear(x[0], x[1], x[2])}; }},
    {"linear transposed input", [] { return TensorList{noncontiguous_leaf({4, 3}), leaf({2, 3}, -2, 2, 2), leaf({2}, -2, 2, 3)}; },
     [](const TensorList& x) { return TensorList{linear(x[0], x[1], x[2])}; }},
    {"linear transposed weight", [] { return TensorList{leaf({4, 3}), noncontiguous_leaf({2, 3}, -2, 2, 2), leaf({2}, -2, 2, 3)}; },
     [](const TensorList& x) { return TensorList{linear(x[0], x[1], x[2])}; }},
    {"linear non-contiguous 3-D input", [] { return TensorList{transposed_leaf({3, 2, 3}, 0, 1), leaf({2, 3}, -2, 2, 2)}; },
     [](const TensorList& x) { return TensorList{linear(x[0], x[1])}; }},
    {"linear constant input (no dx)", [] { return TensorList{leaf({4, 3}).detach(), leaf({2, 3}, -2, 2, 2), leaf({2}, -2, 2, 3)}; },
     [](const TensorList& x) { return TensorList{linear(x[0], x[1], x[2])}; }},
    {"linear constant weight", [] { return TensorList{leaf({4, 3}), leaf({2, 3}, -2, 2, 2).detach(), leaf({2}, -2, 2, 3)}; },
     [](const TensorList& x) { return TensorList{linear(x[0], x[1], x[2])}; }},
    {"linear two layers with tanh", [] { return TensorList{leaf({3, 4}), leaf({3, 4}, -1, 1, 2), leaf({3}, -1, 1, 3), leaf({2, 3}, -1, 1, 4)}; },
     [](const TensorList& x) { return TensorList{linear(tanh(linear(x[0], x[1], x[2])), x[3])}; }},
});

}  // namespace
