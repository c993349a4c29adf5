#pragma once
// Gradient clipping: rescale or clamp the accumulated gradients of parameters in place.

#include <limits>

#include "../autograd/tensor.hpp"

namespace xgrad::optim {

/// The infinity norm type for clip_grad_norm_.
inline constexpr double kInfNorm = std::numeric_limits<double>::infinity();

/// Rescales the gradients of `parameters` together, as PyTorch 1.13's clip_grad_norm_: with
///   total = ‖(‖g₁‖_p, ‖g₂‖_p, ...)‖_p = (Σᵢ Σ |gᵢ|^p)^(1/p)   (p = norm_type; for p = ∞, max |gᵢ|)
/// over the parameters whose gradient is defined, every gradient is multiplied (in place) by
///   min(1, max_norm / (total + 1e-6)).
/// Returns `total`, the norm before clipping (0 when no parameter has a gradient). norm_type must be
/// > 0 (kInfNorm for the max norm), max_norm >= 0; ValueError otherwise. With error_if_nonfinite,
/// a NaN or infinite total throws ValueError before any gradient changes (otherwise the gradients
/// become NaN, as in PyTorch). Sums are accumulated in double.
double clip_grad_norm_(const TensorList& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

/// Clamps every element of the gradients of `parameters` into [-clip_value, clip_value] in place (as
/// PyTorch's clip_grad_value_); parameters without a gradient are skipped. ValueError when
/// clip_value < 0 or NaN.
void clip_grad_value_(const TensorList& parameters, double clip_value);

}  // namespace xgrad::optim
