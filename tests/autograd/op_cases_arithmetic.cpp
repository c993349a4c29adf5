// Op cases: arithmetic with broadcasting, scalars and non-contiguous inputs.
#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {
TensorList one(const TensorList& in, Tensor t) { (void)in; return {std::move(t)}; }

const OpCaseRegistrar arithmetic_cases({
    {"add same shape", [] { return TensorList{leaf({2, 3}), leaf({2, 3}, -2, 2, 2)}; },
     [](const TensorList& x) { return one(x, add(x[0], x[1])); }},
    {"add broadcast (2,3)+(3)", [] { return TensorList{leaf({2, 3}), leaf({3}, -2, 2, 2)}; },
     [](const TensorList& x) { return one(x, x[0] + x[1]); }},
    {"add broadcast (2,1)+(1,3) alpha", [] { return TensorList{leaf({2, 1}), leaf({1, 3}, -2, 2, 2)}; },
     [](const TensorList& x) { return one(x, add(x[0], x[1], -2.5)); }},
    {"add non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 2}), leaf({3, 2}, -2, 2, 2)}; },
     [](const TensorList& x) { return one(x, x[0] + x[1]); }},
    {"add scalar both sides", [] { return TensorList{leaf({4})}; },
     [](const TensorList& x) { return one(x, (x[0] + 1.5) + (2.0 + x[0])); }},
    {"sub broadcast", [] { return TensorList{leaf({3, 1}), leaf({4}, -2, 2, 2)}; },
     [](const TensorList& x) { return one(x, x[0] - x[1]); }},
    {"sub scalar both sides", [] { return TensorList{leaf({2, 2})}; },
     [](const TensorList& x) { return one(x, (x[0] - 3.0) * (1.0 - x[0])); }},
    {"mul broadcast", [] { return TensorList{leaf({2, 3}), leaf({2, 1}, -2, 2, 2)}; },
     [](const TensorList& x) { return one(x, x[0] * x[1]); }},
    {"mul same tensor x*x", [] { return TensorList{leaf({3})}; }, [](const TensorList& x) { return one(x, x[0] * x[0]); }},
    {"mul one side constant", [] { return TensorList{leaf({2, 3}), leaf({3}, -2, 2, 2).detach()}; },
     [](const TensorList& x) { return one(x, x[0] * x[1]); }},
    {"mul non-contiguous", [] { return TensorList{noncontiguous_leaf({2, 3}), noncontiguous_leaf({2, 3}, -2, 2, 3)}; },
     [](const TensorList& x) { return one(x, x[0] * x[1]); }},
    {"div broadcast", [] { return TensorList{leaf({2, 3}), leaf_away_from({3}, {0.0}, 0.5, -2, 2, 2)}; },
     [](const TensorList& x) { return one(x, x[0] / x[1]); }},
    {"div scalar both sides", [] { return TensorList{leaf_away_from({3}, {0.0}, 0.5)}; },
     [](const TensorList& x) { return one(x, (x[0] / 4.0) + (2.0 / x[0])); }},
    {"neg", [] { return TensorList{leaf({2, 2})}; }, [](const TensorList& x) { return one(x, -x[0]); }},
    {"reciprocal", [] { return TensorList{leaf_away_from({5}, {0.0}, 0.5)}; }, [](const TensorList& x) { return one(x, reciprocal(x[0])); }},
    {"pow tensor^scalar 3", [] { return TensorList{leaf({4})}; }, [](const TensorList& x) { return one(x, pow(x[0], 3.0)); }},
    {"pow tensor^scalar 2", [] { return TensorList{leaf({4})}; }, [](const TensorList& x) { return one(x, pow(x[0], 2.0)); }},
    {"pow tensor^scalar -1.5", [] { return TensorList{leaf({4}, 0.5, 2)}; }, [](const TensorList& x) { return one(x, pow(x[0], -1.5)); }},
    {"pow scalar^tensor", [] { return TensorList{leaf({4})}; }, [](const TensorList& x) { return one(x, pow(2.5, x[0])); }},
    {"pow tensor^tensor broadcast", [] { return TensorList{leaf({2, 3}, 0.5, 2), leaf({3}, -1.5, 1.5, 2)}; },
     [](const TensorList& x) { return one(x, pow(x[0], x[1])); }},
    {"maximum broadcast", [] { return TensorList{leaf({2, 3}), leaf({3}, -2, 2, 7)}; },
     [](const TensorList& x) { return one(x, maximum(x[0], x[1])); }},
    {"minimum", [] { return TensorList{leaf({2, 3}), leaf({2, 3}, -2, 2, 7)}; },
     [](const TensorList& x) { return one(x, minimum(x[0], x[1])); }},
    {"where broadcast", [] { return TensorList{leaf({2, 3}), leaf({3}, -2, 2, 5)}; },
     [](const TensorList& x) { return one(x, where(gt(x[0], 0.0), x[0], x[1])); }},
    {"clamp away from bounds", [] { return TensorList{leaf_away_from({6}, {-0.5, 0.5}, 0.05)}; },
     [](const TensorList& x) { return one(x, clamp(x[0], -0.5, 0.5)); }},
    {"clamp_min / clamp_max", [] { return TensorList{leaf_away_from({6}, {-1.0, 1.0}, 0.05)}; },
     [](const TensorList& x) { return one(x, clamp_min(x[0], -1.0) + clamp_max(x[0], 1.0)); }},
    {"clamp non-contiguous, times x (nonzero second derivative)",
     [] {
       Tensor v = leaf_away_from({2, 4}, {-0.5, 0.5}, 0.05, -2, 2, 3).detach().t();
       v.requires_grad_();
       return TensorList{v};
     },
     [](const TensorList& x) { return one(x, clamp(x[0], -0.5, 0.5) * x[0]); }},
    // ---- more broadcasting, scalar forms and layouts ----
    {"mul scalar both sides", [] { return TensorList{leaf({2, 3})}; },
     [](const TensorList& x) { return one(x, (x[0] * 2.5) * (-1.5 * x[0])); }},
    {"div tensor by scalar, scalar by tensor (div overloads)", [] { return TensorList{leaf_away_from({2, 3}, {0.0}, 0.4)}; },
     [](const TensorList& x) { return one(x, div(x[0], 3.0) + div(-2.0, x[0])); }},
    {"div non-contiguous both", [] { return TensorList{noncontiguous_leaf({2, 3}), noncontiguous_leaf({2, 3}, 0.5, 2, 3)}; },
     [](const TensorList& x) { return one(x, x[0] / x[1]); }},
    {"sub non-contiguous broadcast (3,2)-(1,2)", [] { return TensorList{noncontiguous_leaf({3, 2}), leaf({1, 2}, -2, 2, 2)}; },
     [](const TensorList& x) { return one(x, sub(x[0], x[1], 0.75)); }},
    {"pow tensor^scalar non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 2}, 0.5, 2)}; },
     [](const TensorList& x) { return one(x, pow(x[0], 2.5)); }},
    {"pow scalar^tensor base 0.4, non-contiguous", [] { return TensorList{noncontiguous_leaf({2, 3})}; },
     [](const TensorList& x) { return one(x, pow(0.4, x[0])); }},
    {"pow tensor^tensor broadcast both ways (2,1)^(1,3)", [] { return TensorList{leaf({2, 1}, 0.5, 2), leaf({1, 3}, -1.5, 1.5, 2)}; },
     [](const TensorList& x) { return one(x, pow(x[0], x[1])); }},
    {"pow tensor^tensor non-contiguous, x^x", [] { return TensorList{noncontiguous_leaf({2, 3}, 0.5, 2)}; },
     [](const TensorList& x) { return one(x, pow(x[0], x[0])); }},
    {"maximum with a 0-d constant, times x", [] { return TensorList{leaf_away_from({2, 3}, {0.3}, 0.05)}; },
     [](const TensorList& x) { return one(x, maximum(x[0], scalar_tensor(0.3, kFloat64)) * x[0]); }},
    {"minimum broadcast (3,4) vs (4), non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 4}), leaf({4}, -2, 2, 7)}; },
     [](const TensorList& x) { return one(x, minimum(x[0], x[1])); }},
    {"maximum non-contiguous both", [] { return TensorList{noncontiguous_leaf({2, 3}), noncontiguous_leaf({2, 3}, -2, 2, 9)}; },
     [](const TensorList& x) { return one(x, maximum(x[0], x[1])); }},
    {"where with broadcast condition (3,1) and constant branch", [] { return TensorList{leaf({3, 4})}; },
     [](const TensorList& x) {
       const Tensor cond = tensor({{1.0}, {0.0}, {1.0}}, kFloat64);
       return one(x, where(cond, x[0] * x[0], scalar_tensor(0.5, kFloat64)));
     }},
    {"where non-contiguous branches", [] { return TensorList{noncontiguous_leaf({2, 3}), noncontiguous_leaf({2, 3}, -2, 2, 4)}; },
     [](const TensorList& x) { return one(x, where(lt(x[0], x[1]), x[0], x[1] * 2.0)); }},
    {"comparison masks as constant factors", [] { return TensorList{leaf_away_from({2, 3}, {0.0, 0.5}, 0.05)}; },
     [](const TensorList& x) { return one(x, x[0] * (x[0] > 0.0) + x[0] * (0.5 >= x[0]) + x[0] * (x[0] == x[0]) + x[0] * (x[0] != 0.5)); }},
});
}  // namespace
