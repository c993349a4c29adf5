#include "normalization.hpp"

#include <fmt/format.h>

#include "../autograd/grad_mode.hpp"
#include "../autograd/ops.hpp"
#include "functional.hpp"

namespace xgrad::nn {

BatchNorm1d::BatchNorm1d(std::int64_t num_features, double eps, std::optional<double> momentum, bool affine, bool track_running_stats,
                         Dtype dtype)
    : BatchNorm1d(num_features, [&] {
        BatchNormOptions o;
        o.eps = eps;
        o.momentum = momentum;
        o.affine = affine;
        o.track_running_stats = track_running_stats;
        o.dtype = dtype;
        return o;
      }()) {}

BatchNorm1d::BatchNorm1d(std::int64_t num_features, const BatchNormOptions& options)
    : Module("BatchNorm1d"), num_features_(num_features), options_(options) {
  if (num_features <= 0) throw ValueError(fmt::format("BatchNorm1d: num_features must be positive, got {}", num_features));
  if (!(options.eps >= 0.0)) throw ValueError(fmt::format("BatchNorm1d: eps must be non-negative, got {}", options.eps));
  if (options.momentum && !(*options.momentum >= 0.0 && *options.momentum <= 1.0))
    throw ValueError(fmt::format("BatchNorm1d: momentum must be in [0, 1], got {}", *options.momentum));
  if (!is_floating(options.dtype))
    throw DtypeError(fmt::format("BatchNorm1d: parameters must be float32 or float64, not {}", dtype_name(options.dtype)));
  const Dtype dt = options.dtype;
  weight_ = &register_parameter("weight", options.affine ? ones({num_features}, dt) : Tensor());
  bias_ = &register_parameter("bias", options.affine ? zeros({num_features}, dt) : Tensor());
  const bool track = options.track_running_stats;
  running_mean_ = &register_buffer("running_mean", track ? zeros({num_features}, dt) : Tensor());
  running_var_ = &register_buffer("running_var", track ? ones({num_features}, dt) : Tensor());
  num_batches_tracked_ = &register_buffer("num_batches_tracked", track ? zeros({}, kInt64) : Tensor());
}

void BatchNorm1d::reset_running_stats() {
  if (!options_.track_running_stats) return;
  NoGradGuard no_grad;
  running_mean_->zero_();
  running_var_->fill_(1.0);
  num_batches_tracked_->zero_();
}

void BatchNorm1d::reset_parameters() {
  reset_running_stats();
  if (!options_.affine) return;
  NoGradGuard no_grad;
  weight_->fill_(1.0);
  bias_->zero_();
}

Tensor BatchNorm1d::forward(const Tensor& input) {
  if (!input.defined()) throw ValueError("BatchNorm1d: the input is undefined" + OpScope::call_site());
  if ((input.dim() != 2 && input.dim() != 3) || input.size(1) != num_features_)
    throw ShapeError(fmt::format("BatchNorm1d: expected an input of shape (N, {0}) or (N, {0}, L), got {1}{2}", num_features_,
                                 shape_str(input.shape()), OpScope::call_site()));
  const bool track = options_.track_running_stats;
  if (!is_training() && track)
    return functional::batch_norm(input, *running_mean_, *running_var_, *weight_, *bias_, false, 0.0, options_.eps);
  double factor = 0.0;
  std::int64_t batches = 0;
  if (is_training() && track) {
    batches = num_batches_tracked_->item<std::int64_t>() + 1;
    if (!options_.momentum) factor = 1.0 / static_cast<double>(batches);
    else factor = options_.convention == MomentumConvention::keras ? 1.0 - *options_.momentum : *options_.momentum;
  }
  const Tensor none;
  Tensor y = functional::batch_norm(input, track ? *running_mean_ : none, track ? *running_var_ : none, *weight_, *bias_, true, factor,
                                    options_.eps, options_.unbiased_running_var);
  if (is_training() && track) num_batches_tracked_->fill_(static_cast<double>(batches));
  return y;
}

std::string BatchNorm1d::extra_repr() const {
  std::string momentum = options_.momentum ? fmt::format("{}", *options_.momentum) : "cumulative";
  if (options_.convention == MomentumConvention::keras) momentum += " (keras convention)";
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features_, options_.eps, momentum, options_.affine,
                     options_.track_running_stats);
}

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine, Dtype dtype)
    : Module("LayerNorm"), normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  if (normalized_shape_.empty()) throw ValueError("LayerNorm: normalized_shape must have at least one dimension");
  for (auto s : normalized_shape_)
    if (s <= 0) throw ValueError(fmt::format("LayerNorm: normalized_shape {} must have positive sizes", shape_str(normalized_shape_)));
  if (!(eps >= 0.0)) throw ValueError(fmt::format("LayerNorm: eps must be non-negative, got {}", eps));
  if (!is_floating(dtype)) throw DtypeError(fmt::format("LayerNorm: parameters must be float32 or float64, not {}", dtype_name(dtype)));
  weight_ = &register_parameter("weight", elementwise_affine ? ones(normalized_shape_, dtype) : Tensor());
  bias_ = &register_parameter("bias", elementwise_affine ? zeros(normalized_shape_, dtype) : Tensor());
}

LayerNorm::LayerNorm(std::int64_t normalized_size, double eps, bool elementwise_affine, Dtype dtype)
    : LayerNorm(Shape{normalized_size}, eps, elementwise_affine, dtype) {}

Tensor LayerNorm::forward(const Tensor& input) { return functional::layer_norm(input, normalized_shape_, *weight_, *bias_, eps_); }

std::string LayerNorm::extra_repr() const {
  return fmt::format("{}, eps={}, elementwise_affine={}", shape_str(normalized_shape_), eps_, weight_->defined());
}

}  // namespace xgrad::nn
