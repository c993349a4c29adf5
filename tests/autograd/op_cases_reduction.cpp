// Op cases: var, std, prod (with exact zeros), logsumexp, norm, max/min, amax/amin over all dims,
// one dim, several (also non-adjacent and negative) dims, keepdim both ways, non-contiguous inputs.
// Random leaves have no ties, so the max-like ops are differentiable there.
#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {
TensorList one(Tensor t) { return {std::move(t)}; }

// (3, 4) with one zero in row 0, two zeros in row 1, none in row 2.
Tensor with_zeros() {
  return from_vector(std::vector<double>{0.0, 1.5, -2.0, 0.7, 0.0, 0.0, 1.2, 3.0, 0.5, -1.1, 1.3, 0.9}, {3, 4}, kFloat64).requires_grad_();
}

// A (3, 4) transposed view whose values are at least 0.1 away from 0 (|x|^(p-1) of p < 1).
Tensor noncontiguous_leaf_away_from_zero() {
  Tensor v = leaf_away_from({4, 3}, {0.0}, 0.1, -2, 2, 4).detach().t();
  v.requires_grad_();
  return v;
}

const OpCaseRegistrar reduction_cases({
    {"var all", [] { return TensorList{leaf({2, 3})}; }, [](const TensorList& x) { return one(var(x[0])); }},
    {"var dims {0, 2} keepdim", [] { return TensorList{leaf({2, 3, 4})}; },
     [](const TensorList& x) { return one(var(x[0], {0, 2}, true, true) * x[0]); }},
    {"var biased, negative dim, non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 4})}; },
     [](const TensorList& x) { return one(var(x[0], {-1}, false)); }},
    {"var dim 0 of (4, 3) (column layout)", [] { return TensorList{leaf({4, 3})}; },
     [](const TensorList& x) { return one(var(x[0], {0})); }},
    {"std all keepdim", [] { return TensorList{leaf({2, 3})}; }, [](const TensorList& x) { return one(xgrad::std(x[0], {}, true, true)); }},
    {"std non-adjacent negative dims", [] { return TensorList{leaf({2, 3, 4})}; },
     [](const TensorList& x) { return one(xgrad::std(x[0], {-1, 0}) * 2.0); }},
    {"std biased non-contiguous keepdim", [] { return TensorList{noncontiguous_leaf({4, 3})}; },
     [](const TensorList& x) { return one(xgrad::std(x[0], {0}, false, true) * x[0]); }},
    {"prod all", [] { return TensorList{leaf({2, 3}, 0.5, 1.5)}; }, [](const TensorList& x) { return one(prod(x[0])); }},
    {"prod dim 1 without zeros, keepdim", [] { return TensorList{leaf({3, 4})}; },
     [](const TensorList& x) { return one(prod(x[0], {1}, true) * x[0]); }},
    {"prod with exact zeros (one and two per row)", [] { return TensorList{with_zeros()}; },
     [](const TensorList& x) { return one(prod(x[0], {1})); }},
    {"prod with exact zeros over dim 0 (column layout)", [] { return TensorList{with_zeros()}; },
     [](const TensorList& x) { return one(prod(x[0], {-2}, true)); }},
    {"prod with a zero over all elements", [] { return TensorList{with_zeros()}; },
     [](const TensorList& x) { return one(prod(narrow(x[0], 1, 1, 3))); }},
    {"prod non-adjacent dims, non-contiguous, with a zero", [] {
       Tensor base = from_vector(std::vector<double>{0.5, -1.2, 0.0, 1.1, 0.9, 1.4, -0.8, 1.3, 0.6, 1.7, -0.4, 1.2,
                                                     1.5, 0.7, -1.3, 0.8, 1.1, -0.6, 0.9, 1.6, -1.4, 0.3, 1.8, 0.75},
                                 {2, 3, 4}, kFloat64);
       Tensor v = base.transpose(0, 2);  // (4, 3, 2), non-contiguous
       v.requires_grad_();
       return TensorList{v};
     },
     [](const TensorList& x) { return one(prod(x[0], {0, 2})); }},
    {"logsumexp all", [] { return TensorList{leaf({2, 3})}; }, [](const TensorList& x) { return one(logsumexp(x[0])); }},
    {"logsumexp large values, dim -1 keepdim", [] { return TensorList{leaf({3, 4}, 995, 1005)}; },
     [](const TensorList& x) { return one(logsumexp(x[0], {-1}, true)); }},
    {"logsumexp dims {0, 2} non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 2, 2})}; },
     [](const TensorList& x) { return one(logsumexp(x[0], {0, 2})); }},
    {"norm p=1", [] { return TensorList{leaf_away_from({2, 3}, {0.0})}; }, [](const TensorList& x) { return one(norm(x[0], 1.0)); }},
    {"norm p=1 dim 0 keepdim", [] { return TensorList{leaf_away_from({3, 2}, {0.0})}; },
     [](const TensorList& x) { return one(norm(x[0], 1.0, {0}, true)); }},
    {"norm p=2", [] { return TensorList{leaf({2, 3})}; }, [](const TensorList& x) { return one(norm(x[0])); }},
    {"norm p=2 dim -1 non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 4})}; },
     [](const TensorList& x) { return one(norm(x[0], 2.0, {-1})); }},
    {"norm p=inf", [] { return TensorList{leaf({2, 3})}; }, [](const TensorList& x) { return one(norm(x[0], HUGE_VAL)); }},
    {"norm p=inf dims {0, 2} keepdim", [] { return TensorList{leaf({2, 3, 2})}; },
     [](const TensorList& x) { return one(norm(x[0], HUGE_VAL, {0, 2}, true) * 2.0); }},
    {"norm p=3", [] { return TensorList{leaf({2, 3})}; }, [](const TensorList& x) { return one(norm(x[0], 3.0)); }},
    {"norm p=1.5 dims {0, 2} keepdim", [] { return TensorList{leaf_away_from({2, 3, 2}, {0.0})}; },
     [](const TensorList& x) { return one(norm(x[0], 1.5, {0, 2}, true) * 2.0); }},
    {"norm p=0.5 dim -1 non-contiguous", [] { return TensorList{noncontiguous_leaf_away_from_zero()}; },
     [](const TensorList& x) { return one(norm(x[0], 0.5, {-1})); }},
    {"norm p=4 dim 0 of large values (scaled)", [] { return TensorList{leaf({3, 2}, -2000, 2000, 5)}; },
     [](const TensorList& x) { return one(norm(x[0], 4.0, {0})); }},
    {"norm p=-inf dim 1", [] { return TensorList{leaf({3, 4})}; }, [](const TensorList& x) { return one(norm(x[0], -HUGE_VAL, {1})); }},
    {"norm p=0 (count, zero gradient) times x", [] { return TensorList{leaf_away_from({2, 3}, {0.0})}; },
     [](const TensorList& x) { return one(norm(x[0], 0.0, {1}, true) * x[0]); }},
    {"max all", [] { return TensorList{leaf({3, 4})}; }, [](const TensorList& x) { return one(max(x[0]) * x[0]); }},
    {"min all non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 4})}; }, [](const TensorList& x) { return one(min(x[0])); }},
    {"max dim 0 (column layout)", [] { return TensorList{leaf({4, 3})}; }, [](const TensorList& x) { return one(max(x[0], 0).values); }},
    {"min dim -1 keepdim, non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 4})}; },
     [](const TensorList& x) { return one(min(x[0], -1, true).values * x[0]); }},
    {"max dim 1 of 3-D keepdim", [] { return TensorList{leaf({2, 3, 2})}; },
     [](const TensorList& x) { return one(max(x[0], 1, true).values); }},
    {"amax dims {0, 2}", [] { return TensorList{leaf({2, 3, 2})}; }, [](const TensorList& x) { return one(amax(x[0], {0, 2})); }},
    {"amax negative dim keepdim non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 4})}; },
     [](const TensorList& x) { return one(amax(x[0], {-2}, true) * x[0]); }},
    {"amin non-adjacent dims keepdim", [] { return TensorList{leaf({2, 3, 4})}; },
     [](const TensorList& x) { return one(square(amin(x[0], {-1, 0}, true))); }},
    // rows and columns long enough for the vectorized kernel paths
    {"var and logsumexp of long rows", [] { return TensorList{leaf({2, 20})}; },
     [](const TensorList& x) { return TensorList{var(x[0], {1}), logsumexp(x[0], {-1})}; }},
    {"logsumexp and std of long columns", [] { return TensorList{leaf({3, 20})}; },
     [](const TensorList& x) { return TensorList{logsumexp(x[0], {0}), xgrad::std(x[0], {0})}; }},
    {"amax, max, norm inf of long rows and columns", [] { return TensorList{leaf({3, 20})}; },
     [](const TensorList& x) {
       return TensorList{amax(x[0], {1}), max(x[0], 0).values, norm(x[0], HUGE_VAL, {1}), min(x[0], 1, true).values};
     }},
});
}  // namespace
