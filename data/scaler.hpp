#pragma once
// Feature scaling fitted on training data (scikit-learn's StandardScaler and MinMaxScaler).
// The fitted statistics are tensors, so they can be saved with train::save_safetensors and restored
// with load_state_dict.

#include <map>
#include <string>

#include "../autograd/tensor.hpp"

namespace xgrad::data {

/// Standardizes features: z = (x - mean) / scale per feature (column), with mean and the
/// population standard deviation (ddof 0, as in scikit-learn) of the training data. A constant
/// feature gets scale 1 (scikit-learn's rule for "constant": var <= n*eps*var + (n*mean*eps)^2, so
/// rounding noise of a constant column counts as constant). Statistics are accumulated in float64
/// (two passes) and stored in the data's dtype.
class StandardScaler {
 public:
  /// An unfitted scaler.
  StandardScaler() = default;
  /// Computes mean and scale of `x` (N, F), N >= 1, float32 or float64 (ShapeError/ValueError/
  /// DtypeError otherwise). Replaces earlier statistics. Returns *this.
  StandardScaler& fit(const Tensor& x);
  /// (x - mean) / scale, broadcast over the rows of x (N, F) (ShapeError when F differs, ValueError
  /// before fit). Built from differentiable xgrad ops; the statistics are constants. Result in x's
  /// dtype.
  Tensor transform(const Tensor& x) const;
  /// fit(x) then transform(x).
  Tensor fit_transform(const Tensor& x);
  /// z * scale + mean: undoes transform.
  Tensor inverse_transform(const Tensor& z) const;
  /// True after fit or load_state_dict.
  bool fitted() const noexcept { return mean_.defined(); }
  /// (F) per-feature means (undefined before fit).
  const Tensor& mean() const noexcept { return mean_; }
  /// (F) per-feature scales: the standard deviations, with 1 for constant features.
  const Tensor& scale() const noexcept { return scale_; }
  /// {"mean": mean(), "scale": scale()} (shared handles; save them with train::save_safetensors).
  std::map<std::string, Tensor> state_dict() const;
  /// Restores statistics from a state_dict (keys "mean" and "scale", equal 1-D shapes and dtypes;
  /// ValueError/ShapeError naming the problem otherwise). The tensors are copied.
  void load_state_dict(const std::map<std::string, Tensor>& state);

 private:
  Tensor mean_;
  Tensor scale_;
};

/// Scales each feature linearly onto [lo, hi] (default [0, 1]) using the training minimum and
/// maximum: y = (x - min) * (hi - lo) / (max - min) + lo. A constant feature (max == min) maps to lo.
class MinMaxScaler {
 public:
  /// The target range; ValueError unless lo < hi.
  explicit MinMaxScaler(double lo = 0.0, double hi = 1.0);
  /// Computes per-feature min and max of `x` (N, F), N >= 1, float32 or float64. Returns *this.
  MinMaxScaler& fit(const Tensor& x);
  /// x * scale + offset with scale = (hi - lo) / (max - min) (1 for constant features) and
  /// offset = lo - min * scale. ShapeError when F differs, ValueError before fit.
  Tensor transform(const Tensor& x) const;
  /// fit(x) then transform(x).
  Tensor fit_transform(const Tensor& x);
  /// (y - offset) / scale: undoes transform.
  Tensor inverse_transform(const Tensor& y) const;
  /// True after fit or load_state_dict.
  bool fitted() const noexcept { return data_min_.defined(); }
  /// (F) training minima.
  const Tensor& data_min() const noexcept { return data_min_; }
  /// (F) training maxima.
  const Tensor& data_max() const noexcept { return data_max_; }
  /// {"data_min", "data_max"}.
  std::map<std::string, Tensor> state_dict() const;
  /// Restores from a state_dict (keys "data_min", "data_max"; the range comes from the constructor).
  void load_state_dict(const std::map<std::string, Tensor>& state);

 private:
  void update_affine();
  double lo_, hi_;
  Tensor data_min_, data_max_;
  Tensor scale_, offset_;
};

}  // namespace xgrad::data
