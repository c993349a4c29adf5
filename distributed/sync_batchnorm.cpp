#include "sync_batchnorm.hpp"

#include <fmt/format.h>

#include "../autograd/grad_mode.hpp"
#include "../autograd/ops.hpp"
#include "functional.hpp"

namespace xgrad::distributed {

SyncBatchNorm::SyncBatchNorm(std::int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                             bool track_running_stats, Dtype dtype)
    : nn::BatchNorm1d(num_features, eps, momentum, affine, track_running_stats, dtype) {}

SyncBatchNorm::SyncBatchNorm(std::int64_t num_features, const nn::BatchNormOptions& options)
    : nn::BatchNorm1d(num_features, options) {}

Tensor SyncBatchNorm::forward(const Tensor& input) {
  const nn::BatchNormOptions& o = options();
  const bool track = o.track_running_stats;
  if (!is_training() && track) return nn::BatchNorm1d::forward(input);  // running statistics: no communication
  const std::int64_t c = num_features();
  if (!input.defined()) throw ValueError("SyncBatchNorm: the input is undefined" + OpScope::call_site());
  if ((input.dim() != 2 && input.dim() != 3) || input.size(1) != c)
    throw ShapeError(fmt::format("SyncBatchNorm: expected an input of shape (N, {0}) or (N, {0}, L), got {1}{2}", c,
                                 shape_str(input.shape()), OpScope::call_site()));
  std::vector<std::int64_t> dims{0};
  if (input.dim() == 3) dims.push_back(2);
  const Shape cshape = input.dim() == 3 ? Shape{1, c, 1} : Shape{1, c};
  const double local_count = static_cast<double>(input.numel() / c);

  // Global sums of x and of the count in one all-reduce (the count is a constant: no gradient).
  const Tensor packed = cat({input.sum(dims), full({1}, local_count, input.dtype())});
  const Tensor totals = functional::all_reduce(packed);
  const double m = totals.detach().at({c});
  if (m <= 1.0)
    throw ValueError(
        fmt::format("SyncBatchNorm: expected more than 1 value per channel over all ranks when training, got {} (input "
                    "of shape {} on this rank){}",
                    m, shape_str(input.shape()), OpScope::call_site()));
  const Tensor mu = narrow(totals, 0, 0, c) / m;
  const Tensor centered = input - mu.reshape(cshape);
  const Tensor var = functional::all_reduce(square(centered).sum(dims)) / m;  // biased
  Tensor scale = rsqrt(var + o.eps).reshape(cshape);
  if (weight().defined()) scale = scale * weight().reshape(cshape);
  Tensor y = centered * scale;
  if (bias().defined()) y = y + bias().reshape(cshape);

  if (is_training() && track) {
    const std::int64_t batches = num_batches_tracked().item<std::int64_t>() + 1;
    double factor = 0.0;
    if (!o.momentum)
      factor = 1.0 / static_cast<double>(batches);
    else
      factor = o.convention == nn::MomentumConvention::keras ? 1.0 - *o.momentum : *o.momentum;
    const double correction = o.unbiased_running_var ? m / (m - 1.0) : 1.0;
    NoGradGuard no_grad;
    running_mean().mul_(1.0 - factor).add_(mu.detach().to(running_mean().dtype()), factor);
    running_var().mul_(1.0 - factor).add_(var.detach().to(running_var().dtype()), factor * correction);
    num_batches_tracked().fill_(static_cast<double>(batches));
  }
  return y;
}

}  // namespace xgrad::distributed
