#include "dropout.hpp"

#include <fmt/format.h>

#include "functional.hpp"

namespace xgrad::nn {

Dropout::Dropout(double p) : Module("Dropout"), p_(p) {
  if (!(p >= 0.0 && p <= 1.0)) throw ValueError(fmt::format("Dropout: drop probability p must be in [0, 1], got {}", p));
}

Tensor Dropout::forward(const Tensor& input) { return functional::dropout(input, p_, is_training()); }

std::string Dropout::extra_repr() const { return fmt::format("p={}", p_); }

ClassicDropout::ClassicDropout(double p) : Module("ClassicDropout"), p_(p) {
  if (!(p > 0.0 && p <= 1.0)) throw ValueError(fmt::format("ClassicDropout: keep probability p must be in (0, 1], got {}", p));
}

Tensor ClassicDropout::forward(const Tensor& input) { return functional::classic_dropout(input, p_, is_training()); }

std::string ClassicDropout::extra_repr() const { return fmt::format("keep_prob={}", p_); }

}  // namespace xgrad::nn
