#include "linear.hpp"

#include <fmt/format.h>

#include <cmath>

#include "../autograd/ops.hpp"
#include "init.hpp"

namespace xgrad::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias, Dtype dtype)
    : Module("Linear"), in_features_(in_features), out_features_(out_features) {
  if (in_features <= 0 || out_features <= 0)
    throw ValueError(fmt::format("Linear: in_features and out_features must be positive, got in_features={}, out_features={}",
                                 in_features, out_features));
  if (!is_floating(dtype)) throw DtypeError(fmt::format("Linear: parameters must be float32 or float64, not {}", dtype_name(dtype)));
  weight_ = &register_parameter("weight", zeros({out_features, in_features}, dtype));
  bias_ = &register_parameter("bias", bias ? zeros({out_features}, dtype) : Tensor());
  reset_parameters();
}

void Linear::reset_parameters() {
  init::kaiming_uniform_(*weight_, std::sqrt(5.0));
  if (bias_->defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features_));
    init::uniform_(*bias_, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& input) { return linear(input, *weight_, *bias_); }

std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", in_features_, out_features_, bias_->defined());
}

Identity::Identity() : Module("Identity") {}

Tensor Identity::forward(const Tensor& input) { return input; }

Flatten::Flatten(std::int64_t start_dim, std::int64_t end_dim) : Module("Flatten"), start_dim_(start_dim), end_dim_(end_dim) {}

Tensor Flatten::forward(const Tensor& input) { return flatten(input, start_dim_, end_dim_); }

std::string Flatten::extra_repr() const { return fmt::format("start_dim={}, end_dim={}", start_dim_, end_dim_); }

}  // namespace xgrad::nn
