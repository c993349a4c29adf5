#include "init.hpp"

#include <fmt/format.h>

#include <cmath>

#include "../autograd/grad_mode.hpp"
#include "../autograd/ops/factories.hpp"

namespace xgrad::nn::init {
namespace {

void check_defined(const Tensor& t, const char* op) {
  if (!t.defined()) throw ValueError(fmt::format("init::{}: the tensor is undefined", op));
}

void check_floating(const Tensor& t, const char* op) {
  check_defined(t, op);
  if (!is_floating(t.dtype()))
    throw DtypeError(fmt::format("init::{}: random initialization needs a float32 or float64 tensor, got {} of shape {}", op,
                                 dtype_name(t.dtype()), shape_str(t.shape())));
}

/// Copies `values` into `tensor` without recording (parameters require grad).
Tensor assign(const Tensor& tensor, const Tensor& values) {
  NoGradGuard no_grad;
  Tensor t = tensor;
  t.copy_(values);
  return t;
}

Fans fans_for(const Tensor& t, const char* op) {
  check_defined(t, op);
  if (t.dim() < 2)
    throw ShapeError(fmt::format("init::{}: fan_in and fan_out need a tensor with at least 2 dimensions, got shape {}", op,
                                 shape_str(t.shape())));
  std::int64_t receptive = 1;
  for (std::int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

double fan_for_mode(const Tensor& t, FanMode mode, const char* op) {
  const Fans f = fans_for(t, op);
  const auto fan = mode == FanMode::fan_in ? f.fan_in : f.fan_out;
  if (fan == 0)
    throw ValueError(fmt::format("init::{}: cannot initialize a tensor with a zero {} (shape {})", op,
                                 mode == FanMode::fan_in ? "fan_in" : "fan_out", shape_str(t.shape())));
  return static_cast<double>(fan);
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::linear:
    case Nonlinearity::sigmoid:
      return 1.0;
    case Nonlinearity::tanh:
      return 5.0 / 3.0;
    case Nonlinearity::relu:
      return std::sqrt(2.0);
    case Nonlinearity::leaky_relu:
      return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::selu:
      return 3.0 / 4.0;
  }
  throw ValueError("init::calculate_gain: unknown nonlinearity");
}

Fans calculate_fans(const Tensor& tensor) { return fans_for(tensor, "calculate_fans"); }

Tensor uniform_(const Tensor& tensor, double a, double b) {
  check_floating(tensor, "uniform_");
  if (!(a <= b)) throw ValueError(fmt::format("init::uniform_: expected a <= b, got a={} b={}", a, b));
  return assign(tensor, uniform(tensor.shape(), a, b, tensor.dtype()));
}

Tensor normal_(const Tensor& tensor, double mean, double stddev) {
  check_floating(tensor, "normal_");
  if (!(stddev >= 0)) throw ValueError(fmt::format("init::normal_: stddev must be non-negative, got {}", stddev));
  return assign(tensor, normal(tensor.shape(), mean, stddev, tensor.dtype()));
}

namespace {
Tensor fill(const Tensor& tensor, double value, const char* op) {
  check_defined(tensor, op);
  NoGradGuard no_grad;
  Tensor t = tensor;
  t.fill_(value);
  return t;
}
}  // namespace

Tensor constant_(const Tensor& tensor, double value) { return fill(tensor, value, "constant_"); }
Tensor zeros_(const Tensor& tensor) { return fill(tensor, 0.0, "zeros_"); }
Tensor ones_(const Tensor& tensor) { return fill(tensor, 1.0, "ones_"); }

Tensor xavier_uniform_(const Tensor& tensor, double gain) {
  check_floating(tensor, "xavier_uniform_");
  const Fans f = fans_for(tensor, "xavier_uniform_");
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(f.fan_in + f.fan_out));
  return assign(tensor, uniform(tensor.shape(), -bound, bound, tensor.dtype()));
}

Tensor xavier_normal_(const Tensor& tensor, double gain) {
  check_floating(tensor, "xavier_normal_");
  const Fans f = fans_for(tensor, "xavier_normal_");
  const double sigma = gain * std::sqrt(2.0 / static_cast<double>(f.fan_in + f.fan_out));
  return assign(tensor, normal(tensor.shape(), 0.0, sigma, tensor.dtype()));
}

Tensor glorot_uniform_(const Tensor& tensor, double gain) { return xavier_uniform_(tensor, gain); }
Tensor glorot_normal_(const Tensor& tensor, double gain) { return xavier_normal_(tensor, gain); }

Tensor kaiming_uniform_(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
  check_floating(tensor, "kaiming_uniform_");
  const double sigma = calculate_gain(nonlinearity, a) / std::sqrt(fan_for_mode(tensor, mode, "kaiming_uniform_"));
  const double bound = std::sqrt(3.0) * sigma;
  return assign(tensor, uniform(tensor.shape(), -bound, bound, tensor.dtype()));
}

Tensor kaiming_normal_(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
  check_floating(tensor, "kaiming_normal_");
  const double sigma = calculate_gain(nonlinearity, a) / std::sqrt(fan_for_mode(tensor, mode, "kaiming_normal_"));
  return assign(tensor, normal(tensor.shape(), 0.0, sigma, tensor.dtype()));
}

Tensor he_uniform_(const Tensor& tensor) { return kaiming_uniform_(tensor, 0.0, FanMode::fan_in, Nonlinearity::relu); }
Tensor he_normal_(const Tensor& tensor) { return kaiming_normal_(tensor, 0.0, FanMode::fan_in, Nonlinearity::relu); }

Tensor lecun_uniform_(const Tensor& tensor) {
  check_floating(tensor, "lecun_uniform_");
  const double bound = std::sqrt(3.0 / fan_for_mode(tensor, FanMode::fan_in, "lecun_uniform_"));
  return assign(tensor, uniform(tensor.shape(), -bound, bound, tensor.dtype()));
}

Tensor lecun_normal_(const Tensor& tensor) {
  check_floating(tensor, "lecun_normal_");
  const double sigma = std::sqrt(1.0 / fan_for_mode(tensor, FanMode::fan_in, "lecun_normal_"));
  return assign(tensor, normal(tensor.shape(), 0.0, sigma, tensor.dtype()));
}

}  // namespace xgrad::nn::init
