#include "functional.hpp"

#include <fmt/format.h>

#include "../autograd/grad_mode.hpp"
#include "../autograd/ops.hpp"

namespace xgrad::nn::functional {

using xgrad::detail::raise;

namespace {

void check_defined(const Tensor& t, const char* op, const char* what) {
  if (!t.defined()) raise<ValueError>(op, fmt::format("{} is undefined", what));
}

/// Shape (1, C, 1, ..., 1) of rank `rank`: per-channel vectors broadcast against (N, C, ...).
Shape channel_shape(std::int64_t channels, std::int64_t rank) {
  Shape s(static_cast<std::size_t>(rank), 1);
  s[1] = channels;
  return s;
}

void check_channel_vector(const Tensor& t, std::int64_t channels, const Tensor& x, const char* op, const char* what) {
  if (!t.defined()) return;
  if (t.shape() != Shape{channels})
    raise<ShapeError>(op, fmt::format("{} has shape {}, expected {} for an input of shape {} (channels = dim 1)", what,
                                      shape_str(t.shape()), shape_str({channels}), shape_str(x.shape())));
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Where where) {
  OpScope scope("dropout", where);
  check_defined(x, "dropout", "the input");
  if (!(p >= 0.0 && p <= 1.0)) raise<ValueError>("dropout", fmt::format("drop probability p must be in [0, 1], got {}", p));
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;
  // mask/(1-p) is built without recording (the mask is a constant); one recorded multiply
  const Tensor scaled_mask = bernoulli(x.shape(), 1.0 - p, x.dtype()).mul_(1.0 / (1.0 - p));
  return x * scaled_mask;
}

Tensor classic_dropout(const Tensor& x, double keep_prob, bool training, Where where) {
  OpScope scope("classic_dropout", where);
  check_defined(x, "classic_dropout", "the input");
  if (!(keep_prob > 0.0 && keep_prob <= 1.0))
    raise<ValueError>("classic_dropout", fmt::format("keep probability p must be in (0, 1], got {}", keep_prob));
  if (keep_prob == 1.0) return x;
  if (!training) return x * keep_prob;
  return x * bernoulli(x.shape(), keep_prob, x.dtype());
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight, const Tensor& bias,
                  bool training, double momentum, double eps, bool unbiased_running_var, Where where) {
  OpScope scope("batch_norm", where);
  check_defined(x, "batch_norm", "the input");
  if (x.dim() < 2)
    raise<ShapeError>("batch_norm", fmt::format("expected an input of shape (N, C) or (N, C, L), got {}", shape_str(x.shape())));
  if (running_mean.defined() != running_var.defined())
    raise<ValueError>("batch_norm", "running_mean and running_var must be both defined or both undefined");
  if (!(momentum >= 0.0 && momentum <= 1.0)) raise<ValueError>("batch_norm", fmt::format("momentum must be in [0, 1], got {}", momentum));
  if (!(eps >= 0.0)) raise<ValueError>("batch_norm", fmt::format("eps must be non-negative, got {}", eps));
  const std::int64_t channels = x.size(1);
  check_channel_vector(running_mean, channels, x, "batch_norm", "running_mean");
  check_channel_vector(running_var, channels, x, "batch_norm", "running_var");
  check_channel_vector(weight, channels, x, "batch_norm", "weight");
  check_channel_vector(bias, channels, x, "batch_norm", "bias");
  const Shape cshape = channel_shape(channels, x.dim());

  Tensor y;
  if (training) {
    Dims dims{0};
    for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
    const std::int64_t n = channels == 0 ? 0 : x.numel() / channels;
    if (n <= 1)
      raise<ValueError>("batch_norm", fmt::format("expected more than 1 value per channel when training, got input of shape {}",
                                                  shape_str(x.shape())));
    const Tensor mu = mean(x, dims, /*keepdim=*/true);
    const Tensor centered = x - mu;
    const Tensor var = mean(square(centered), dims, /*keepdim=*/true);  // biased: used to normalize
    // the per-channel scale γ/√(σ²+eps) is formed on (1, C, 1) first: one full-size multiply, not two
    Tensor scale = rsqrt(var + eps);
    if (weight.defined()) scale = scale * reshape(weight, cshape);
    y = centered * scale;
    if (running_mean.defined()) {
      NoGradGuard no_grad;
      const double correction = unbiased_running_var ? static_cast<double>(n) / static_cast<double>(n - 1) : 1.0;
      Tensor rm = running_mean, rv = running_var;
      rm.mul_(1.0 - momentum).add_(reshape(mu.detach(), {channels}).to(rm.dtype()), momentum);
      rv.mul_(1.0 - momentum).add_(reshape(var.detach(), {channels}).to(rv.dtype()), momentum * correction);
    }
  } else {
    if (!running_mean.defined())
      raise<ValueError>("batch_norm", "inference (training = false) needs running_mean and running_var");
    // a fixed affine map per channel: y = x·scale + shift, scale = γ/√(σ²+eps), shift = β - μ·scale
    Tensor scale = rsqrt(reshape(running_var, cshape) + eps);
    if (weight.defined()) scale = scale * reshape(weight, cshape);
    Tensor shift = -(reshape(running_mean, cshape) * scale);
    if (bias.defined()) shift = shift + reshape(bias, cshape);
    return x * scale + shift;
  }
  if (bias.defined()) y = y + reshape(bias, cshape);
  return y;
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, double eps, Where where) {
  OpScope scope("layer_norm", where);
  check_defined(x, "layer_norm", "the input");
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  if (k == 0) raise<ShapeError>("layer_norm", "normalized_shape must have at least one dimension");
  bool matches = x.dim() >= k;
  for (std::int64_t i = 0; matches && i < k; ++i)
    matches = x.size(x.dim() - k + i) == normalized_shape[static_cast<std::size_t>(i)];
  if (!matches)
    raise<ShapeError>("layer_norm", fmt::format("normalized_shape {} does not match the last dimensions of the input of shape {}",
                                                shape_str(normalized_shape), shape_str(x.shape())));
  for (const Tensor* t : {&weight, &bias})
    if (t->defined() && t->shape() != normalized_shape)
      raise<ShapeError>("layer_norm", fmt::format("{} has shape {}, expected normalized_shape {}", t == &weight ? "weight" : "bias",
                                                  shape_str(t->shape()), shape_str(normalized_shape)));
  if (!(eps >= 0.0)) raise<ValueError>("layer_norm", fmt::format("eps must be non-negative, got {}", eps));
  Dims dims;
  for (std::int64_t i = -k; i < 0; ++i) dims.push_back(i);
  const Tensor centered = x - mean(x, dims, /*keepdim=*/true);
  const Tensor var = mean(square(centered), dims, /*keepdim=*/true);
  Tensor y = centered * rsqrt(var + eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

Tensor embedding(const Tensor& indices, const Tensor& weight, Where where) {
  OpScope scope("embedding", where);
  check_defined(indices, "embedding", "the index tensor");
  check_defined(weight, "embedding", "the weight");
  if (indices.dtype() != kInt64)
    raise<DtypeError>("embedding", fmt::format("indices must be int64, got {} of shape {}", dtype_name(indices.dtype()),
                                               shape_str(indices.shape())));
  if (weight.dim() != 2)
    raise<ShapeError>("embedding", fmt::format("weight must be 2-D (num_embeddings, dim), got shape {}", shape_str(weight.shape())));
  const std::int64_t num = weight.size(0);
  const Tensor flat = reshape(indices, {-1});
  const std::vector<std::int64_t> values = flat.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] < 0 || values[i] >= num)
      raise<IndexError>("embedding", fmt::format("index {} (at flat position {} of indices of shape {}) is out of range for {} "
                                                 "embeddings (valid: 0 to {})",
                                                 values[i], i, shape_str(indices.shape()), num, num - 1));
  Shape out_shape = indices.shape();
  out_shape.push_back(weight.size(1));
  return reshape(index_select(weight, 0, flat), out_shape);
}

namespace {
Tensor penalty(const TensorList& params, double lambda, bool l1, const char* op) {
  if (!(lambda >= 0.0)) raise<ValueError>(op, fmt::format("lambda must be non-negative, got {}", lambda));
  Tensor total;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    if (!p.defined()) raise<ValueError>(op, fmt::format("tensor {} of the list is undefined", i));
    Tensor term = sum(l1 ? abs(p) : square(p));
    if (total.defined() && term.dtype() != total.dtype()) term = term.to(total.dtype());
    total = total.defined() ? total + term : term;
  }
  if (!total.defined()) return scalar_tensor(0.0);
  return total * lambda;
}
}  // namespace

Tensor l1_penalty(const TensorList& params, double lambda, Where where) {
  OpScope scope("l1_penalty", where);
  return penalty(params, lambda, true, "l1_penalty");
}

Tensor l2_penalty(const TensorList& params, double lambda, Where where) {
  OpScope scope("l2_penalty", where);
  return penalty(params, lambda, false, "l2_penalty");
}

}  // namespace xgrad::nn::functional
