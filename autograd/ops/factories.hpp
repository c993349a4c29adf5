#pragma once
// Creating tensors. None of these record a graph; the result is a leaf with requires_grad false
// (call requires_grad_() to make it a trainable leaf).

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "../tensor.hpp"

namespace xgrad {

/// A contiguous tensor of `shape` whose values are unspecified (the buffer is not initialized; may
/// hold values of a freed tensor): for outputs that are written in full before they are read.
/// ShapeError for negative dimensions or sizes no buffer can have.
Tensor empty(const Shape& shape, Dtype dtype = kFloat32);
/// A tensor of `shape` filled with 0.
Tensor zeros(const Shape& shape, Dtype dtype = kFloat32);
/// A tensor of `shape` filled with 1.
Tensor ones(const Shape& shape, Dtype dtype = kFloat32);
/// A tensor of `shape` filled with `value`.
Tensor full(const Shape& shape, double value, Dtype dtype = kFloat32);
/// The n x m identity matrix (m = n by default).
Tensor eye(std::int64_t n, std::int64_t m = -1, Dtype dtype = kFloat32);
/// Values start, start+step, ... below end (1-D). Throws ValueError for step 0 or a wrong sign.
Tensor arange(double start, double end, double step = 1.0, Dtype dtype = kFloat32);
/// Values 0, 1, ..., end-1.
Tensor arange(double end, Dtype dtype = kFloat32);
/// `steps` evenly spaced values from start to end inclusive (1-D).
Tensor linspace(double start, double end, std::int64_t steps, Dtype dtype = kFloat32);
/// Uniform random values in [0, 1) from the global generator (see manual_seed).
Tensor rand(const Shape& shape, Dtype dtype = kFloat32);
/// Uniform random values in [low, high).
Tensor uniform(const Shape& shape, double low, double high, Dtype dtype = kFloat32);
/// Standard normal random values from the global generator.
Tensor randn(const Shape& shape, Dtype dtype = kFloat32);
/// Normal random values with the given mean and standard deviation.
Tensor normal(const Shape& shape, double mean, double stddev, Dtype dtype = kFloat32);
/// Independent Bernoulli(p) draws as 0/1 values (dropout masks): element i (row-major) is 1 when the
/// i-th 64-bit word of generator(), read as a uniform u = double(word) / 2^64 (clamped below 1), is below p; exactly
/// numel() words are drawn. p in [0, 1] (ValueError otherwise).
Tensor bernoulli(const Shape& shape, double p, Dtype dtype = kFloat32);
/// Random integers in [low, high) as int64.
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape);
/// A random permutation of 0..n-1 as int64.
Tensor randperm(std::int64_t n);

/// A new contiguous tensor of t's shape and dtype filled with 0 (t's values, layout, graph and
/// requires_grad are not carried over: the result is a leaf that does not require grad).
Tensor zeros_like(const Tensor& t);
/// Like zeros_like, filled with 1.
Tensor ones_like(const Tensor& t);
/// Like zeros_like, filled with `value`.
Tensor full_like(const Tensor& t, double value);
/// Like zeros_like, uniform in [0, 1) from the global generator (t must be float32 or float64).
Tensor rand_like(const Tensor& t);
/// Like zeros_like, standard normal from the global generator (t must be float32 or float64).
Tensor randn_like(const Tensor& t);

/// A 0-d tensor holding `value`.
Tensor scalar_tensor(double value, Dtype dtype = kFloat32);
/// Nested lists of numbers: 1.5, {1, 2}, {{1, 2}, {3, 4}}, ... (any depth; must be rectangular).
class NestedList {
 public:
  NestedList(double value) : value_(value), is_scalar_(true) {}  // NOLINT: implicit by design
  NestedList(std::initializer_list<NestedList> items) : items_(items) {}
  bool is_scalar() const noexcept { return is_scalar_; }
  double value() const noexcept { return value_; }
  const std::vector<NestedList>& items() const noexcept { return items_; }

 private:
  double value_ = 0.0;
  bool is_scalar_ = false;
  std::vector<NestedList> items_;
};

/// A tensor from nested lists: tensor({{1, 2}, {3, 4}}) has shape (2, 2); tensor({{1}, {2}})
/// has shape (2, 1); tensor(3.0) is 0-d. ShapeError names the first ragged row.
Tensor tensor(const NestedList& values, Dtype dtype = kFloat32);
/// A tensor of `shape` copied from `values` (row-major; sizes must agree).
Tensor from_vector(const std::vector<double>& values, const Shape& shape, Dtype dtype = kFloat32);
/// A float32 tensor of `shape` copied from `values` (row-major; sizes must agree).
Tensor from_vector(const std::vector<float>& values, const Shape& shape);
/// An int64 tensor of `shape` copied from `values` (class labels, indices).
Tensor from_vector(const std::vector<std::int64_t>& values, const Shape& shape);
/// An int64 1-D tensor of labels or indices.
Tensor tensor_int(std::initializer_list<std::int64_t> values);

}  // namespace xgrad
