#include "activation.hpp"

#include <fmt/format.h>

#include <cmath>

#include "../autograd/ops.hpp"

namespace xgrad::nn {

Sigmoid::Sigmoid() : Module("Sigmoid") {}
Tensor Sigmoid::forward(const Tensor& input) { return sigmoid(input); }

Tanh::Tanh() : Module("Tanh") {}
Tensor Tanh::forward(const Tensor& input) { return tanh(input); }

ReLU::ReLU() : Module("ReLU") {}
Tensor ReLU::forward(const Tensor& input) { return relu(input); }

LeakyReLU::LeakyReLU(double alpha) : Module("LeakyReLU"), alpha_(alpha) {}
Tensor LeakyReLU::forward(const Tensor& input) { return leaky_relu(input, alpha_); }
std::string LeakyReLU::extra_repr() const { return fmt::format("alpha={}", alpha_); }

ELU::ELU(double alpha) : Module("ELU"), alpha_(alpha) {}
Tensor ELU::forward(const Tensor& input) { return elu(input, alpha_); }
std::string ELU::extra_repr() const { return fmt::format("alpha={}", alpha_); }

SELU::SELU() : Module("SELU") {}
Tensor SELU::forward(const Tensor& input) { return selu(input); }

Softplus::Softplus(double beta, double threshold) : Module("Softplus"), beta_(beta), threshold_(threshold) {
  if (!(beta > 0.0)) throw ValueError(fmt::format("Softplus: beta must be positive, got {}", beta));
}
Tensor Softplus::forward(const Tensor& input) { return softplus(input, beta_, threshold_); }
std::string Softplus::extra_repr() const { return fmt::format("beta={}, threshold={}", beta_, threshold_); }

PReLU::PReLU(std::int64_t num_parameters, double init, Dtype dtype) : Module("PReLU"), num_parameters_(num_parameters) {
  if (num_parameters <= 0) throw ValueError(fmt::format("PReLU: num_parameters must be positive, got {}", num_parameters));
  if (!is_floating(dtype)) throw DtypeError(fmt::format("PReLU: parameters must be float32 or float64, not {}", dtype_name(dtype)));
  weight_ = &register_parameter("weight", full({num_parameters}, init, dtype));
}
Tensor PReLU::forward(const Tensor& input) { return prelu(input, *weight_); }
std::string PReLU::extra_repr() const { return fmt::format("num_parameters={}", num_parameters_); }

GELU::GELU() : Module("GELU") {}
Tensor GELU::forward(const Tensor& input) { return gelu(input); }

SiLU::SiLU() : Module("SiLU") {}
Tensor SiLU::forward(const Tensor& input) { return silu(input); }

Softmax::Softmax(std::int64_t dim) : Module("Softmax"), dim_(dim) {}
Tensor Softmax::forward(const Tensor& input) { return softmax(input, dim_); }
std::string Softmax::extra_repr() const { return fmt::format("dim={}", dim_); }

LogSoftmax::LogSoftmax(std::int64_t dim) : Module("LogSoftmax"), dim_(dim) {}
Tensor LogSoftmax::forward(const Tensor& input) { return log_softmax(input, dim_); }
std::string LogSoftmax::extra_repr() const { return fmt::format("dim={}", dim_); }

Step::Step(double value_at_zero) : Module("Step"), value_at_zero_(value_at_zero) {
  if (!std::isfinite(value_at_zero)) throw ValueError(fmt::format("Step: value_at_zero must be finite, got {}", value_at_zero));
}
Tensor Step::forward(const Tensor& input) { return heaviside(input, value_at_zero_); }
std::string Step::extra_repr() const { return value_at_zero_ == 0.0 ? std::string() : fmt::format("value_at_zero={}", value_at_zero_); }

}  // namespace xgrad::nn
