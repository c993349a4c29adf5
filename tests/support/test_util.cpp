#include "test_util.hpp"

#include <cmath>
#include <random>

namespace xgrad::testing {

Tensor leaf(const Shape& shape, double lo, double hi, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
  for (auto& x : v) x = d(gen);
  return from_vector(v, shape, kFloat64).requires_grad_();
}

Tensor leaf_away_from(const Shape& shape, std::vector<double> kinks, double gap, double lo, double hi, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
  for (auto& x : v) {
    bool ok = false;
    while (!ok) {
      x = d(gen);
      ok = true;
      for (double k : kinks) ok = ok && std::abs(x - k) >= gap;
    }
  }
  return from_vector(v, shape, kFloat64).requires_grad_();
}

Tensor noncontiguous_leaf(const Shape& shape, double lo, double hi, std::uint64_t seed) {
  REQUIRE(shape.size() >= 2);
  Shape swapped = shape;
  std::swap(swapped[0], swapped[1]);
  Tensor base = leaf(swapped, lo, hi, seed).detach();
  Tensor view = base.transpose(0, 1);  // a view over base's storage: non-contiguous
  view.requires_grad_();
  REQUIRE_FALSE(view.is_contiguous());
  return view;
}

std::vector<OpCase>& op_cases() {
  static std::vector<OpCase> cases;
  return cases;
}

OpCaseRegistrar::OpCaseRegistrar(std::vector<OpCase> cases) {
  for (auto& c : cases) op_cases().push_back(std::move(c));
}

}  // namespace xgrad::testing
