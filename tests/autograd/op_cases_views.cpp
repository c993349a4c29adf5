// Op cases: views and reductions sum/mean.
#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {
const OpCaseRegistrar view_cases({
    {"reshape", [] { return TensorList{leaf({2, 3})}; }, [](const TensorList& x) { return TensorList{reshape(x[0], {3, -1}) * 2.0}; }},
    {"reshape non-contiguous", [] { return TensorList{noncontiguous_leaf({2, 3})}; },
     [](const TensorList& x) { return TensorList{reshape(x[0], {6})}; }},
    {"view", [] { return TensorList{leaf({2, 3})}; }, [](const TensorList& x) { return TensorList{view(x[0], {6})}; }},
    {"flatten", [] { return TensorList{leaf({2, 2, 2})}; }, [](const TensorList& x) { return TensorList{flatten(x[0], 1)}; }},
    {"squeeze / unsqueeze", [] { return TensorList{leaf({2, 1, 3})}; },
     [](const TensorList& x) { return TensorList{unsqueeze(squeeze(x[0], 1), 0) * unsqueeze(squeeze(x[0]), -1).sum()}; }},
    {"expand", [] { return TensorList{leaf({3, 1})}; }, [](const TensorList& x) { return TensorList{expand(x[0], {2, 3, 4}) * 1.5}; }},
    {"broadcast_to (2,1) -> (3,2,4), non-contiguous",
     [] {
       Tensor v = narrow(leaf({2, 3}).detach(), 1, 1, 1);  // (2, 1) with strides (3, 1)
       v.requires_grad_();
       REQUIRE_FALSE(v.is_contiguous());
       return TensorList{v};
     },
     [](const TensorList& x) { return TensorList{square(broadcast_to(x[0], {3, 2, 4}))}; }},
    {"expand with -1 keeping a size", [] { return TensorList{leaf({1, 3})}; },
     [](const TensorList& x) { return TensorList{expand(x[0], {2, -1}) * tensor({{1.0}, {2.0}}, kFloat64)}; }},
    {"view and flatten of a view (reshape chain)", [] { return TensorList{leaf({2, 3, 2})}; },
     [](const TensorList& x) { return TensorList{square(flatten(view(x[0], {3, 4}), 0, -1).reshape({2, 6}))}; }},
    {"squeeze(dim) of a size > 1 dim is a no-op", [] { return TensorList{leaf({2, 3})}; },
     [](const TensorList& x) { return TensorList{squeeze(x[0], 0) * 2.0}; }},
    {"unsqueeze then permute, non-contiguous", [] { return TensorList{noncontiguous_leaf({2, 3})}; },
     [](const TensorList& x) { return TensorList{square(permute(unsqueeze(x[0], 1), {2, 0, 1}))}; }},
    {"transpose", [] { return TensorList{leaf({2, 3, 4})}; }, [](const TensorList& x) { return TensorList{transpose(x[0], 0, 2)}; }},
    {"t", [] { return TensorList{leaf({2, 3})}; }, [](const TensorList& x) { return TensorList{t(x[0]) * t(x[0])}; }},
    {"permute", [] { return TensorList{leaf({2, 3, 4})}; },
     [](const TensorList& x) { return TensorList{permute(x[0], {1, 2, 0}) * 2.0}; }},
    {"sum all", [] { return TensorList{leaf({2, 3})}; }, [](const TensorList& x) { return TensorList{sum(x[0])}; }},
    {"sum dims keepdim", [] { return TensorList{leaf({2, 3, 4})}; },
     [](const TensorList& x) { return TensorList{sum(x[0], {0, 2}, true) * x[0]}; }},
    {"sum non-adjacent dims", [] { return TensorList{leaf({2, 3, 4})}; },
     [](const TensorList& x) { return TensorList{square(sum(x[0], {0, 2}))}; }},
    {"sum negative dim non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 4})}; },
     [](const TensorList& x) { return TensorList{square(sum(x[0], {-1}))}; }},
    {"mean", [] { return TensorList{leaf({2, 3, 4})}; }, [](const TensorList& x) { return TensorList{square(mean(x[0], {1}))}; }},
    {"mean all keepdim", [] { return TensorList{leaf({2, 3})}; },
     [](const TensorList& x) { return TensorList{mean(x[0], {}, true) * x[0]}; }},
    {"clone and contiguous", [] { return TensorList{noncontiguous_leaf({2, 3})}; },
     [](const TensorList& x) { return TensorList{x[0].clone() * x[0].contiguous()}; }},
});
}  // namespace
