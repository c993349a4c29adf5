#include "factories.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "../detail/tensor_impl.hpp"
#include "../kernels/elementwise.hpp"
#include "../random.hpp"

namespace xgrad {
namespace {

template <class F>
Tensor generate(const Shape& shape, Dtype dtype, F&& f) {
  Tensor out = empty(shape, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(out.impl()->data_ptr());
    const std::int64_t n = out.numel();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(f(i));
  });
  return out;
}

// Refuses negative dimensions and sizes no buffer can have, naming the factory the user called
// (empty() checks the same, but under its own name).
void check_shape(const Shape& shape, Dtype dtype, const char* op) {
  for (auto s : shape)
    if (s < 0) throw ShapeError(fmt::format("{}: negative dimension in shape {}", op, shape_str(shape)));
  const std::int64_t n = shape_numel(shape);
  if (n == INT64_MAX) throw ShapeError(fmt::format("{}: shape {} has more than 2^63 - 1 elements", op, shape_str(shape)));
  if (static_cast<std::uint64_t>(n) > (std::uint64_t{1} << 62) / dtype_size(dtype))
    throw ShapeError(fmt::format("{}: shape {} of {} needs {} elements of {} bytes: more than 2^62 bytes", op, shape_str(shape),
                                 dtype_name(dtype), n, dtype_size(dtype)));
}

Tensor full_named(const Shape& shape, double value, Dtype dtype, const char* op) {
  check_shape(shape, dtype, op);
  if (dtype == kInt64 && !(value >= -0x1p63 && value < 0x1p63))
    throw ValueError(
        fmt::format("{}: {} cannot be stored in an int64 tensor (NaN, infinite or outside [-2^63, 2^63))", op, value));
  Tensor out = empty(shape, dtype);
  kernels::fill(out, value);
  return out;
}

Tensor uniform_named(const Shape& shape, double low, double high, Dtype dtype, const char* op) {
  check_shape(shape, dtype, op);
  if (!(low <= high)) throw ValueError(fmt::format("{}: expected low <= high, got low={} high={}", op, low, high));
  std::uniform_real_distribution<double> dist(low, high);
  auto& gen = generator();
  return generate(shape, dtype, [&](std::int64_t) { return dist(gen); });
}

// Note [block bernoulli]: a mask element is `std::uniform_real_distribution<double>(0, 1)(gen) < p`,
// element by element in generator order. libstdc++ computes that uniform as double(draw) / 2^64,
// clamped below 1, so drawing the 64-bit words in blocks and comparing them in a second,
// branch-free pass gives bit-identical masks (same seed, same dropout stream) at about 1.4 ns per
// element instead of 5 (the compiler vectorizes the conversion and comparison; the element-wise form
// mispredicted the `< p` branch). Exactly n words are drawn, as before.
template <class T>
void bernoulli_fill(T* out, std::int64_t n, double p, std::mt19937_64& gen) {
  constexpr std::int64_t kBlock = 256;
  std::uint64_t draws[kBlock];
  const double below_one = std::nextafter(1.0, 0.0);
  for (std::int64_t i = 0; i < n; i += kBlock) {
    const std::int64_t m = std::min(kBlock, n - i);
    for (std::int64_t j = 0; j < m; ++j) draws[j] = gen();
    for (std::int64_t j = 0; j < m; ++j) {
      double u = static_cast<double>(draws[j]) * 0x1p-64;
      u = u < 1.0 ? u : below_one;
      out[i + j] = u < p ? T(1) : T(0);
    }
  }
}

Tensor normal_named(const Shape& shape, double mean, double stddev, Dtype dtype, const char* op) {
  check_shape(shape, dtype, op);
  if (!(stddev >= 0)) throw ValueError(fmt::format("{}: stddev must be non-negative, got {}", op, stddev));
  std::normal_distribution<double> dist(mean, stddev);
  auto& gen = generator();
  return generate(shape, dtype, [&](std::int64_t) { return dist(gen); });
}

}  // namespace

Tensor zeros(const Shape& shape, Dtype dtype) { return full_named(shape, 0.0, dtype, "zeros"); }
Tensor ones(const Shape& shape, Dtype dtype) { return full_named(shape, 1.0, dtype, "ones"); }
Tensor full(const Shape& shape, double value, Dtype dtype) { return full_named(shape, value, dtype, "full"); }

Tensor eye(std::int64_t n, std::int64_t m, Dtype dtype) {
  if (m < 0) m = n;
  if (n < 0) throw ShapeError(fmt::format("eye: negative size {}", n));
  return generate({n, m}, dtype, [m](std::int64_t i) { return i / m == i % m ? 1.0 : 0.0; });
}

Tensor arange(double start, double end, double step, Dtype dtype) {
  if (step == 0 || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
    throw ValueError(fmt::format("arange: invalid range start={} end={} step={}", start, end, step));
  if ((end - start) * step < 0)
    throw ValueError(fmt::format("arange: step {} has the wrong sign for the range [{}, {})", step, start, end));
  const auto n = static_cast<std::int64_t>(std::ceil((end - start) / step));
  return generate({n}, dtype, [=](std::int64_t i) { return start + static_cast<double>(i) * step; });
}

Tensor arange(double end, Dtype dtype) { return arange(0.0, end, 1.0, dtype); }

Tensor linspace(double start, double end, std::int64_t steps, Dtype dtype) {
  if (steps < 0) throw ValueError(fmt::format("linspace: number of steps must be non-negative, got {}", steps));
  const double h = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  return generate({steps}, dtype, [=](std::int64_t i) { return i == steps - 1 && steps > 1 ? end : start + static_cast<double>(i) * h; });
}

Tensor rand(const Shape& shape, Dtype dtype) { return uniform_named(shape, 0.0, 1.0, dtype, "rand"); }
Tensor uniform(const Shape& shape, double low, double high, Dtype dtype) { return uniform_named(shape, low, high, dtype, "uniform"); }
Tensor randn(const Shape& shape, Dtype dtype) { return normal_named(shape, 0.0, 1.0, dtype, "randn"); }
Tensor normal(const Shape& shape, double mean, double stddev, Dtype dtype) { return normal_named(shape, mean, stddev, dtype, "normal"); }

Tensor bernoulli(const Shape& shape, double p, Dtype dtype) {
  check_shape(shape, dtype, "bernoulli");
  if (!(p >= 0 && p <= 1)) throw ValueError(fmt::format("bernoulli: probability must be in [0, 1], got {}", p));
  Tensor out = empty(shape, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    bernoulli_fill(static_cast<T*>(out.impl()->data_ptr()), out.numel(), p, generator());
  });
  return out;
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape) {
  check_shape(shape, kInt64, "randint");
  if (low >= high) throw ValueError(fmt::format("randint: expected low < high, got low={} high={}", low, high));
  std::uniform_int_distribution<std::int64_t> dist(low, high - 1);
  auto& gen = generator();
  Tensor out = empty(shape, kInt64);
  auto* p = out.mutable_data<std::int64_t>();
  for (std::int64_t i = 0, n_ = out.numel(); i < n_; ++i) p[i] = dist(gen);
  return out;
}

Tensor randperm(std::int64_t n) {
  if (n < 0) throw ValueError(fmt::format("randperm: n must be non-negative, got {}", n));
  Tensor out = empty({n}, kInt64);
  auto* p = out.mutable_data<std::int64_t>();
  std::iota(p, p + n, std::int64_t{0});
  auto& gen = generator();
  for (std::int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates with our own draws: same on every platform
    std::uniform_int_distribution<std::int64_t> dist(0, i);
    std::swap(p[i], p[dist(gen)]);
  }
  return out;
}

Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }
Tensor rand_like(const Tensor& t) { return rand(t.shape(), t.dtype()); }
Tensor randn_like(const Tensor& t) { return randn(t.shape(), t.dtype()); }

Tensor scalar_tensor(double value, Dtype dtype) { return full({}, value, dtype); }

namespace {
// The shape is read off the first element at every depth; flatten_nested then checks every list
// against it.
Shape nested_shape(const NestedList& l) {
  Shape shape;
  for (const NestedList* p = &l; !p->is_scalar();) {
    shape.push_back(static_cast<std::int64_t>(p->items().size()));
    if (p->items().empty()) break;
    p = &p->items().front();
  }
  return shape;
}

void flatten_nested(const NestedList& l, std::size_t depth, const Shape& shape, std::vector<double>& out, const std::string& path) {
  if (l.is_scalar()) {
    if (depth != shape.size())
      throw ShapeError(fmt::format("tensor: nested lists must be rectangular: element {} is a number where a list was expected", path));
    out.push_back(l.value());
    return;
  }
  const auto n = static_cast<std::int64_t>(l.items().size());
  if (depth >= shape.size())
    throw ShapeError(fmt::format("tensor: nested lists must be rectangular: element {} is a list where a number was expected", path));
  if (shape[depth] != n)
    throw ShapeError(fmt::format("tensor: nested lists must be rectangular: list {} has {} elements, expected {}", path, n, shape[depth]));
  std::int64_t i = 0;
  for (const NestedList& item : l.items()) flatten_nested(item, depth + 1, shape, out, fmt::format("{}[{}]", path, i++));
}
}  // namespace

Tensor tensor(const NestedList& values, Dtype dtype) {
  const Shape shape = nested_shape(values);
  std::vector<double> flat;
  flat.reserve(static_cast<std::size_t>(shape_numel(shape)));
  flatten_nested(values, 0, shape, flat, "x");
  return from_vector(flat, shape, dtype);
}

namespace {
template <class S>
Tensor from_values(const std::vector<S>& values, const Shape& shape, Dtype dtype) {
  check_shape(shape, dtype, "from_vector");
  if (static_cast<std::int64_t>(values.size()) != shape_numel(shape))
    throw ShapeError(fmt::format("from_vector: {} values do not fill shape {} ({} elements)", values.size(), shape_str(shape),
                                 shape_numel(shape)));
  return generate(shape, dtype, [&](std::int64_t i) { return values[static_cast<std::size_t>(i)]; });
}
}  // namespace

Tensor from_vector(const std::vector<double>& values, const Shape& shape, Dtype dtype) { return from_values(values, shape, dtype); }
Tensor from_vector(const std::vector<float>& values, const Shape& shape) { return from_values(values, shape, kFloat32); }
Tensor from_vector(const std::vector<std::int64_t>& values, const Shape& shape) { return from_values(values, shape, kInt64); }
Tensor tensor_int(std::initializer_list<std::int64_t> values) {
  return from_vector(std::vector<std::int64_t>(values), {static_cast<std::int64_t>(values.size())});
}

}  // namespace xgrad
