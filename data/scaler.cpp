#include "scaler.hpp"

#include <fmt/format.h>

#include <cfloat>
#include <cmath>
#include <vector>

#include "../autograd/ops/arithmetic.hpp"
#include "../autograd/ops/factories.hpp"

namespace xgrad::data {

namespace {

void check_input(const Tensor& x, const char* who, bool fitting) {
  if (!x.defined()) throw ValueError(fmt::format("{}: the tensor is undefined", who));
  if (!is_floating(x.dtype()))
    throw DtypeError(fmt::format("{}: expected float32 or float64 features, got {}", who, dtype_name(x.dtype())));
  if (x.dim() != 2)
    throw ShapeError(fmt::format("{}: expected a 2-D tensor (samples, features), got shape {}", who, shape_str(x.shape())));
  if (fitting && x.size(0) == 0)
    throw ValueError(fmt::format("{}: cannot fit on 0 samples (shape {})", who, shape_str(x.shape())));
}

void check_fitted(bool fitted, const char* who) {
  if (!fitted) throw ValueError(fmt::format("{}: the scaler is not fitted yet (call fit first)", who));
}

void check_features(const Tensor& x, const Tensor& stat, const char* who) {
  if (x.size(1) != stat.size(0))
    throw ShapeError(fmt::format("{}: the scaler was fitted on {} features, got shape {}", who, stat.size(0), shape_str(x.shape())));
}

// The columns of x (N, F) as float64, row-major.
std::vector<double> as_doubles(const Tensor& x) { return x.detach().to_vector<double>(); }

Tensor vector_tensor(const std::vector<double>& v, Dtype dtype) {
  return from_vector(v, {static_cast<std::int64_t>(v.size())}, dtype);
}

Tensor get_state(const std::map<std::string, Tensor>& state, const std::string& key, const char* who) {
  const auto it = state.find(key);
  if (it == state.end() || !it->second.defined()) throw ValueError(fmt::format("{}: the state has no tensor '{}'", who, key));
  const Tensor& t = it->second;
  if (t.dim() != 1) throw ShapeError(fmt::format("{}: '{}' must be 1-D (features), got shape {}", who, key, shape_str(t.shape())));
  if (!is_floating(t.dtype())) throw DtypeError(fmt::format("{}: '{}' must be float32 or float64, got {}", who, key, dtype_name(t.dtype())));
  return t.detach().clone();
}

void check_pair(const Tensor& a, const Tensor& b, const char* ka, const char* kb, const char* who) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    throw ShapeError(fmt::format("{}: '{}' {} {} and '{}' {} {} must have the same shape and dtype", who, ka, shape_str(a.shape()),
                                 dtype_name(a.dtype()), kb, shape_str(b.shape()), dtype_name(b.dtype())));
}

}  // namespace

// ---- StandardScaler -------------------------------------------------------------------------

StandardScaler& StandardScaler::fit(const Tensor& x) {
  check_input(x, "StandardScaler::fit", true);
  const std::int64_t n = x.size(0), f = x.size(1);
  const std::vector<double> v = as_doubles(x);
  std::vector<double> mean(static_cast<std::size_t>(f), 0.0), var(static_cast<std::size_t>(f), 0.0);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t c = 0; c < f; ++c) mean[static_cast<std::size_t>(c)] += v[static_cast<std::size_t>(r * f + c)];
  for (auto& m : mean) m /= static_cast<double>(n);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t c = 0; c < f; ++c) {
      const double d = v[static_cast<std::size_t>(r * f + c)] - mean[static_cast<std::size_t>(c)];
      var[static_cast<std::size_t>(c)] += d * d;
    }
  std::vector<double> scale(static_cast<std::size_t>(f));
  const double nn = static_cast<double>(n), eps = DBL_EPSILON;
  for (std::size_t c = 0; c < scale.size(); ++c) {
    var[c] /= nn;
    // scikit-learn's _is_constant_feature bound on the rounding error of the variance.
    const double bound = nn * eps * var[c] + (nn * mean[c] * eps) * (nn * mean[c] * eps);
    scale[c] = var[c] <= bound ? 1.0 : std::sqrt(var[c]);
  }
  mean_ = vector_tensor(mean, x.dtype());
  scale_ = vector_tensor(scale, x.dtype());
  return *this;
}

Tensor StandardScaler::transform(const Tensor& x) const {
  check_fitted(fitted(), "StandardScaler::transform");
  check_input(x, "StandardScaler::transform", false);
  check_features(x, mean_, "StandardScaler::transform");
  return (x - mean_.to(x.dtype())) / scale_.to(x.dtype());
}

Tensor StandardScaler::fit_transform(const Tensor& x) { return fit(x).transform(x); }

Tensor StandardScaler::inverse_transform(const Tensor& z) const {
  check_fitted(fitted(), "StandardScaler::inverse_transform");
  check_input(z, "StandardScaler::inverse_transform", false);
  check_features(z, mean_, "StandardScaler::inverse_transform");
  return z * scale_.to(z.dtype()) + mean_.to(z.dtype());
}

std::map<std::string, Tensor> StandardScaler::state_dict() const {
  check_fitted(fitted(), "StandardScaler::state_dict");
  return {{"mean", mean_}, {"scale", scale_}};
}

void StandardScaler::load_state_dict(const std::map<std::string, Tensor>& state) {
  constexpr const char* who = "StandardScaler::load_state_dict";
  Tensor m = get_state(state, "mean", who), s = get_state(state, "scale", who);
  check_pair(m, s, "mean", "scale", who);
  mean_ = m;
  scale_ = s;
}

// ---- MinMaxScaler ---------------------------------------------------------------------------

MinMaxScaler::MinMaxScaler(double lo, double hi) : lo_(lo), hi_(hi) {
  if (!(lo < hi)) throw ValueError(fmt::format("MinMaxScaler: the range [{}, {}] is empty (need lo < hi)", lo, hi));
}

MinMaxScaler& MinMaxScaler::fit(const Tensor& x) {
  check_input(x, "MinMaxScaler::fit", true);
  const std::int64_t n = x.size(0), f = x.size(1);
  const std::vector<double> v = as_doubles(x);
  std::vector<double> lo(v.begin(), v.begin() + f), hi(lo);
  for (std::int64_t r = 1; r < n; ++r)
    for (std::int64_t c = 0; c < f; ++c) {
      const double e = v[static_cast<std::size_t>(r * f + c)];
      auto& l = lo[static_cast<std::size_t>(c)];
      auto& h = hi[static_cast<std::size_t>(c)];
      l = std::fmin(l, e);
      h = std::fmax(h, e);
    }
  data_min_ = vector_tensor(lo, x.dtype());
  data_max_ = vector_tensor(hi, x.dtype());
  update_affine();
  return *this;
}

void MinMaxScaler::update_affine() {
  const std::vector<double> lo = data_min_.to_vector<double>(), hi = data_max_.to_vector<double>();
  std::vector<double> scale(lo.size()), offset(lo.size());
  for (std::size_t c = 0; c < lo.size(); ++c) {
    const double range = hi[c] - lo[c];
    scale[c] = range == 0.0 ? 1.0 : (hi_ - lo_) / range;
    offset[c] = lo_ - lo[c] * scale[c];
  }
  scale_ = vector_tensor(scale, data_min_.dtype());
  offset_ = vector_tensor(offset, data_min_.dtype());
}

Tensor MinMaxScaler::transform(const Tensor& x) const {
  check_fitted(fitted(), "MinMaxScaler::transform");
  check_input(x, "MinMaxScaler::transform", false);
  check_features(x, data_min_, "MinMaxScaler::transform");
  return x * scale_.to(x.dtype()) + offset_.to(x.dtype());
}

Tensor MinMaxScaler::fit_transform(const Tensor& x) { return fit(x).transform(x); }

Tensor MinMaxScaler::inverse_transform(const Tensor& y) const {
  check_fitted(fitted(), "MinMaxScaler::inverse_transform");
  check_input(y, "MinMaxScaler::inverse_transform", false);
  check_features(y, data_min_, "MinMaxScaler::inverse_transform");
  return (y - offset_.to(y.dtype())) / scale_.to(y.dtype());
}

std::map<std::string, Tensor> MinMaxScaler::state_dict() const {
  check_fitted(fitted(), "MinMaxScaler::state_dict");
  return {{"data_min", data_min_}, {"data_max", data_max_}};
}

void MinMaxScaler::load_state_dict(const std::map<std::string, Tensor>& state) {
  constexpr const char* who = "MinMaxScaler::load_state_dict";
  Tensor lo = get_state(state, "data_min", who), hi = get_state(state, "data_max", who);
  check_pair(lo, hi, "data_min", "data_max", who);
  data_min_ = lo;
  data_max_ = hi;
  update_affine();
}

}  // namespace xgrad::data
