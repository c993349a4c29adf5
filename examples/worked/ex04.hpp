#pragma once
// Worked example 04 (deck 000): the single neuron. A linear regression unit (identity activation,
// MSE loss, dL/dw = 2/n sum (z - y) x) and a logistic regression unit (sigmoid activation, binary
// cross entropy, dL/dw = 1/n sum (sigmoid(z) - y) x), trained with batch, stochastic and mini-batch
// gradient descent. Shared by examples/ex04_single_neuron.cpp and tests/examples/test_ex04_single_neuron.cpp.

#include <cstdint>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

namespace xgrad::worked::ex04 {

/// Which unit: identity + MSE, or sigmoid + binary cross entropy.
enum class Kind { linear, logistic };

/// The neuron's parameters: w (F, 1) and b (1), float64, requires_grad.
struct Neuron {
  Tensor w;
  Tensor b;
};

/// A neuron with zero weights and bias (so every variant starts from the same point).
inline Neuron make_neuron(std::int64_t features) {
  Neuron n{zeros({features, 1}, kFloat64), zeros({1}, kFloat64)};
  n.w.requires_grad_(true);
  n.b.requires_grad_(true);
  return n;
}

/// z = x w + b, (N, 1).
inline Tensor pre_activation(const Neuron& n, const Tensor& x) { return matmul(x, n.w) + n.b; }

/// The unit's loss on (x (N, F), y (N, 1)): MSE of z, or BCE of sigmoid(z).
inline Tensor loss(Kind kind, const Neuron& n, const Tensor& x, const Tensor& y) {
  const Tensor z = pre_activation(n, x);
  return kind == Kind::linear ? mse_loss(z, y) : binary_cross_entropy(sigmoid(z), y);
}

/// Data set: standardized features (StandardScaler fit on the whole set, which is the training set
/// here) and the target as a float64 column (N, 1).
struct Data {
  Tensor x;
  Tensor y;
  std::string name;
};

inline const char* sklearn_dir() { return "/usr/lib/python3/dist-packages/sklearn/datasets/data"; }

/// scikit-learn's breast cancer data (569 x 30, labels 0/1), standardized.
inline Data breast_cancer() {
  const data::CsvData d = data::load_sklearn_csv(std::string(sklearn_dir()) + "/breast_cancer.csv", kFloat64);
  data::StandardScaler scaler;
  return {scaler.fit_transform(d.features), d.target.to(kFloat64).reshape({-1, 1}), "breast_cancer"};
}

/// scikit-learn's diabetes data (442 x 10, raw features), standardized; the target (disease progression,
/// 25..346) is standardized too so that one learning rate suits all variants.
inline Data diabetes() {
  const std::string dir = sklearn_dir();
  const data::CsvData f = data::read_csv(dir + "/diabetes_data_raw.csv.gz",
                                         {.has_header = false, .target_column = data::ColumnRef::none(), .delimiter = ' ',
                                          .feature_dtype = kFloat64});
  const data::CsvData t = data::read_csv(dir + "/diabetes_target.csv.gz",
                                         {.has_header = false, .target_column = 0, .delimiter = ' ',
                                          .feature_dtype = kFloat64, .target_dtype = kFloat64});
  data::StandardScaler sx, sy;
  return {sx.fit_transform(f.features), sy.fit_transform(t.target.reshape({-1, 1})), "diabetes"};
}

/// Full-data loss (no graph).
inline double full_loss(Kind kind, const Neuron& n, const Data& d) {
  NoGradGuard no_grad;
  return loss(kind, n, d.x, d.y).item<double>();
}

/// Trains a fresh neuron with plain gradient descent (w -= lr * grad) on batches of `batch_size`
/// (n = batch GD, 1 = SGD, else mini-batch; shuffled every epoch except for batch GD). Returns the
/// full-data loss before training and after each epoch (epochs + 1 values). The trained neuron is
/// stored in *out when given.
inline std::vector<double> train_unit(Kind kind, const Data& d, std::int64_t batch_size, int epochs, double lr,
                                      Neuron* out = nullptr) {
  const std::int64_t bs = batch_size > 0 ? batch_size : d.x.size(0);
  Neuron n = make_neuron(d.x.size(1));
  optim::SGD sgd({n.w, n.b}, optim::SGDOptions(lr));
  data::DataLoader loader(data::TensorDataset(d.x, d.y),
                          {.batch_size = bs, .shuffle = bs < d.x.size(0), .seed = 7});
  std::vector<double> curve{full_loss(kind, n, d)};
  for (int e = 0; e < epochs; ++e) {
    for (const data::Batch& b : loader) {
      const Tensor l = loss(kind, n, b.input, b.target);
      sgd.zero_grad();
      l.backward();
      sgd.step();
    }
    curve.push_back(full_loss(kind, n, d));
  }
  if (out) *out = n;
  return curve;
}

/// Fraction of correctly classified samples (sigmoid(z) > 0.5 <=> z > 0).
inline double accuracy(const Neuron& n, const Data& d) {
  NoGradGuard no_grad;
  const std::vector<double> z = pre_activation(n, d.x).to_vector<double>();
  const std::vector<double> y = d.y.to_vector<double>();
  std::int64_t ok = 0;
  for (std::size_t i = 0; i < z.size(); ++i) ok += ((z[i] > 0.0) == (y[i] > 0.5));
  return static_cast<double>(ok) / static_cast<double>(z.size());
}

/// The three variants of one unit.
struct Variant {
  const char* name;
  std::int64_t batch_size;  // 0 = whole data set
  double lr;
};

/// Batch GD on the whole set, SGD on single samples, mini-batches of 32. The linear unit needs smaller
/// steps: the diabetes features are correlated, so 2/n X^T X (the MSE Hessian) has an eigenvalue above 4
/// and batch gradient descent with lr 0.5 diverges (lr must stay below 2 / largest eigenvalue).
inline std::vector<Variant> variants(Kind kind) {
  if (kind == Kind::linear) return {{"batch", 0, 0.1}, {"stochastic", 1, 0.002}, {"minibatch", 32, 0.02}};
  return {{"batch", 0, 0.5}, {"stochastic", 1, 0.01}, {"minibatch", 32, 0.1}};
}

}  // namespace xgrad::worked::ex04
