// Op cases: softmax / log_softmax along every kind of dim, and every loss with each reduction,
// weights, label smoothing, ignore_index and probability targets. gradgradcheck runs on all of them
// (cross entropy included: its fused backward has its own backward).
#include "support/test_util.hpp"

using namespace xgrad;
using namespace xgrad::testing;

namespace {

const Reduction kReductions[] = {Reduction::none, Reduction::mean, Reduction::sum};
std::string rname(Reduction r) { return r == Reduction::none ? "none" : r == Reduction::mean ? "mean" : "sum"; }

std::vector<OpCase> softmax_cases() {
  std::vector<OpCase> cases;
  for (bool log : {false, true}) {
    const std::string name = log ? "log_softmax" : "softmax";
    auto f = [log](const Tensor& x, std::int64_t d) { return log ? log_softmax(x, d) : softmax(x, d); };
    cases.push_back({name + " last dim", [] { return TensorList{leaf({3, 4})}; },
                     [f](const TensorList& x) { return TensorList{f(x[0], -1)}; }});
    cases.push_back({name + " dim 0", [] { return TensorList{leaf({3, 4})}; }, [f](const TensorList& x) { return TensorList{f(x[0], 0)}; }});
    cases.push_back({name + " middle dim of 3-D", [] { return TensorList{leaf({2, 3, 2})}; },
                     [f](const TensorList& x) { return TensorList{f(x[0], 1)}; }});
    cases.push_back({name + " 1-D", [] { return TensorList{leaf({5})}; }, [f](const TensorList& x) { return TensorList{f(x[0], 0)}; }});
    cases.push_back({name + " non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 4})}; },
                     [f](const TensorList& x) { return TensorList{f(x[0], 1)}; }});
    cases.push_back({name + " wide row (vector path)", [] { return TensorList{leaf({2, 19})}; },
                     [f](const TensorList& x) { return TensorList{f(x[0], 1)}; }});
    cases.push_back({name + " logits shifted by 1e4", [] { return TensorList{leaf({2, 3})}; },
                     [f](const TensorList& x) { return TensorList{f(x[0] + 1e4, 1)}; }});
    cases.push_back({name + " weighted sum (scalar output)", [] { return TensorList{leaf({2, 4}), leaf({2, 4}, -2, 2, 5)}; },
                     [f](const TensorList& x) { return TensorList{sum(f(x[0], 1) * x[1])}; }});
  }
  cases.push_back({"Tensor::softmax and log_softmax methods", [] { return TensorList{leaf({2, 3})}; },
                   [](const TensorList& x) { return TensorList{x[0].softmax(0) * x[0].log_softmax(1)}; }});
  return cases;
}

std::vector<OpCase> regression_cases() {
  std::vector<OpCase> cases;
  for (Reduction r : kReductions) {
    const std::string s = " reduction " + rname(r);
    cases.push_back({"mse_loss" + s, [] { return TensorList{leaf({2, 3}), leaf({2, 3}, -2, 2, 2)}; },
                     [r](const TensorList& x) { return TensorList{mse_loss(x[0], x[1], r)}; }});
    // |x - y| away from 0: x away from the kink, |y| < 0.05
    cases.push_back({"l1_loss" + s, [] { return TensorList{leaf_away_from({2, 3}, {0.0}, 0.1), leaf({2, 3}, -0.05, 0.05, 2)}; },
                     [r](const TensorList& x) { return TensorList{l1_loss(x[0], x[1], r)}; }});
    // both branches present (|d| below and above delta), away from |d| = delta
    cases.push_back({"huber_loss delta 1" + s,
                     [] { return TensorList{leaf_away_from({2, 4}, {-1.0, 1.0}, 0.1, -3, 3), leaf({2, 4}, -0.05, 0.05, 2)}; },
                     [r](const TensorList& x) { return TensorList{huber_loss(x[0], x[1], r, 1.0)}; }});
    cases.push_back({"smooth_l1_loss beta 0.5" + s,
                     [] { return TensorList{leaf_away_from({2, 4}, {-0.5, 0.0, 0.5}, 0.1, -2, 2), leaf({2, 4}, -0.05, 0.05, 2)}; },
                     [r](const TensorList& x) { return TensorList{smooth_l1_loss(x[0], x[1], r, 0.5)}; }});
  }
  cases.push_back({"huber_loss delta 0.3", [] { return TensorList{leaf_away_from({3, 3}, {-0.3, 0.0, 0.3}, 0.08, -1, 1), leaf({3, 3}, -0.02, 0.02, 2)}; },
                   [](const TensorList& x) { return TensorList{huber_loss(x[0], x[1], Reduction::mean, 0.3)}; }});
  cases.push_back({"smooth_l1_loss beta 0 (= l1)", [] { return TensorList{leaf_away_from({4}, {0.0}, 0.1), leaf({4}, -0.05, 0.05, 2)}; },
                   [](const TensorList& x) { return TensorList{smooth_l1_loss(x[0], x[1], Reduction::sum, 0.0)}; }});
  cases.push_back({"mse_loss non-contiguous", [] { return TensorList{noncontiguous_leaf({3, 2}), leaf({3, 2}, -2, 2, 2)}; },
                   [](const TensorList& x) { return TensorList{mse_loss(x[0], x[1])}; }});
  return cases;
}

std::vector<OpCase> bce_cases() {
  std::vector<OpCase> cases;
  for (Reduction r : kReductions) {
    const std::string s = " reduction " + rname(r);
    cases.push_back({"binary_cross_entropy" + s, [] { return TensorList{leaf({2, 3}, 0.1, 0.9), leaf({2, 3}, 0, 1, 2)}; },
                     [r](const TensorList& x) { return TensorList{binary_cross_entropy(x[0], x[1], r)}; }});
    cases.push_back({"binary_cross_entropy weight" + s,
                     [] { return TensorList{leaf({2, 3}, 0.1, 0.9), leaf({2, 3}, 0, 1, 2), leaf({3}, 0.5, 2, 3)}; },
                     [r](const TensorList& x) { return TensorList{binary_cross_entropy(x[0], x[1], r, x[2])}; }});
    cases.push_back({"binary_cross_entropy_with_logits" + s, [] { return TensorList{leaf({2, 3}, -3, 3), leaf({2, 3}, 0, 1, 2)}; },
                     [r](const TensorList& x) { return TensorList{binary_cross_entropy_with_logits(x[0], x[1], r)}; }});
    cases.push_back({"binary_cross_entropy_with_logits weight, pos_weight" + s,
                     [] {
                       return TensorList{leaf({2, 3}, -3, 3), leaf({2, 3}, 0, 1, 2), leaf({2, 1}, 0.5, 2, 3), leaf({3}, 0.5, 3, 4)};
                     },
                     [r](const TensorList& x) { return TensorList{binary_cross_entropy_with_logits(x[0], x[1], r, x[2], x[3])}; }});
  }
  cases.push_back({"binary_cross_entropy_with_logits pos_weight only", [] { return TensorList{leaf({3, 2}, -3, 3), leaf({3, 2}, 0, 1, 2), leaf({2}, 0.5, 3, 4)}; },
                   [](const TensorList& x) { return TensorList{binary_cross_entropy_with_logits(x[0], x[1], Reduction::mean, Tensor(), x[2])}; }});
  cases.push_back({"binary_cross_entropy of sigmoid", [] { return TensorList{leaf({4}, -3, 3), leaf({4}, 0, 1, 2).detach()}; },
                   [](const TensorList& x) { return TensorList{binary_cross_entropy(sigmoid(x[0]), x[1])}; }});
  return cases;
}

Tensor labels4() { return tensor_int({2, 0, 4, 1}); }

std::vector<OpCase> cross_entropy_cases() {
  std::vector<OpCase> cases;
  for (Reduction r : kReductions) {
    const std::string s = " reduction " + rname(r);
    cases.push_back({"cross_entropy class indices" + s, [] { return TensorList{leaf({4, 5})}; },
                     [r](const TensorList& x) { return TensorList{cross_entropy(x[0], labels4(), {.reduction = r})}; }});
    cases.push_back({"cross_entropy class weights" + s, [] { return TensorList{leaf({4, 5})}; },
                     [r](const TensorList& x) {
                       const Tensor w = tensor({0.5, 1.0, 2.0, 1.5, 0.25}, kFloat64);
                       return TensorList{cross_entropy(x[0], labels4(), {.reduction = r, .weight = w})};
                     }});
    cases.push_back({"cross_entropy label smoothing 0.2 + weights" + s, [] { return TensorList{leaf({4, 5})}; },
                     [r](const TensorList& x) {
                       const Tensor w = tensor({0.5, 1.0, 2.0, 1.5, 0.25}, kFloat64);
                       return TensorList{cross_entropy(x[0], labels4(), {.reduction = r, .weight = w, .label_smoothing = 0.2})};
                     }});
    cases.push_back({"cross_entropy ignore_index" + s, [] { return TensorList{leaf({4, 5})}; },
                     [r](const TensorList& x) {
                       return TensorList{cross_entropy(x[0], tensor_int({2, -100, 4, 1}), {.reduction = r, .label_smoothing = 0.1})};
                     }});
    cases.push_back({"cross_entropy probability targets" + s, [] { return TensorList{leaf({3, 4}), leaf({3, 4}, 0, 1, 2)}; },
                     [r](const TensorList& x) { return TensorList{cross_entropy(x[0], x[1], {.reduction = r})}; }});
    cases.push_back({"cross_entropy probability targets, weights, smoothing" + s,
                     [] { return TensorList{leaf({3, 4}), leaf({3, 4}, 0, 1, 2)}; },
                     [r](const TensorList& x) {
                       const Tensor w = tensor({0.5, 1.0, 2.0, 1.5}, kFloat64);
                       return TensorList{cross_entropy(x[0], x[1], {.reduction = r, .weight = w, .label_smoothing = 0.3})};
                     }});
    cases.push_back({"nll_loss" + s, [] { return TensorList{leaf({4, 5})}; },
                     [r](const TensorList& x) { return TensorList{nll_loss(x[0], labels4(), r)}; }});
    cases.push_back({"nll_loss weights, ignore_index 0" + s, [] { return TensorList{leaf({4, 5})}; },
                     [r](const TensorList& x) {
                       const Tensor w = tensor({0.5, 1.0, 2.0, 1.5, 0.25}, kFloat64);
                       return TensorList{nll_loss(x[0], labels4(), r, w, 0)};
                     }});
  }
  cases.push_back({"cross_entropy one sample (C) logits", [] { return TensorList{leaf({5})}; },
                   [](const TensorList& x) { return TensorList{cross_entropy(x[0], from_vector(std::vector<std::int64_t>{3}, {}))}; }});
  cases.push_back({"cross_entropy one sample, reduction none", [] { return TensorList{leaf({5})}; },
                   [](const TensorList& x) {
                     return TensorList{cross_entropy(x[0], from_vector(std::vector<std::int64_t>{3}, {}), {.reduction = Reduction::none})};
                   }});
  cases.push_back({"cross_entropy integral float targets", [] { return TensorList{leaf({4, 5})}; },
                   [](const TensorList& x) { return TensorList{cross_entropy(x[0], tensor({2.0, 0.0, 4.0, 1.0}, kFloat64))}; }});
  cases.push_back({"cross_entropy non-contiguous logits", [] { return TensorList{noncontiguous_leaf({4, 5})}; },
                   [](const TensorList& x) { return TensorList{cross_entropy(x[0], labels4(), {.label_smoothing = 0.1})}; }});
  cases.push_back({"cross_entropy wide rows (vector path)", [] { return TensorList{leaf({2, 21})}; },
                   [](const TensorList& x) { return TensorList{cross_entropy(x[0], tensor_int({20, 3}), {.label_smoothing = 0.05})}; }});
  cases.push_back({"cross_entropy after linear (classifier head)",
                   [] { return TensorList{leaf({4, 3}), leaf({5, 3}, -1, 1, 2), leaf({5}, -1, 1, 3)}; },
                   [](const TensorList& x) { return TensorList{cross_entropy(linear(x[0], x[1], x[2]), labels4())}; }});
  cases.push_back({"nll_loss of log_softmax", [] { return TensorList{leaf({4, 5})}; },
                   [](const TensorList& x) { return TensorList{nll_loss(log_softmax(x[0], 1), labels4())}; }});
  // K-dimensional inputs (N, C, d1, ..., dk)
  for (Reduction r : kReductions) {
    const std::string s = " reduction " + rname(r);
    cases.push_back({"cross_entropy (N, C, d) class indices, weights, smoothing, ignore_index" + s, [] { return TensorList{leaf({2, 3, 4})}; },
                     [r](const TensorList& x) {
                       const Tensor y = from_vector(std::vector<std::int64_t>{0, 2, 1, -100, 2, 2, 0, 1}, {2, 4});
                       const Tensor w = tensor({0.5, 2.0, 1.25}, kFloat64);
                       return TensorList{cross_entropy(x[0], y, {.reduction = r, .weight = w, .label_smoothing = 0.1})};
                     }});
    cases.push_back({"cross_entropy (N, C, d1, d2) probability targets" + s, [] { return TensorList{leaf({2, 3, 2, 2}), leaf({2, 3, 2, 2}, 0, 1, 2)}; },
                     [r](const TensorList& x) { return TensorList{cross_entropy(x[0], x[1], {.reduction = r, .label_smoothing = 0.2})}; }});
    cases.push_back({"nll_loss (N, C, d) weights" + s, [] { return TensorList{leaf({2, 3, 3})}; },
                     [r](const TensorList& x) {
                       const Tensor y = from_vector(std::vector<std::int64_t>{0, 2, 1, 1, 2, 0}, {2, 3});
                       return TensorList{nll_loss(x[0], y, r, tensor({0.5, 2.0, 1.25}, kFloat64))};
                     }});
  }
  cases.push_back({"cross_entropy (N, C, d) non-contiguous logits", [] { return TensorList{leaf({2, 4, 3})}; },
                   [](const TensorList& x) {
                     return TensorList{cross_entropy(transpose(x[0], 1, 2), from_vector(std::vector<std::int64_t>{0, 2, 1, 2, 1, 0, 0, 2}, {2, 4}))};
                   }});
  cases.push_back({"nll_loss one sample", [] { return TensorList{leaf({5})}; },
                   [](const TensorList& x) { return TensorList{nll_loss(x[0], from_vector(std::vector<std::int64_t>{1}, {}), Reduction::none)}; }});
  return cases;
}

const OpCaseRegistrar softmax_registrar(softmax_cases());
const OpCaseRegistrar regression_registrar(regression_cases());
const OpCaseRegistrar bce_registrar(bce_cases());
const OpCaseRegistrar cross_entropy_registrar(cross_entropy_cases());

}  // namespace
