// Op cases: cat, stack, split, chunk, narrow, slice, index_select, gather, scatter_add, one_hot
// (negative dims, non-contiguous inputs, repeated indices, several outputs).
#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {
TensorList one(Tensor t) { return {std::move(t)}; }

const OpCaseRegistrar shape_cases({
    {"cat dim 0, three inputs, one non-contiguous", [] { return TensorList{leaf({2, 3}), noncontiguous_leaf({4, 3}, -2, 2, 2), leaf({1, 3}, -2, 2, 3)}; },
     [](const TensorList& x) { return one(cat({x[0], x[1], x[2]}, 0)); }},
    {"cat dim -1 squared", [] { return TensorList{noncontiguous_leaf({2, 3}), leaf({2, 1}, -2, 2, 2)}; },
     [](const TensorList& x) { return one(square(cat({x[0], x[1]}, -1))); }},
    {"cat middle dim of 3-D, one input constant", [] { return TensorList{leaf({2, 2, 3}), leaf({2, 1, 3}, -2, 2, 2).detach()}; },
     [](const TensorList& x) { return one(cat({x[0], x[1], x[0]}, 1) * 1.5); }},
    {"stack dim 0", [] { return TensorList{leaf({2, 3}), noncontiguous_leaf({2, 3}, -2, 2, 2)}; },
     [](const TensorList& x) { return one(stack({x[0], x[1]}, 0)); }},
    {"stack dim -1 squared", [] { return TensorList{leaf({3}), leaf({3}, -2, 2, 2), leaf({3}, -2, 2, 3)}; },
     [](const TensorList& x) { return one(square(stack({x[0], x[1], x[2]}, -1))); }},
    {"stack 0-d tensors", [] { return TensorList{leaf({}), leaf({}, -2, 2, 2)}; },
     [](const TensorList& x) { return one(stack({x[0], x[1], x[0]}) * stack({x[1], x[0], x[1]})); }},
    {"split by size, every piece an output", [] { return TensorList{leaf({3, 5})}; },
     [](const TensorList& x) { return split(x[0], 2, 1); }},
    {"split by sizes, negative dim, non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 6})}; },
     [](const TensorList& x) {
       // (the empty piece p[1] is checked in the value tests: gradcheck rejects 0-element inputs)
       const TensorList p = split(x[0], {1, 0, 3, 2}, -1);
       return TensorList{square(p[0]), p[2] * 2.0, p[3]};
     }},
    {"chunk 7 into 3", [] { return TensorList{leaf({7, 2})}; },
     [](const TensorList& x) {
       const TensorList p = chunk(x[0], 3);
       return TensorList{p[0] * p[1], p[2]};
     }},
    {"narrow negative start", [] { return TensorList{leaf({3, 5})}; },
     [](const TensorList& x) { return one(square(narrow(x[0], -1, -4, 2))); }},
    {"narrow non-contiguous", [] { return TensorList{noncontiguous_leaf({4, 3})}; },
     [](const TensorList& x) { return one(narrow(x[0], 0, 1, 2) * narrow(x[0], 0, 2, 2)); }},
    {"slice step 2", [] { return TensorList{leaf({7, 2})}; }, [](const TensorList& x) { return one(slice(x[0], 0, 1, 6, 2)); }},
    {"slice negative bounds, step 3, non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 8})}; },
     [](const TensorList& x) { return one(square(slice(x[0], -1, -7, -1, 3))); }},
    {"slice of a slice (strided view of a strided view)", [] { return TensorList{leaf({2, 10})}; },
     [](const TensorList& x) { return one(slice(slice(x[0], 1, 1, 100, 2), 1, 1, 5, 2) * 3.0); }},
    {"index_select repeated indices", [] { return TensorList{leaf({4, 3})}; },
     [](const TensorList& x) { return one(square(index_select(x[0], 0, tensor_int({3, 0, 3, 1})))); }},
    {"index_select dim -1 non-contiguous", [] { return TensorList{noncontiguous_leaf({2, 4})}; },
     [](const TensorList& x) { return one(index_select(x[0], -1, tensor_int({2, 2, 0}))); }},
    {"index_select middle dim of 3-D", [] { return TensorList{leaf({2, 3, 2})}; },
     [](const TensorList& x) { return one(index_select(x[0], 1, tensor_int({1, 0})) * 2.0); }},
    {"gather dim 1 repeated", [] { return TensorList{leaf({2, 3})}; },
     [](const TensorList& x) { return one(square(gather(x[0], 1, from_vector(std::vector<std::int64_t>{2, 2, 0, 1, 0, 1, 1, 1}, {2, 4})))); }},
    {"gather dim 0, smaller index, non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 4})}; },
     [](const TensorList& x) { return one(gather(x[0], 0, from_vector(std::vector<std::int64_t>{2, 0, 1, 1, 0, 0}, {2, 3}))); }},
    {"gather negative dim of 3-D", [] { return TensorList{leaf({2, 2, 3})}; },
     [](const TensorList& x) {
       return one(gather(x[0], -1, from_vector(std::vector<std::int64_t>{0, 2, 1, 1, 2, 2, 0, 0}, {2, 2, 2})) * 1.5);
     }},
    {"scatter_add repeated targets, both inputs", [] { return TensorList{leaf({2, 3}), leaf({2, 4}, -2, 2, 2)}; },
     [](const TensorList& x) {
       return one(square(scatter_add(x[0], 1, from_vector(std::vector<std::int64_t>{2, 2, 0, 1, 0, 1, 1, 1}, {2, 4}), x[1])));
     }},
    {"scatter_add dim -2, src larger than index, non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 2}), leaf({3, 3}, -2, 2, 2)}; },
     [](const TensorList& x) {
       return one(scatter_add(x[0], -2, from_vector(std::vector<std::int64_t>{2, 0, 2, 1}, {2, 2}), x[1]) * 2.0);
     }},
    {"gather then scatter_add (each the other's gradient)", [] { return TensorList{leaf({3, 3}), leaf({3, 2}, -2, 2, 2)}; },
     [](const TensorList& x) {
       const Tensor idx = from_vector(std::vector<std::int64_t>{0, 2, 1, 1, 2, 0}, {3, 2});
       return one(gather(scatter_add(x[0], 1, idx, x[1] * x[1]), 1, idx) * gather(x[0], 1, idx));
     }},
    {"one_hot as a constant mask", [] { return TensorList{leaf({3, 4})}; },
     [](const TensorList& x) { return one(x[0] * one_hot(tensor_int({1, 3, 0}), 4, kFloat64)); }},
    {"max along dim returns values and int64 indices", [] { return TensorList{leaf({3, 4})}; },
     [](const TensorList& x) {
       auto r = max(x[0], 1);
       return TensorList{square(r.values), r.indices};
     }},
});
}  // namespace
