#include "metrics.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "../autograd/shape.hpp"

namespace xgrad::train::metrics {

namespace {

void check_defined(const char* who, const Tensor& output, const Tensor& target) {
  if (!output.defined()) throw ValueError(fmt::format("{}: the output is undefined", who));
  if (!target.defined()) throw ValueError(fmt::format("{}: the target is undefined (a dataset without targets?)", who));
}

// Shape without trailing dimensions of size 1.
Shape strip_trailing_ones(Shape s) {
  while (!s.empty() && s.back() == 1) s.pop_back();
  return s;
}

double accuracy_value(const Tensor& output, const Tensor& target) {
  check_defined("accuracy", output, target);
  const Shape& os = output.shape();
  const Shape& ts = target.shape();
  const std::int64_t classes = os.empty() ? 0 : os.back();
  if (os.empty() || classes < 2)
    throw ShapeError(fmt::format("accuracy: the output must have C >= 2 class scores in its last dimension, got shape {}"
                                 " (use binary_accuracy for a single output unit)",
                                 shape_str(os)));
  const Shape rows_shape(os.begin(), os.end() - 1);
  const bool indices = ts == rows_shape;
  const bool one_hot = ts == os;
  if (!indices && !one_hot)
    throw ShapeError(fmt::format("accuracy: target shape {} fits neither class indices {} nor one-hot rows {} for output shape {}",
                                 shape_str(ts), shape_str(rows_shape), shape_str(os), shape_str(os)));
  const std::int64_t rows = output.numel() / classes;
  if (rows == 0) return std::nan("");
  const std::vector<double> out = output.to_vector<double>();
  const std::vector<double> tgt = target.to_vector<double>();
  auto argmax_row = [classes](const std::vector<double>& v, std::int64_t r) {
    const double* p = v.data() + r * classes;
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < classes; ++c)
      if (p[c] > p[best] || (std::isnan(p[c]) && !std::isnan(p[best]))) best = c;
    return best;
  };
  std::int64_t correct = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t predicted = argmax_row(out, r);
    std::int64_t truth = 0;
    if (indices) {
      const double label = tgt[static_cast<std::size_t>(r)];
      if (label != std::floor(label))
        throw ValueError(fmt::format("accuracy: class index targets must be integers, got {} at row {}", label, r));
      truth = static_cast<std::int64_t>(label);
    } else {
      truth = argmax_row(tgt, r);
    }
    correct += predicted == truth ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(rows);
}

double binary_accuracy_value(const Tensor& output, const Tensor& target, double threshold) {
  check_defined("binary_accuracy", output, target);
  if (strip_trailing_ones(output.shape()) != strip_trailing_ones(target.shape()))
    throw ShapeError(fmt::format("binary_accuracy: output shape {} and target shape {} differ", shape_str(output.shape()),
                                 shape_str(target.shape())));
  const std::vector<double> out = output.to_vector<double>();
  const std::vector<double> tgt = target.to_vector<double>();
  if (out.empty()) return std::nan("");
  std::size_t correct = 0;
  for (std::size_t i = 0; i < out.size(); ++i) correct += (out[i] > threshold) == (tgt[i] > 0.5) ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(out.size());
}

template <class F>
double elementwise_mean(const char* who, const Tensor& output, const Tensor& target, F f) {
  check_defined(who, output, target);
  if (output.shape() != target.shape())
    throw ShapeError(fmt::format("{}: output shape {} and target shape {} differ", who, shape_str(output.shape()),
                                 shape_str(target.shape())));
  const std::vector<double> out = output.to_vector<double>();
  const std::vector<double> tgt = target.to_vector<double>();
  if (out.empty()) return std::nan("");
  double sum = 0.0;
  for (std::size_t i = 0; i < out.size(); ++i) sum += f(out[i] - tgt[i]);
  return sum / static_cast<double>(out.size());
}

}  // namespace

Metric accuracy() { return {"accuracy", accuracy_value}; }

Metric binary_accuracy(double threshold) {
  if (std::isnan(threshold)) throw ValueError("binary_accuracy: the threshold is NaN");
  return {"binary_accuracy", [threshold](const Tensor& o, const Tensor& t) { return binary_accuracy_value(o, t, threshold); }};
}

Metric mae() {
  return {"mae", [](const Tensor& o, const Tensor& t) { return elementwise_mean("mae", o, t, [](double d) { return std::abs(d); }); }};
}

Metric mse() {
  return {"mse", [](const Tensor& o, const Tensor& t) { return elementwise_mean("mse", o, t, [](double d) { return d * d; }); }};
}

}  // namespace xgrad::train::metrics
