#pragma once
// Metrics: figures computed on a model's outputs besides the loss (accuracy, mean absolute error, ...),
// reported per epoch by fit() and evaluate().
//
// A metric is a name and a function that returns the metric's *mean over the samples of one batch*.
// fit() and evaluate() combine batches by weighting each batch's value with its number of samples, so
// the epoch figure is the mean over all samples (exactly, for any metric that is a per-sample mean,
// like the ready-made ones), whatever the batch size and even with a smaller last batch.
//
// Metric functions receive the model's output detached from the graph and are called under
// NoGradGuard; they must not change their arguments.

#include <functional>
#include <string>

#include "../autograd/tensor.hpp"

namespace xgrad::train {

/// The function of a metric: the mean of the metric over one batch, from the model's output and the
/// batch's targets.
using MetricFn = std::function<double(const Tensor& output, const Tensor& target)>;

/// A named metric. The name is the key in the logs and the History ("accuracy"); the validation value
/// is logged as "val_" + name. Names must be unique, not empty, and not "loss" or "lr".
struct Metric {
  /// Key of the metric in the logs.
  std::string name;
  /// Mean of the metric over one batch.
  MetricFn fn;
};

namespace metrics {

/// Classification accuracy: the fraction of samples whose predicted class, argmax of the output over
/// its last dimension (C >= 2 classes; the first maximum wins on ties), equals the target class.
/// Output (..., C); target either class indices of shape (...) (int64, or floats with integral values)
/// or one-hot / probability rows of the output's shape (the target class is then the argmax of the
/// row). Name "accuracy". ShapeError naming both shapes for other target shapes, or when C < 2 (use
/// binary_accuracy for a single output unit).
Metric accuracy();

/// Binary accuracy: the fraction of elements where (output > threshold) agrees with (target > 0.5).
/// Use threshold 0.5 for probabilities (after a sigmoid) and 0 for logits. Output and target must
/// have the same number of elements and equal shapes up to trailing dimensions of size 1 ((N, 1)
/// and (N) match); ShapeError naming both shapes otherwise. Name "binary_accuracy".
Metric binary_accuracy(double threshold = 0.5);

/// Mean absolute error mean|output - target| over all elements (same shapes required, ShapeError
/// naming both otherwise). Name "mae".
Metric mae();

/// Mean squared error mean (output - target)² over all elements (same shapes required, ShapeError
/// naming both otherwise). Name "mse".
Metric mse();

}  // namespace metrics

}  // namespace xgrad::train
